"""The instructor commands behind ``python -m autograder``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

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


def validate(assignments: list[str] | None = None) -> dict[str, dict[str, tuple]]:
    """Autograde each solution and each untouched release; return their scores."""
    assignments = assignments or list_assignments()
    with tempfile.TemporaryDirectory() as tmp:
        ws = create_workspace(Path(tmp), assignments)
        for student in ("solution", "release"):
            ws.nbgrader("db", "student", "add", student)
        return {assignment: _grade_pair(ws, assignment) for assignment in assignments}


def _grade_pair(ws: Workspace, assignment: str) -> dict[str, tuple]:
    ws.nbgrader("generate_assignment", assignment, "--force")
    for notebook in sorted((REPO / "solutions" / assignment).glob("*.ipynb")):
        ws.submit("solution", assignment, notebook)
        ws.submit("release", assignment, ws.root / "release" / assignment / notebook.name)
    ws.nbgrader("autograde", assignment, "--force")
    return ws.scores(assignment)
