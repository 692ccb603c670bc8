"""Write nbgrader source notebooks from Python: the cells and their nbgrader metadata.

Authors can also write the notebooks in JupyterLab with nbgrader's "Create Assignment"
view; this module is for notebooks kept as code (see solutions/*/build.py).

    nb = notebook([
        markdown("# Exercise 1"),
        solution("def f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION", "f"),
        test("check_f(f)", "test_f", points=1),
    ])
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}  # fmt: skip
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(text: str, grade_id: str | None = None):
    """Instructions; locked (read-only) when given an id."""
    cell = new_markdown_cell(text.strip())
    if grade_id:
        cell.metadata = _meta(grade_id, grade=False, solution=False, locked=True)
    return cell


def code(source: str, grade_id: str | None = None):
    """Given code: imports, plots. Locked when given an id."""
    cell = new_code_cell(source.strip())
    if grade_id:
        cell.metadata = _meta(grade_id, grade=False, solution=False, locked=True)
    return cell


def solution(source: str, grade_id: str):
    """A cell the student completes; ``### BEGIN/END SOLUTION`` marks what is removed."""
    cell = new_code_cell(source.strip())
    cell.metadata = _meta(grade_id, grade=False, solution=True, locked=False)
    return cell


def test(source: str, grade_id: str, points: float):
    """A graded, locked test cell; ``### BEGIN/END HIDDEN TESTS`` marks hidden checks."""
    cell = new_code_cell(source.strip())
    cell.metadata = _meta(grade_id, grade=True, solution=False, locked=True, points=points)
    return cell


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` (validated, with stable cell ids) to ``path``."""
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k:02d}"  # stable ids: rebuilding changes nothing
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
