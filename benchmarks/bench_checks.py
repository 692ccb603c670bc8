"""Seconds per in-notebook check: what a student waits for after running a test cell.

    python benchmarks/bench_checks.py [--rounds 3]

Each exercise's check is called as its test cell calls it (the visible cases; then the
hidden ones, which grading adds) on the first correct variant of the course's corpus
(tests/test_grading_<chapter>.py), and on its first bug, whose diagnosis tries every known
mistake. Prints the median over rounds. Target: the visible check under 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHAPTERS = ["rnn_limits", "lstm_cell", "variants", "gradient_flow", "language_models",
            "encoder_decoder", "using_lstms"]  # fmt: skip


def seconds(call, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        with contextlib.suppress(AssertionError), contextlib.redirect_stdout(io.StringIO()):
            call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"# {cpu}, torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| exercise | visible, correct (s) | hidden, correct (s) | visible, first bug (s) |")
    print("|---|---|---|---|")
    worst = 0.0
    for chapter in CHAPTERS:
        corpus = importlib.import_module(f"tests.test_grading_{chapter}")
        for exercise, correct in corpus.CORRECT.items():
            student = correct[0]
            bug = corpus.BUGS[exercise][0].fn
            visible = seconds(lambda: exercise(student), args.rounds)  # noqa: B023
            hidden = seconds(lambda: exercise(student, hidden=True), args.rounds)  # noqa: B023
            wrong = seconds(lambda: exercise(bug), args.rounds)  # noqa: B023
            worst = max(worst, visible)
            print(f"| {exercise.name} | {visible:.2f} | {hidden:.2f} | {wrong:.2f} |")
    print(f"\nslowest visible check: {worst:.2f} s (target: under 1 s)")


if __name__ == "__main__":
    main()
