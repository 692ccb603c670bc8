"""Lost nbgrader markers put back before grading (autograder.markers), on the course's
own notebooks as students could send them."""

from __future__ import annotations

import nbformat
import pytest

from autograder.course import REPO
from autograder.markers import Markers, restore
from tests.support.klass import fill, solutions

A = "01_rnn_limits"
SOURCE = (REPO / "solutions" / A / f"{A}.ipynb").read_bytes()


@pytest.fixture(scope="module")
def markers() -> Markers:
    return Markers.of(SOURCE)


def ids(content: bytes) -> list:
    cells = nbformat.reads(content.decode(), as_version=4).cells
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in cells]


def write(notebook) -> bytes:
    return nbformat.writes(notebook).encode()


def test_a_notebook_with_its_markers_is_not_even_read(markers):
    content = write(fill(A, solutions(A)))
    assert restore(content, markers) == (content, [])


def test_test_cells_pasted_into_a_new_notebook_are_found_by_their_text(markers):
    pasted = fill(A, solutions(A))
    for cell in pasted.cells:
        cell.metadata = {}
    repaired, notes = restore(write(pasted), markers)
    assert [i for i in ids(repaired) if i] == ["test_rnn_step", "test_jacobian_norms"]
    assert notes == ["its cells had lost nbgrader's markers; test cells test_rnn_step, "
                     "test_jacobian_norms found by their text and marked again"]


def test_a_skipped_exercise_deleted_whole_leaves_an_empty_answer_cell_in_its_place(markers):
    skipped = fill(A, solutions(A))
    skipped.cells = [c for c in skipped.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id")
                     not in ("rnn_step", "test_rnn_step")]  # fmt: skip
    repaired, notes = restore(write(skipped), markers)
    order = [i for i in ids(repaired) if i]
    assert order[order.index("ex1") + 1] == "rnn_step"  # where it was, empty
    assert "test_rnn_step" not in order  # nbgrader puts the test back after it
    assert notes == ["cell rnn_step missing (deleted, or its marker lost): put back empty, "
                     "so that the rest is graded"]


def test_a_test_cell_the_student_changed_is_not_taken_for_the_test(markers):
    changed = fill(A, solutions(A))
    for cell in changed.cells:
        cell.metadata = {}
        if cell.source.startswith("check_rnn_step"):
            cell.source = "pass  # check_rnn_step(rnn_step)"
    repaired, _ = restore(write(changed), markers)
    assert [i for i in ids(repaired) if i] == ["rnn_step", "test_jacobian_norms"]
