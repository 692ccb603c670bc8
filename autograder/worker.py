"""Grade one submission, start to finish, in a folder of its own (runs on a Dask worker).

Everything a worker needs travels as bytes (the source notebooks, a gradebook template,
the submission), and everything it returns is plain data, so the same function runs on
a local worker process or on a remote cluster. A worker writes no shared gradebook: it
grades into a private copy and returns the scores; the coordinator records them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from lstm_ref.grading.exercise import RECORD

from . import cgroups, feedback, progress, slots
from .course import COURSE_CONFIG, WORKSPACE_CONFIG, course_api, fast_gradebooks
from .kernel import TEMPLATE
from .sandbox import CGROUP, Limits, install_kernelspec, kernel_environment
from .submissions import Submission
from .verdicts import explain_stops, judge_cells, test_calls

KERNEL = "kernel"  # the kernel's own writable folder (HOME, TMPDIR, sockets) in a submission's
RECORDS = "records"  # where, inside it, the checks write the student's outputs
MAX_SKIPPED = 5  # cells skipped for stopping nbgrader, before giving up


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
    pids_max: int | None = None  # the cap on its kernel's processes; None: no cgroup, no cap

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
    slot = slots.get(limits)  # where the kernel may write, and the worker's template
    cgroup = None
    try:
        if slot is not None:  # the kernel's folder is the slot's; the rest stays hidden
            (slot.folder / KERNEL).mkdir()
            (root / KERNEL).symlink_to(slot.folder / KERNEL)
        _prepare(root, assignment, sources, template_gradebook, submission, limits)
        env = _kernel_environment(root / KERNEL, limits)  # the course files stay read-only
        install_kernelspec(Path(env["JUPYTER_PATH"]), sys.executable)
        result.sandboxed = env["AUTOGRADER_SANDBOX"] == "bwrap"
        kernel = (root / KERNEL).resolve()  # paths as the kernel sees them
        env |= {progress.RECORD: str(kernel / "cells-run.txt"), progress.SKIP: "",
                RECORD: str(kernel / RECORDS)}  # fmt: skip
        if slot is not None and (address := slot.template(env)):
            env[TEMPLATE] = address  # the kernel is forked from the worker's template
        # a kernel started afresh (no template, or it died) joins a cgroup of its own
        if (cgroup := cgroups.create(limits.pids_max)) is not None:
            env[CGROUP] = str(cgroup.procs)
        capped = slot.capped() if TEMPLATE in env else cgroup is not None
        result.pids_max = limits.pids_max if capped else None
        with _environment(env), Watchdog(limits.timeout) as watchdog:
            log, killers = _autograde_skipping_crashes(root, assignment, submission.student,
                                                       watchdog)  # fmt: skip
        verdicts = _judge(root, sources)  # the grades, decided here from the records
        explain_stops(verdicts, root / "autograded" / submission.student / assignment)
        if log is None:
            feedback.record_verdicts(root, assignment, submission.student, verdicts)
            log = _feedback(root, assignment, submission.student)
        if watchdog.fired:
            result.status = "timeout"
            result.reason = f"grading stopped after {limits.timeout:g} s (an endless loop?)"
        elif log is not None and _lost_markers(log):
            result.status, result.reason = "invalid", LOST_MARKERS
        elif log is not None:
            result.status, result.reason = "crashed", _crash_reason(log, limits)
        elif killers:
            result.status = "crashed"
            result.reason = _skipped_reason(killers, submission)
        _collect(root, assignment, submission.student, result)
        _apply(verdicts, sources, result)
    finally:
        if cgroup is not None:
            cgroup.remove()  # its kernels have ended: kills what is left, if anything
        if slot is not None:
            slot.reset()  # nothing of this student's reaches the next kernel
        shutil.rmtree(root, ignore_errors=True)
        result.seconds = time.perf_counter() - start
    return result


def start_template(limits: Limits) -> None:
    """Start this worker's template kernel before its first submission (autograder.slots)."""
    slot = slots.get(limits)
    if slot is None:
        return
    slot.template(_kernel_environment(slot.folder / KERNEL, limits))
    slot.reset()


