"""The instructor commands behind ``python -m autograder``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

from .course import REPO, Workspace, create_workspace, list_assignments


def release(assignments: list[str] | None = None) -> list[Path]:
    """Regenerate notebooks/<assignment>/ from solutions/<assignment>/ with nbgrader."""
    assignments = assignments or list_assignments()
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = create_workspace(Path(tmp), assignments)
        for assignment in assignments:
            ws.nbgrader("generate_assignment", assignment, "--force", "--no-db")
            target = REPO / "notebooks" / assignment
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ws.root / "release" / assignment, target)
            written += sorted(target.glob("*.ipynb"))
    return written


def validate(assignments: list[str] | None = None,
             progress: bool = False) -> dict[str, dict[str, tuple]]:  # fmt: skip
    """Autograde each solution and each untouched release; return their scores.

    ``progress``: a progress bar on stderr, one step per nbgrader run (autograding an
    assignment's two submissions takes 5-20 s)."""
    assignments = assignments or list_assignments()
    steps = 1 + 2 * len(assignments)  # the workspace, then generate and autograde each
    bar = tqdm(total=steps, disable=not progress, desc="validate", unit="step")
    with tempfile.TemporaryDirectory() as tmp, bar:
        bar.set_postfix_str("setting up")
        ws = create_workspace(Path(tmp), assignments)
        for student in ("solution", "release"):
            ws.nbgrader("db", "student", "add", student)
        bar.update()
        return {assignment: _grade_pair(ws, assignment, bar) for assignment in assignments}


def _grade_pair(ws: Workspace, assignment: str, bar) -> dict[str, tuple]:
    bar.set_postfix_str(f"{assignment}: generate")
    ws.nbgrader("generate_assignment", assignment, "--force")
    bar.update()
    for notebook in sorted((REPO / "solutions" / assignment).glob("*.ipynb")):
        ws.submit("solution", assignment, notebook)
        ws.submit("release", assignment, ws.root / "release" / assignment / notebook.name)
    bar.set_postfix_str(f"{assignment}: autograde")
    ws.nbgrader("autograde", assignment, "--force")
    bar.update()
    return ws.scores(assignment)
