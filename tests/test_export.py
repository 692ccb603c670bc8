"""Grades leave the workspace in the layouts instructors import: the course's CSV (every
submission and every stray file accounted for), Canvas's gradebook import, Moodle's
grading worksheet and nbgrader's own export; the report and validate's progress."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from autograder import grading
from autograder.course import REPO
from autograder.export import export
from autograder.report import report
from autograder.worker import Result
from tests.support.klass import fill, write_submission

A = "01_rnn_limits"
SOLUTION = {
    cell.metadata.nbgrader.grade_id: cell.source
    for cell in nbformat.read(REPO / "solutions" / A / f"{A}.ipynb", as_version=4).cells
    if cell.metadata.get("nbgrader", {}).get("solution")
}
COLLECTION = {
    "unplaced": ["stray/notes.txt: not a notebook, and in no student's folder"],
    "missing": ["100999"],
    "rejected": {"100567": {"01_rnn_limits (copy).ipynb": "not valid JSON (line 1)"}},
    "notes": {"100567": ["grade_id rnn_step was on two cells (3 and 4): joined"]},
    "names": {"100234": "Alice Martin", "100567": "José Núñez"},
}
pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A workspace with three recorded results (no grading run) and a collection record."""
    ws = grading.prepare(tmp_path_factory.mktemp("export") / "ws", A)
    for result in [
        Result("100234", A, "graded", scores={"test_rnn_step": (2, 2),
                                              "test_jacobian_norms": (3, 3)}),
        Result("100567", A, "graded", scores={"test_rnn_step": (2, 2),
                                              "test_jacobian_norms": (0, 3)},
               ignored=["100567/lstm_ref.py: not a file of the assignment"],
               messages={"test_jacobian_norms": "✗ jacobian_norms: your output matches a "
                         "known mistake: the norm is not the spectral norm\n  Hint: …"}),
        Result("100890", A, "crashed", reason="the Python kernel died while running",
               scores={"test_rnn_step": (0, 2), "test_jacobian_norms": (0, 3)}),
    ]:  # fmt: skip
        grading.record(ws, result)
    (ws.root / "results" / A / "_collection.json").write_text(json.dumps(COLLECTION))
    return ws.root


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_the_course_csv_lists_the_missing_the_unplaced_and_what_was_left_out(workspace):
    path = export(workspace, A)
    table = {(r["student"], r["status"]): r for r in csv.DictReader(path.open())}
    assert path.name == f"grades-{A}.csv"
    assert float(table["100234", "graded"]["total"]) == 5.0
    assert float(table["100567", "graded"]["total"]) == 2.0
    assert table["100890", "crashed"]["reason"] == "the Python kernel died while running"
    assert "nothing was submitted" in table["100999", "missing"]["reason"]
    assert table["", "unplaced"]["reason"] == COLLECTION["unplaced"][0]
    notes = table["100567", "graded"]["notes"]
    for said in ("lstm_ref.py: not a file", "grade_id rnn_step was on two cells",
                 "01_rnn_limits (copy).ipynb: not valid JSON"):  # fmt: skip
        assert said in notes
    assert len(table) == 5


def test_canvas_gradebook_import(workspace):
    path = export(workspace, A, "canvas", column="Chapter 1 exercises (4242)")
    table = rows(path)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        "Chapter 1 exercises (4242)"]  # fmt: skip
    assert table[1][0] == "Points Possible" and table[1][5] == "5"
    assert {r[1]: r[5] for r in table[2:]} == {"100234": "5", "100567": "2", "100890": "0"}
    assert all(r[0] for r in table[2:])  # a name, or the id when the LMS gave none
    assert {r[1]: r[0] for r in table[2:]}["100234"] == "Martin, Alice"