def _kernel_environment(folder: Path, limits: Limits) -> dict[str, str]:
    """:func:`kernel_environment`, with matplotlib's font list copied in (a kernel then
    skips rebuilding it)."""
    env = kernel_environment(folder, limits)
    if fonts := font_cache():
        shutil.copy(fonts, env["MPLCONFIGDIR"])
    return env


def _autograde(root: Path, assignment: str, student: str) -> str | None:
    """nbgrader's autograde, in this process; None, or the log on failure."""
    shutil.rmtree(root / KERNEL / RECORDS, ignore_errors=True)  # only this run's records
    (root / KERNEL / RECORDS).mkdir()
    outcome = course_api(root).autograde(assignment, student, force=True)
    if not outcome["success"]:
        return f"{outcome.get('log', '')}\n{outcome.get('error', '')}"
    return None


def _feedback(root: Path, assignment: str, student: str) -> str | None:
    """nbgrader's feedback, from notebooks that show the verdicts and no hidden tests."""
    folder = root / "autograded" / student / assignment
    feedback.fast_templates()
    with feedback.for_students(folder.glob("*.ipynb"), root):
        outcome = course_api(root).generate_feedback(assignment, student, force=True)
    if not outcome["success"]:
        return f"{outcome.get('log', '')}\n{outcome.get('error', '')}"
    return None


def _judge(root: Path, sources: dict[str, bytes]) -> dict[str, dict]:
    """notebook -> grade_id -> verdict, from the recorded outputs (runs no student code)."""
    return {name: judge_cells(test_calls(source), root / KERNEL / RECORDS)
            for name, source in sources.items()}  # fmt: skip


def _apply(verdicts: dict[str, dict], sources: dict[str, bytes], result: Result) -> None:
    """The judged cells' scores and messages replace whatever nbgrader saw in the kernel."""
    for name, cells in verdicts.items():
        points = feedback.points(sources[name])
        for grade_id, verdict in cells.items():
            result.scores[grade_id] = (points[grade_id] if verdict.passed else 0.0,
                                       points[grade_id])  # fmt: skip
            if verdict.passed:
                result.messages.pop(grade_id, None)
            else:
                result.messages[grade_id] = verdict.message
            result.mistakes += verdict.mistakes


