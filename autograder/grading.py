"""Grade a whole class in parallel with Dask distributed; only this process writes.

nbgrader autogrades one submission at a time (its issue 174). Here each submission is a
Dask task (:func:`autograder.worker.grade_one`) that grades in a private folder and
returns plain data; the coordinator records every result as it arrives, in the course's
gradebook (committed per student, so an interrupted run keeps what it wrote), as files
(autograded notebook, feedback HTML, results JSON) and finally as a CSV. Grading again
replaces a student's previous submission, so re-grading is idempotent.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

from .course import REPO, Workspace, course_api, create_workspace, fast_gradebooks
from .sandbox import Limits
from .submissions import Submission, collect
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
) -> list[Result]:
    """Grade every submission of ``assignment`` found in ``submissions`` (folder or zip)."""
    source_dir = REPO / "solutions" / assignment
    sources = {p.name: p.read_bytes() for p in sorted(source_dir.glob("*.ipynb"))}
    if not sources:
        raise ValueError(f"no assignment {assignment!r} in solutions/")
    class_ = collect(Path(submissions), assignment, list(sources))
    with ThreadPoolExecutor(1) as pool:  # the workspace is made while the cluster starts
        preparing = pool.submit(prepare, Path(workspace), assignment)
        with _client(scheduler, workers) as client:
            warming = [client.submit(_warm_up, pure=False, workers=[w]) for w in client.ncores()]
            ws = preparing.result()  # meanwhile the workers import nbgrader
            results = _grade_all(client, ws, assignment, sources, class_, limits, progress)
            client.gather(warming)  # done long ago: each worker ran it before grading
    export_csv(ws, assignment)
    return sorted(results, key=lambda r: r.student)


def _grade_all(
    client,
    ws: Workspace,
    assignment: str,
    sources: dict[str, bytes],
    class_: list[Submission],
    limits: Limits,
    progress: bool,
) -> list[Result]:
    """Grade on the workers; record each result as it comes."""
    from distributed import as_completed

    results: list[Result] = []
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
        for sub in class_
    }
    for future in tqdm(as_completed(futures), total=len(futures), disable=not progress,
                       desc=f"grading {assignment}", unit="submission"):  # fmt: skip
        results.append(_result_of(future, futures[future], assignment))
        record(ws, results[-1])
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


def _warm_up() -> None:
    """Import nbgrader and every check in a worker before its first submission arrives:
    the judging code is then loaded before any student code has run on this machine."""
    import importlib
    import pkgutil

    import nbgrader.apps  # noqa: F401

    import lstm_ref.grading

    from .worker import font_cache

    for module in pkgutil.walk_packages(lstm_ref.grading.__path__, "lstm_ref.grading."):
        importlib.import_module(module.name)
    fast_gradebooks()
    font_cache()


def record(ws: Workspace, result: Result) -> None:
    """Write one result: gradebook (committed now), notebooks, feedback, results JSON."""
    from nbgrader.api import Gradebook, MissingEntry

    fast_gradebooks()
    with warnings.catch_warnings(), Gradebook(ws.gradebook_url) as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's models
        gradebook.update_or_create_student(result.student)
        try:
            gradebook.remove_submission(result.assignment, result.student)
        except MissingEntry:
            pass
        submitted = gradebook.add_submission(result.assignment, result.student)
        trusted = {}  # the worker's scores, held to this gradebook's own cells and maxima
        for notebook in submitted.notebooks:
            for grade in notebook.grades:
                score = result.scores.get(grade.name, (0.0, 0.0))[0]
                grade.auto_score = min(max(float(score), 0.0), float(grade.max_score))
                trusted[grade.name] = (grade.auto_score, float(grade.max_score))
        gradebook.db.commit()
        result.scores = trusted
    for folder, files in [("autograded", result.autograded), ("feedback", result.feedback)]:
        for name, content in files.items():
            path = ws.root / folder / result.student / result.assignment / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    summary = {k: v for k, v in dataclasses.asdict(result).items()
               if k not in ("autograded", "feedback")}  # fmt: skip
    path = ws.root / "results" / result.assignment / f"{result.student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1))


def load_results(ws_root: Path, assignment: str) -> list[dict]:
    folder = Path(ws_root) / "results" / assignment
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def export_csv(ws: Workspace, assignment: str) -> Path:
    """grades-<assignment>.csv: student, assignment, one column per exercise, total, status."""
    results = load_results(ws.root, assignment)
    exercises = _grade_ids(ws, assignment)
    path = ws.root / f"grades-{assignment}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", *exercises, "total", "max", "status", "reason"])
        maximum = None
        for r in results:
            scores = [r["scores"].get(e, [0.0, 0.0])[0] for e in exercises]
            maximum = maximum or _max_score(ws, assignment)
            writer.writerow([r["student"], assignment, *scores, sum(scores), maximum,
                             r["status"], r["reason"]])  # fmt: skip
    return path


def _grade_ids(ws: Workspace, assignment: str) -> list[str]:
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook_url) as gradebook:
        notebooks = gradebook.find_assignment(assignment).notebooks
        return [c.name for nb in notebooks for c in nb.grade_cells if c.cell_type == "code"]


def _max_score(ws: Workspace, assignment: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook_url) as gradebook:
        return float(gradebook.find_assignment(assignment).max_score)
