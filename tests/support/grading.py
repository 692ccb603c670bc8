"""Helpers for the grading tests: verdicts without exceptions, and the student-like corpus.

Each ``tests/test_grading_<chapter>.py`` lists its corpus:

    CORRECT = {check_rnn_step: [rnn_step_loop, rnn_step_concat]}   # must earn full marks
    BUGS = {check_rnn_step: [Bug(no_bias, "the biases are left out"), ...]}

``tests/test_grading_corpus.py`` runs every entry of every chapter, visible and hidden,
through the notebook path and through the grader's path (record, load, judge), and
holds the share of bugs named by their actual mistake to at least 90%.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from lstm_ref.grading import Exercise, Verdict
from lstm_ref.grading import values as records


@dataclass(frozen=True)
class Bug:
    """A student-like wrong answer and the mistake its message must name (a substring of
    the mistake's name), or None when no catalogue entry describes it."""

    fn: Callable
    mistake: str | None
    note: str = ""

    @property
    def id(self) -> str:
        return getattr(self.fn, "__name__", "bug")


def unguarded(exercise: Exercise) -> Exercise:
    """The exercise with delegation allowed: for running its own mistakes as students."""
    unguarded = copy.copy(exercise)  # keeps a subclass's own run() and judge()
    unguarded.parts = [dataclasses.replace(p, check=dataclasses.replace(p.check, forbid=False))
                       for p in exercise.parts]  # fmt: skip
    return unguarded


def verdict(exercise: Exercise, student, hidden: bool = False) -> Verdict:
    """The notebook's verdict, returned instead of printed or raised."""
    return exercise.judge(exercise.run(student, hidden), hidden)


def trusted_verdict(exercise: Exercise, student, hidden: bool, tmp_path) -> Verdict:
    """The grader's verdict: the outcomes saved and loaded as the kernel and grader do."""
    path = tmp_path / f"{exercise.name}-{hidden}.npz"
    records.save(path, exercise.run(student, hidden))
    return exercise.judge(records.load(path), hidden)