@functools.lru_cache(maxsize=1)
def font_cache() -> Path | None:
    """matplotlib's font list, built once per worker (call it outside a submission)."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontManager

    path = Path(mpl.get_cachedir()) / f"fontlist-v{FontManager.__version__}.json"
    return path if path.exists() else None


def _autograde_skipping_crashes(root: Path, assignment: str, student: str,
                                watchdog: Watchdog):  # fmt: skip
    """Autograde; each time a cell stops nbgrader, again with that cell skipped, unless
    the submission's time is up (the watchdog killed the kernel: no second run then).

    Returns nbgrader's log of the last failure (None on success) and the fingerprints of
    the cells that were skipped (autograder.progress records them from inside the kernel).
    """
    record, killers = Path(os.environ[progress.RECORD]), []
    while True:
        record.unlink(missing_ok=True)
        os.environ[progress.SKIP] = ",".join(killers)  # restored by _environment
        log = _autograde(root, assignment, student)
        if (log is None or watchdog.fired or not _stopped_by_a_cell(log)
                or len(killers) >= MAX_SKIPPED):  # fmt: skip
            return log, killers
        ran = record.read_text().split() if record.exists() else []
        if not ran or ran[-1] in killers:  # no progress: give up rather than loop
            return log, killers
        killers.append(ran[-1])


def _stopped_by_a_cell(log: str) -> bool:
    """nbgrader gave up because a cell killed the kernel or ignored the interrupt that
    nbgrader sends at the per-cell time limit."""
    return any(sign in log for sign in ("DeadKernelError", "Kernel died", "CellTimeoutError"))


def _skipped_reason(killers: list[str], submission: Submission) -> str:
    """Which of the student's cells were skipped because they killed the kernel."""
    cells = {}
    for content in submission.notebooks.values():
        notebook = nbformat.reads(content.decode(), as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index + 1}")
                cells.setdefault(progress.fingerprint(cell.source), name)
    named = ", ".join(cells.get(key, "a test cell") for key in killers)
    return (f"grading could not go past: {named} (the Python kernel died: os._exit, a "
            "crash such as a segfault, or memory; or the cell ignored the interrupt at its "
            "time limit); that cell was skipped and scores 0, the rest was graded "
            "without it")  # fmt: skip


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    """Set ``env`` for one task (a Dask worker runs one task at a time), then restore."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Watchdog:
    """Kill the processes this task started (the kernel) once ``seconds`` have passed,
    and any it starts after that."""

    def __init__(self, seconds: float):
        self.seconds, self.fired = seconds, False
        self._done = threading.Event()

    def __enter__(self):
        self._before = {p.pid for p in psutil.Process().children(recursive=True)}
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        if self._done.wait(self.seconds):
            return
        self.fired = True
        while True:  # and any kernel started after that, until the task ends
            for process in psutil.Process().children(recursive=True):
                if process.pid not in self._before:
                    with contextlib.suppress(psutil.Error):
                        process.kill()
            if self._done.wait(0.5):
                return

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


LOST_MARKERS = (
    "nbgrader could not put back a test cell: the cell it belongs after is missing, or "
    "has lost its marker (the nbgrader metadata that says which cell is which exercise), "
    "and could not be found again. The notebook was perhaps copied cell by cell into a new "
    "one, saved by a tool that drops cell metadata, or had cells deleted. Download the "
    "assignment again and paste the answers into its cells"
)


def _lost_markers(log: str) -> bool:
    """nbgrader stopped while putting back a test cell whose preceding cell is missing
    (its ``add_missing_grade_cells`` looks that cell up and raises KeyError). What
    :mod:`autograder.markers` did not repair before grading ends here."""
    return "add_missing_grade_cells" in log and "KeyError" in log


def _crash_reason(output: str, limits: Limits) -> str:
    """Why grading stopped, in words a student and an instructor can act on."""
    if "DeadKernelError" in output or "Kernel died" in output:
        return ("the Python kernel died while running the notebook (os._exit, a crash such "
                "as a segfault, or running out of memory), so it could not be graded")  # fmt: skip
    if "MemoryError" in output:
        return f"the notebook ran out of memory (limit {limits.memory_mb} MB)"
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return "grading failed: " + (lines[-1] if lines else "no output")


def _prepare(root, assignment, sources, template_gradebook, submission, limits) -> None:
    config = WORKSPACE_CONFIG.format(
        course_config=str(COURSE_CONFIG), root=str(root), gradebook=str(root / "gradebook.db")
    )
    # ZeroMQ over Unix sockets in the folder: the kernel runs with no network at all
    ipc = str((root / KERNEL).resolve() / "ipc")
    config += f'c.KernelManager.transport = "ipc"\nc.KernelManager.ip = {ipc!r}\n'
    # once its outputs are in, the kernel is killed: a graceful shutdown waits 0.6-2.6 s
    config += 'c.Execute.shutdown_kernel = "immediate"\n'
    # printed output kept in bytes as well as lines: one long line can be 60 MB
    config += ("from autograder.outputs import autograde_preprocessors\n"
               "c.Autograde.autograde_preprocessors = autograde_preprocessors()\n")  # fmt: skip
    if limits.cell_timeout is not None:
        config += f"c.ExecutePreprocessor.timeout = {int(limits.cell_timeout)}\n"
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

    fast_gradebooks()
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's models
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
    """Errors of the student's own cells (test cells' messages come from the verdicts)."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        key = meta.get("grade_id", f"cell {index}")
        for output in cell.get("outputs", []):
            if output.output_type == "error":  # the last error: nbgrader's, after a timeout
                result.messages[key] = f"{output.ename}: {output.evalue}"[:500]
