"""Build a synthetic class of submissions from the student release, for grading tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course import REPO


def fill(assignment: str, answers: dict[str, str], *, drop: tuple[str, ...] = (),
         edit: dict[str, str] | None = None) -> nbformat.NotebookNode:  # fmt: skip
    """The release notebook with solution cells replaced by ``answers`` (by grade_id),
    cells in ``drop`` deleted and cells in ``edit`` rewritten, as a student might."""
    path = REPO / "notebooks" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in drop:
            continue
        if grade_id in answers:
            cell.source = answers[grade_id]
        if edit and grade_id in edit:
            cell.source = edit[grade_id]
        cells.append(cell)
    nb.cells = cells
    return nb


def write_submission(root: Path, student: str, assignment: str, nb, extra=None) -> Path:
    """nbgrader's submitted layout: root/<student>/<assignment>/<notebook>.ipynb (+ extras)."""
    folder = root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(nb, str(path))
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return path


def solutions(assignment: str) -> dict[str, str]:
    """The solution cells of the assignment's source notebook, by grade_id."""
    path = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    return {cell.metadata.nbgrader.grade_id: cell.source
            for cell in nbformat.read(path, as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("solution")}  # fmt: skip


def printed(autograded: bytes, marker: str) -> str:
    """The lines an autograded notebook's code cells printed that start with ``marker``."""
    nb = nbformat.reads(autograded.decode(), as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]  # fmt: skip
    return "\n".join(line for t in texts for line in t.splitlines() if line.startswith(marker))