def test_moodle_grading_worksheet(workspace):
    table = rows(export(workspace, A, "moodle"))
    assert table[0][:6] == ["Identifier", "Full name", "Email address", "Status", "Grade",
                            "Maximum Grade"]  # fmt: skip
    assert "Feedback comments" in table[0]
    by_id = {r[0]: dict(zip(table[0], r)) for r in table[1:]}
    assert set(by_id) == {"Participant 100234", "Participant 100567", "Participant 100890"}
    assert (by_id["Participant 100234"]["Grade"], by_id["Participant 100234"]["Maximum Grade"]
            ) == ("5.00", "5.00")  # fmt: skip
    assert "kernel died" in by_id["Participant 100890"]["Feedback comments"]
    assert by_id["Participant 100567"]["Feedback comments"] == (
        "✗ jacobian_norms: your output matches a known mistake: the norm is not the "
        "spectral norm")  # the first line of the failed check's message, for the student
    assert by_id["Participant 100234"]["Feedback comments"] == ""  # all passed
    assert by_id["Participant 100567"]["Full name"] == "José Núñez"  # the download's name
    assert by_id["Participant 100890"]["Full name"] == "100890"  # none given: the id


def test_the_nbgrader_format_is_what_nbgrader_export_writes(workspace, tmp_path):
    ours = export(workspace, A, "nbgrader").read_text()
    theirs = tmp_path / "nbgrader.csv"
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(theirs)],
                   cwd=workspace, check=True, capture_output=True)  # fmt: skip
    assert ours == theirs.read_text()
    assert ours.splitlines()[0].startswith("assignment,duedate,timestamp,student_id")


def test_the_export_command_and_its_errors(workspace, tmp_path):
    run = [sys.executable, "-m", "autograder", "export", A, "--workspace", str(workspace)]
    out = subprocess.run(run + ["--format", "canvas"], capture_output=True, text=True)
    assert out.returncode == 0 and f"grades-{A}-canvas.csv" in out.stdout
    out = subprocess.run(run + ["--format", "blackboard"], capture_output=True, text=True)
    assert out.returncode == 2 and "invalid choice: 'blackboard'" in out.stderr
    with pytest.raises(ValueError, match="holds no gradebook"):
        export(tmp_path / "empty", A, "canvas")


def test_report_in_notebook_order_with_a_total_and_a_laptop_sized_figure(workspace):
    table, figure = report(workspace, A)
    text = table.read_text()
    # notebook order: rnn_step's test comes first (alphabetical order would swap them)
    assert text.index("| test_rnn_step |") < text.index("| test_jacobian_norms |")
    assert "| **total** | 5 | 2.33 | 1 | 1 |" in text
    assert "No mistakes diagnosed" in text and "most common diagnosed mistake" not in text
    width, height = Image.open(figure).size
    assert width <= 1400 and height <= 900, (width, height)  # a grid, not a strip


def test_grade_writes_the_lms_format_with_no_sqlalchemy_noise(tmp_path):
    """The command line as an instructor runs it: a Moodle worksheet beside the course
    CSV, and nothing from SQLAlchemy on the terminal among the progress bar."""
    write_submission(tmp_path / "subs", "100234", A, fill(A, SOLUTION))
    write_submission(tmp_path / "subs", "100567", A, fill(A, {"rnn_step": SOLUTION["rnn_step"]}))
    out = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", A, "--submissions", str(tmp_path / "subs"),
         "--workspace", str(tmp_path / "ws"), "--format", "moodle"],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SAWarning" not in out.stderr and "autoflush" not in out.stderr, out.stderr[-3000:]
    table = rows(tmp_path / "ws" / f"grades-{A}-moodle.csv")
    assert {r[0]: r[4] for r in table[1:]} == {"Participant 100234": "5.00",
                                               "Participant 100567": "2.00"}  # fmt: skip
    assert (tmp_path / "ws" / f"grades-{A}.csv").is_file()


def test_validate_shows_its_progress():
    out = subprocess.run([sys.executable, "-m", "autograder", "validate", A],
                         capture_output=True, text=True, cwd=REPO, timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"ok   {A}: solution 5/5, release 0/5" in out.stdout
    bar = out.stderr.replace("\r", "\n")
    assert "validate" in bar and "3/3" in bar and f"{A}: autograde" in bar
