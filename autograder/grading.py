"""Grade a whole class in parallel with Dask distributed; only this process writes.

nbgrader autogrades one submission at a time (its issue 174). Here each submission is a
Dask task (:func:`autograder.worker.grade_one`) that grades in a private folder and
returns plain data; the coordinator records every result as it arrives, in the course's
gradebook (committed per student, so an interrupted run keeps what it wrote), as files
(autograded notebook, feedback HTML, results JSON) and finally as a CSV. Grading again
replaces a student's previous submission, so re-grading is idempotent.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

from . import markers
from .course import REPO, Workspace, course_api, create_workspace, fast_gradebooks
from .export import export_csv  # noqa: F401 - grade() writes the course's CSV
from .feedback import fast_templates
from .roster import Roster
from .roster import load as load_roster
from .sandbox import Limits
from .submissions import Collected, Submission, collect
from .worker import Result, grade_one


def grade(
    assignment: str,
    submissions: Path,
    workspace: Path,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass
    progress: bool = True,
    roster: Path | Roster | None = None,
) -> list[Result]:
    """Grade every submission of ``assignment`` found in ``submissions`` (folder or zip);
    ``roster`` (a CSV, :mod:`autograder.roster`) maps the input's ids to course ids.
    What was not graded, and why, goes to results/<assignment>/_collection.json."""
    source_dir = REPO / "solutions" / assignment
    sources = {p.name: p.read_bytes() for p in sorted(source_dir.glob("*.ipynb"))}
    if not sources:
        raise ValueError(f"no assignment {assignment!r} in solutions/")
    if roster is not None and not isinstance(roster, Roster):
        roster = load_roster(Path(roster))
    class_ = collect(Path(submissions), assignment, list(sources), roster)
    _restore_markers(class_, sources)
    # the kernels cannot read the class's other submissions nor the workspace's gradebook
    private = tuple(str(Path(p).resolve()) for p in (submissions, workspace))
    limits = dataclasses.replace(limits, hide=(*limits.hide, *private))
    with ThreadPoolExecutor(1) as pool:  # the workspace is made while the cluster starts
        preparing = pool.submit(prepare, Path(workspace), assignment)
        with _client(scheduler, workers) as client:
            local = scheduler is None  # our own workers, which end with this run
            warming = [client.submit(_warm_up, limits, local, pure=False, workers=[w])
                       for w in client.ncores()]  # fmt: skip
            ws = preparing.result()  # meanwhile the workers import nbgrader
            write_collection(ws, assignment, class_)
            results = _grade_all(client, ws, assignment, sources, class_, limits, progress)
            client.gather(warming)  # done long ago: each worker ran it before grading
    export_csv(ws, assignment)
    return sorted(results, key=lambda r: r.student)


def _restore_markers(class_: Collected, sources: dict[str, bytes]) -> None:
    """Markers a notebook lost are put back before grading (:mod:`autograder.markers`);
    the notes say so."""
    of = {name: markers.Markers.of(source) for name, source in sources.items()}
    for sub in class_.submissions:
        for name, content in sub.notebooks.items():
            if name not in of:
                continue
            try:
                repaired, notes = markers.restore(content, of[name])
            except Exception as error:  # noqa: BLE001 - a malformed cell: nbgrader says more
                repaired, notes = content, [f"its cells could not be checked for lost "
                                            f"markers ({type(error).__name__})"]  # fmt: skip
            sub.notebooks[name] = repaired
            sub.notes += [f"{name}: {note}" for note in notes]


def _grade_all(
    client,
    ws: Workspace,
    assignment: str,
    sources: dict[str, bytes],
    class_: Collected,
    limits: Limits,
    progress: bool,
) -> list[Result]:
    """Grade on the workers; record each result as it comes. A submission with no notebook
    that can be graded is recorded as "invalid" at once, with the reasons."""
    from distributed import as_completed

    results: list[Result] = []
    for sub in [s for s in class_.submissions if s.rejected and not s.notebooks]:
        reason = "; ".join(sub.rejected.values())
        results.append(Result(sub.student, assignment, "invalid", reason=reason,
                              ignored=list(sub.ignored)))  # fmt: skip
        results[-1].name = sub.name  # for record(): the gradebook's student names
        record(ws, results[-1])
    template = (ws.root / "gradebook.db").read_bytes()  # each worker's starting gradebook
    shared = client.scatter([sources, template], broadcast=True)
    futures = {
        client.submit(
            grade_one,
            assignment,
            *shared,
            sub,
            limits,
            pure=False,
            key=f"grade-{assignment}-{sub.student}",
        ): sub
        for sub in class_.submissions
        if sub.notebooks or not sub.rejected
    }
    for future in tqdm(as_completed(futures), total=len(futures), disable=not progress,
                       desc=f"grading {assignment}", unit="submission"):  # fmt: skip
        sub = futures[future]
        results.append(_result_of(future, sub, assignment))
        results[-1].name = sub.name
        if sub.rejected:  # the other notebooks were graded; these score 0
            results[-1].reason = "; ".join(filter(None, [results[-1].reason,
                                                         *sub.rejected.values()]))  # fmt: skip
        record(ws, results[-1], sub.notebooks)
    return results


def _result_of(future, submission: Submission, assignment: str) -> Result:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a lost worker costs this submission only
        return Result(submission.student, assignment, "crashed",
                      reason=f"the grading worker failed: {type(error).__name__}: {error}",
                      ignored=submission.ignored)  # fmt: skip


class _client:
    """A Dask client on ``scheduler``, or on a LocalCluster of ``workers`` processes."""

    def __init__(self, scheduler: str | None, workers: int):
        self.scheduler, self.workers, self.cluster = scheduler, workers, None

    def __enter__(self):
        from distributed import Client, LocalCluster

        if self.scheduler:
            self.client = Client(self.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                        processes=True, dashboard_address=":0")  # fmt: skip
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def prepare(root: Path, assignment: str) -> Workspace:
    """The course workspace, with the assignment generated into its gradebook."""
    ws = create_workspace(root, [assignment])
    outcome = course_api(ws.root).generate_assignment(assignment, force=True)
    if not outcome["success"]:
        raise RuntimeError(f"nbgrader could not generate {assignment}:\n{outcome.get('log')}")
    return ws


def _warm_up(limits: Limits, local: bool = False) -> None:
    """Import nbgrader and every check in a worker before its first submission arrives:
    the judging code is then loaded before any student code has run on this machine.
    Then start the worker's template kernel (autograder.zygote).

    A ``local`` worker (one of this run's own LocalCluster) ends without finalizing its
    interpreter: with torch loaded, that took about 0.6 s of every run, which waited for
    it. Its exit handlers registered later (the slot's, which stops the template) still
    run first; it has nothing else to save, as its results went back to the coordinator."""
    import atexit
    import importlib
    import pkgutil

    import nbgrader.apps  # noqa: F401
    from sqlalchemy.exc import SAWarning

    import lstm_ref.grading

    from .worker import font_cache, start_template

    for module in pkgutil.walk_packages(lstm_ref.grading.__path__, "lstm_ref.grading."):
        importlib.import_module(module.name)
    # nbgrader's autograde in this worker: its SQLAlchemy autoflush notes (SAWarning) would
    # land on the coordinator's terminal, through the progress bar
    warnings.filterwarnings("ignore", category=SAWarning)
    fast_gradebooks()
    fast_templates()
    font_cache()
    if local:
        atexit.register(_end_at_once)  # before start_template: the slot's handler runs first
    start_template(limits)


def _end_at_once() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def record(ws: Workspace, result: Result, submitted: dict[str, bytes] | None = None) -> None:
    """Write one result: gradebook (committed now), notebooks, feedback, results JSON.

    The gradebook and folders are left as ``nbgrader autograde`` leaves them, so the
    Formgrader shows the class: the student with a name, the notebooks in submitted/
    (``submitted``, the student's own files; else the autograded ones) and autograded
    cells not flagged for manual grading.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    fast_gradebooks()
    with warnings.catch_warnings(), Gradebook(ws.gradebook_url) as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's models
        student = gradebook.update_or_create_student(result.student)
        first, last = _names(result)
        if first or last:  # from a roster or the LMS
            student.first_name, student.last_name = first or "", last or ""
        elif student.last_name is None:  # the id, not "None, None"; kept if typed in later
            student.first_name, student.last_name = "", result.student
        try:
            gradebook.remove_submission(result.assignment, result.student)
        except MissingEntry:
            pass
        folder = ws.root / "submitted" / result.student / result.assignment
        collected = folder / "timestamp.txt"  # nbgrader collect's own folder: never rewritten
        stamp = parse_utc(collected.read_text().strip()) if collected.is_file() else None
        submitted_ = gradebook.add_submission(result.assignment, result.student,
                                              timestamp=stamp)  # fmt: skip
        trusted = {}  # the worker's scores, held to this gradebook's own cells and maxima
        for notebook in submitted_.notebooks:
            for grade in notebook.grades:
                score = result.scores.get(grade.name, (0.0, 0.0))[0]
                grade.auto_score = min(max(float(score), 0.0), float(grade.max_score))
                grade.needs_manual_grade = grade.cell.cell_type != "code"  # as autograde sets
                trusted[grade.name] = (grade.auto_score, float(grade.max_score))
        gradebook.db.commit()
        result.scores = trusted
    ours = ws.root / "autograded" / result.student / result.assignment  # last run's copies
    for name, content in ({} if stamp else submitted or result.autograded).items():
        path = folder / name  # the graded notebook; a student's own is never overwritten by ours
        if submitted or not path.exists() or path.read_bytes() == _read(ours / name):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    for kind, files in [("autograded", result.autograded), ("feedback", result.feedback)]:
        for name, content in files.items():
            path = ws.root / kind / result.student / result.assignment / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        for name in ("timestamp.txt", "submission_secret.txt") if files else ():
            if (folder / name).is_file():  # what `nbgrader release_feedback` reads
                shutil.copyfile(folder / name, ws.root / kind / result.student
                                / result.assignment / name)  # fmt: skip
    summary = {k: v for k, v in dataclasses.asdict(result).items()
               if k not in ("autograded", "feedback")}  # fmt: skip
    path = ws.root / "results" / result.assignment / f"{result.student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1))


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _names(result: Result) -> tuple[str | None, str | None]:
    """(first, last) names a roster or LMS gave for the student, or (None, None)."""
    first, last = getattr(result, "first_name", None), getattr(result, "last_name", None)
    if first is None and last is None and getattr(result, "name", None):
        first, _, last = str(result.name).strip().rpartition(" ")
    return (first, last) if (first or last) else (None, None)


def write_collection(ws: Workspace, assignment: str, class_: Collected) -> Path:
    """results/<assignment>/_collection.json: every file of the input not graded, and why."""
    collection = {
        "unplaced": class_.unplaced,
        "missing": class_.missing,
        "rejected": {s.student: s.rejected for s in class_.submissions if s.rejected},
        "notes": {s.student: s.notes for s in class_.submissions if s.notes},
        "names": {s.student: s.name for s in class_.submissions if s.name},
    }
    path = ws.root / "results" / assignment / "_collection.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(collection, indent=1))
    return path


def load_results(ws_root: Path, assignment: str) -> list[dict]:
    folder = Path(ws_root) / "results" / assignment
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
            if not p.name.startswith("_")]  # fmt: skip
