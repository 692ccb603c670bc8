"""Submissions per minute: plain nbgrader against python -m autograder grade, same run.

    python benchmarks/bench_grading.py --students 16 --workers 2

Both grade the same class of correct submissions of one assignment and make feedback:
the baseline runs `nbgrader autograde` then `nbgrader generate_feedback` for the whole
class in one workspace (nbgrader grades one submission at a time); ours runs
autograder.grading.grade with a local Dask cluster of ``--workers`` processes, each
submission sandboxed, once with every kernel started afresh and once with kernels forked
from each worker's template. The target is a ratio of at least 3 with 2 workers on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import grading  # noqa: E402
from autograder.course import create_workspace  # noqa: E402
from autograder.sandbox import Limits  # noqa: E402
from autograder.slots import SWITCH  # noqa: E402


def make_class(root: Path, assignment: str, students: int) -> None:
    notebook = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", 4)
    for k in range(students):
        folder = root / f"student{k:02d}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{assignment}.ipynb"))


def plain_nbgrader(submissions: Path, assignment: str, work: Path) -> float:
    ws = create_workspace(work, [assignment])
    ws.nbgrader("generate_assignment", assignment, "--force")
    students = sorted(p.name for p in submissions.iterdir())
    (work / "students.csv").write_text("id\n" + "\n".join(students) + "\n")
    ws.nbgrader("db", "student", "import", str(work / "students.csv"))  # setup, not timed
    for student in students:
        ws.submit(student, assignment, submissions / student / assignment / f"{assignment}.ipynb")
    start = time.perf_counter()
    ws.nbgrader("autograde", assignment, "--force")
    ws.nbgrader("generate_feedback", assignment, "--force")
    return time.perf_counter() - start


def parallel(submissions: Path, assignment: str, work: Path, workers: int,
             templates: bool = True) -> float:  # fmt: skip
    """Our grading; ``templates=False`` starts every kernel afresh (autograder.slots)."""
    os.environ[SWITCH] = "1" if templates else "0"  # the LocalCluster's workers inherit it
    start = time.perf_counter()
    grading.grade(assignment, submissions, work, workers=workers, limits=Limits(),
                  progress=False)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_rnn_limits")
    parser.add_argument("--students", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", args.assignment, args.students)
        base = plain_nbgrader(tmp / "class", args.assignment, tmp / "plain")
        fresh = parallel(tmp / "class", args.assignment, tmp / "fresh", args.workers, False)
        ours = parallel(tmp / "class", args.assignment, tmp / "ours", args.workers)
    rate = lambda seconds: 60 * args.students / seconds  # noqa: E731
    print(f"{args.students} submissions of {args.assignment}, {args.workers} workers; "
          f"{machine()}")  # fmt: skip
    print("| grader | seconds | submissions/min | speed-up |\n|---|---|---|---|")
    rows = [("nbgrader autograde + generate_feedback", base),
            ("python -m autograder grade, every kernel started afresh", fresh),
            ("python -m autograder grade (kernels forked from a template)", ours)]  # fmt: skip
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {rate(seconds):.1f} | {base / seconds:.2f}x |")
    print(f"speed-up: {base / ours:.2f}x (target >= 3x)")


def machine() -> str:
    """CPU model, cores and torch build, for the figures' record."""
    import platform

    import torch

    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        model = next((line.split(":", 1)[1].strip() for line in info
                      if line.startswith("model name")), model)  # fmt: skip
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__}"


if __name__ == "__main__":
    main()
