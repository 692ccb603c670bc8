"""The graded exercises end to end, through nbgrader itself.

In a throwaway course workspace: generate every assignment's release from solutions/,
compare it with the committed notebooks/, then autograde two submissions per assignment,
the solution notebook and the untouched release. The first must earn full marks, the
second zero, and no graded cell of a correct submission may write to stderr.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO, create_workspace, list_assignments

ASSIGNMENTS = list_assignments()
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")

pytestmark = pytest.mark.exercises


def notebooks_of(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A workspace where every assignment was released and autograded once."""
    ws = create_workspace(tmp_path_factory.mktemp("course"))
    for student in ("solver", "blank"):
        ws.nbgrader("db", "student", "add", student)
    for assignment in ASSIGNMENTS:
        ws.nbgrader("generate_assignment", assignment, "--force")
        for name, path in notebooks_of(REPO / "solutions" / assignment).items():
            ws.submit("solver", assignment, path)
            ws.submit("blank", assignment, REPO / "notebooks" / assignment / name)
        ws.nbgrader("autograde", assignment, "--force")
    return ws


def test_every_chapter_has_an_assignment():
    assert len(ASSIGNMENTS) >= 1
    for assignment in ASSIGNMENTS:
        assert notebooks_of(REPO / "solutions" / assignment), assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_a_fresh_generation(graded, assignment):
    """notebooks/ is exactly what nbgrader makes from solutions/ today."""
    fresh = notebooks_of(graded.root / "release" / assignment)
    committed = notebooks_of(REPO / "notebooks" / assignment)
    assert fresh.keys() == committed.keys()
    for name in fresh:
        assert fresh[name].read_text() == committed[name].read_text(), (
            f"notebooks/{assignment}/{name} is stale: run `python -m autograder release`"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_or_hidden_test(assignment):
    for path in (REPO / "notebooks" / assignment).rglob("*"):
        if path.is_file():
            assert not MARKERS.search(path.read_text(errors="ignore")), path


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks_and_release_earns_zero(graded, assignment):
    scores = graded.scores(assignment)
    solver, maximum = scores["solver"]
    assert maximum > 0
    assert solver == maximum, f"the solution of {assignment} earned {solver}/{maximum}"
    assert scores["blank"][0] == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_of_a_solution_write_nothing_to_stderr(graded, assignment):
    """nbgrader gives zero to a test cell that writes to stderr, warnings included."""
    for path in (graded.root / "autograded" / "solver" / assignment).glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
                streams = [o for o in cell.outputs if o.get("name") == "stderr"]
                assert streams == [], (cell.metadata.nbgrader.grade_id, streams)
                assert all(o.output_type != "error" for o in cell.outputs)
