"""Grade one submission, start to finish, in a folder of its own (runs on a Dask worker).

Everything a worker needs travels as bytes (the source notebooks, a gradebook template,
the submission), and everything it returns is plain data, so the same function runs on
a local worker process or on a remote cluster. A worker writes no shared gradebook: it
grades into a private copy and returns the scores; the coordinator records them.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import COURSE_CONFIG, WORKSPACE_CONFIG
from .sandbox import Limits, run_limited
from .submissions import Submission

MISTAKE = re.compile(r"matches a known mistake: (.+?)\.\s*(?:\\n|\n|$)")


@dataclass
class Result:
    student: str
    assignment: str
    status: str  # "graded", "timeout", "crashed", "missing"
    reason: str = ""
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade_id -> (s, max)
    messages: dict[str, str] = field(default_factory=dict)  # grade_id -> why it failed
    mistakes: list[str] = field(default_factory=list)  # diagnosed by the checks
    ignored: list[str] = field(default_factory=list)
    autograded: dict[str, bytes] = field(default_factory=dict)
    feedback: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    sandboxed: bool = False

    @property
    def total(self) -> float:
        return sum(score for score, _ in self.scores.values())


def grade_one(
    assignment: str,
    sources: dict[str, bytes],
    template_gradebook: bytes,
    submission: Submission,
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass
) -> Result:
    """Autograde ``submission`` and make its feedback; never raises for the student's sake."""
    start = time.perf_counter()
    result = Result(submission.student, assignment, "graded", ignored=list(submission.ignored))
    if not submission.notebooks:
        result.status, result.reason = "missing", "no notebook of this assignment was submitted"
        return result
    root = Path(tempfile.mkdtemp(prefix=f"grade-{submission.student}-"))
    try:
        _prepare(root, assignment, sources, template_gradebook, submission)
        command = [sys.executable, "-m", "autograder.autograde_one", assignment,
                   submission.student]  # fmt: skip
        outcome = run_limited(command, root, limits)
        result.sandboxed = outcome.sandboxed
        if outcome.timed_out:
            result.status = "timeout"
            result.reason = f"grading stopped after {limits.timeout:g} s (an endless loop?)"
        elif outcome.returncode != 0:
            result.status, result.reason = "crashed", _crash_reason(outcome.output, limits)
        _collect(root, assignment, submission.student, result)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        result.seconds = time.perf_counter() - start
    return result


def _crash_reason(output: str, limits: Limits) -> str:
    """Why grading stopped, in words a student and an instructor can act on."""
    if "DeadKernelError" in output or "Kernel died" in output:
        return ("the Python kernel died while running the notebook (os._exit, a crash such "
                "as a segfault, or running out of memory), so it could not be graded")  # fmt: skip
    if "MemoryError" in output:
        return f"the notebook ran out of memory (limit {limits.memory_mb} MB)"
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return "grading failed: " + (lines[-1] if lines else "no output")


def _prepare(root, assignment, sources, template_gradebook, submission) -> None:
    config = WORKSPACE_CONFIG.format(
        course_config=str(COURSE_CONFIG), root=str(root), gradebook=str(root / "gradebook.db")
    )
    (root / "nbgrader_config.py").write_text(config)
    (root / "gradebook.db").write_bytes(template_gradebook)
    for name, content in sources.items():
        _write(root / "source" / assignment / name, content)
    for name, content in submission.notebooks.items():
        _write(root / "submitted" / submission.student / assignment / name, content)


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _collect(root: Path, assignment: str, student: str, result: Result) -> None:
    """Scores from the private gradebook; messages and files from the graded notebooks."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        try:
            submitted = gradebook.find_submission(assignment, student)
        except MissingEntry:
            result.status = result.status if result.status != "graded" else "crashed"
            result.reason = result.reason or "nbgrader recorded no grades for this submission"
            return
        for notebook in submitted.notebooks:
            for grade in notebook.grades:
                score = grade.score if grade.score is not None else 0.0
                result.scores[grade.name] = (float(score), float(grade.max_score))
    for path in sorted((root / "autograded" / student / assignment).glob("*.ipynb")):
        result.autograded[path.name] = path.read_bytes()
        _read_messages(path, result)
    for path in sorted((root / "feedback" / student / assignment).glob("*.html")):
        result.feedback[path.name] = path.read_bytes()


def _read_messages(path: Path, result: Result) -> None:
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output.output_type == "error":  # test cells, and the student's own cells
                text = f"{output.ename}: {output.evalue}"
                result.messages[meta.get("grade_id", f"cell {index}")] = text[:500]
                result.mistakes += MISTAKE.findall(text) if meta.get("grade") else []
