"""What the instructor's autograded notebook and the student's feedback show.

* :func:`record_verdicts` writes the grader's verdicts into the private gradebook (so
  nbgrader's feedback and the Formgrader show them) and into each test cell's output in
  the autograded notebook, replacing whatever the student's kernel printed there.
* :func:`for_students` makes the autograded notebooks fit for a student while nbgrader
  renders the feedback: no hidden tests in the test cells, and no paths of the grading
  machine in any traceback. The instructor's copies are put back afterwards.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import nbformat

from lstm_ref.grading.core import GradingError

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                    re.DOTALL | re.MULTILINE)  # fmt: skip
PATH = re.compile(r"(?:/[\w.+@-]+)+/([\w.+@-]+)")  # an absolute path: keep its last part


def points(source: bytes) -> dict[str, float]:
    """grade_id -> points of every graded cell of a source notebook."""
    notebook = nbformat.reads(source.decode(), as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"]["points"])
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade")}  # fmt: skip


def record_verdicts(root: Path, assignment: str, student: str, verdicts: dict) -> None:
    """Store the verdicts (notebook file name -> grade_id -> CellVerdict) in the private
    gradebook and in the autograded notebooks' test-cell outputs."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's models
        for name, cells in verdicts.items():
            for grade_id, verdict in cells.items():
                grade = gb.find_grade(grade_id, Path(name).stem, assignment, student)
                grade.auto_score = float(grade.max_score) if verdict.passed else 0.0
        gb.db.commit()
    for name, cells in verdicts.items():
        path = root / "autograded" / student / assignment / name
        if not path.exists():
            continue
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            verdict = cells.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if verdict is not None and cell.cell_type == "code":
                cell.outputs = [_output(verdict)]
        nbformat.write(notebook, path)


def _output(verdict) -> nbformat.NotebookNode:
    if verdict.passed:
        return nbformat.v4.new_output("stream", name="stdout", text=verdict.message + "\n")
    error = GradingError(verdict.message)
    return nbformat.v4.new_output("error", ename="GradingError", evalue=verdict.message,
                                  traceback=error._render_traceback_())  # fmt: skip


def student_view(notebook: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    """The notebook without hidden tests and without the grading machine's paths."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = HIDDEN.sub("", cell.source).rstrip()
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [_no_paths(line, root) for line in output.traceback]
                output.evalue = _no_paths(output.evalue, root)
            elif output.output_type == "stream":
                output.text = _no_paths(output.text, root)
    return notebook


def _no_paths(text: str, root: Path) -> str:
    return PATH.sub(r"\1", text.replace(str(root) + "/", ""))


@contextlib.contextmanager
def for_students(paths: Iterable[Path], root: Path):
    """Inside the block the notebooks are the students' view; afterwards, as they were."""
    saved = {path: path.read_bytes() for path in paths}
    try:
        for path in saved:
            notebook = nbformat.read(path, as_version=4)
            nbformat.write(student_view(notebook, root), path)
        yield
    finally:
        for path, content in saved.items():
            path.write_bytes(content)
