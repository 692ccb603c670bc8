"""An exercise's check, as a notebook calls it: ``check_rnn_step(rnn_step, hidden=False)``.

An :class:`Exercise` is one or more parts, each a :class:`~.core.Check`, the seeded
cases it runs on, and a *runner* that turns the student's object (a function, a class)
into a function of the case's arguments. Calling the exercise runs the student's code
on the cases (:mod:`.run`), judges the outputs (:mod:`.judge`), prints the ✓ line or
raises :class:`~.core.GradingError`.

When the grader sets ``LSTM_REF_RECORD`` (a folder), the outputs are also written there
as plain data, one file per test cell and call; ``python -m autograder grade`` judges
those files in its own process and ignores what the kernel decided.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import values as records
from .core import Case, Check, Verdict
from .judge import judge
from .messages import success
from .run import run_cases
from .values import Outcome

RECORD = "LSTM_REF_RECORD"  # folder the kernel writes outputs to, when grading
CELL = "AUTOGRADER_CELL"  # the fingerprint of the cell running now (autograder.progress)


def _same(student):
    return student


@dataclass
class Part:
    """One check of an exercise: cases(hidden) -> cases; runner(student) -> function."""

    check: Check
    cases: Callable[[bool], Sequence[Case]]
    runner: Callable = _same


class Exercise:
    """A graded exercise; call it on the student's object, as the test cells do."""

    def __init__(self, name: str, parts: Sequence[Part], doc: str = ""):
        self.name = name
        self.parts = list(parts)
        self.__doc__ = doc or f"Check ``{name}`` against the reference."
        self.__name__ = f"check_{name}"

    def __repr__(self) -> str:
        return f"<check_{self.name}>"

    def run(self, student, hidden: bool = False) -> list[list[Outcome]]:
        """The student's code on every case of every part (this runs student code)."""
        outcomes = []
        for part in self.parts:
            cases = part.cases(hidden)
            try:
                fn = part.runner(student)
            except Exception as error:  # noqa: BLE001 - e.g. not a class: every case fails
                failed = Outcome(None, type(error).__name__, str(error))
                outcomes.append([failed] * len(cases))
                continue
            outcomes.append(run_cases(part.check, fn, cases, part.check.forbid))
        return outcomes

    def judge(self, outcomes: list[list[Outcome]], hidden: bool = False) -> Verdict:
        """The verdict on recorded outcomes (runs no student code)."""
        if len(outcomes) != len(self.parts):
            return Verdict(False, f"✗ {self.name}: the record does not match this check")
        count, dtypes, devices = 0, set(), set()
        for part, got in zip(self.parts, outcomes):
            cases = part.cases(hidden)
            verdict = judge(part.check, cases, got, hidden)
            if not verdict.passed:
                return verdict
            count += len(cases)
            dtypes |= {str(c.dtype) for c in cases}
            devices |= {c.device for c in cases}
        return Verdict(True, success(self.name, count, sorted(dtypes, reverse=True),
                                     sorted(devices), hidden))  # fmt: skip

    def __call__(self, student, hidden: bool = False) -> None:
        """Check ``student``: print one ✓ line, or raise GradingError saying what is wrong."""
        __tracebackhide__ = True  # noqa: F841 - IPython and pytest hide this frame
        outcomes = self.run(student, hidden)
        folder = os.environ.get(RECORD)
        if folder:
            cell = os.environ.get(CELL, "nocell")
            path = Path(folder) / record_name(cell, self.name, hidden)
            try:
                records.save(path, outcomes)
            except OSError:
                pass  # the grader finds no record and says so
        self.judge(outcomes, hidden).raise_or_print()


def record_name(cell: str, exercise: str, hidden: bool) -> str:
    """The file a test cell's call writes: ``<cell>.<exercise>.<visible|hidden>.npz``."""
    return f"{cell}.{exercise}.{'hidden' if hidden else 'visible'}.npz"


def run_check(check: Check, student, cases: Sequence[Case], hidden: bool = False) -> None:
    """Run and judge one check in this process (no record): print ✓ or raise."""
    __tracebackhide__ = True  # noqa: F841
    judge(check, cases, run_cases(check, student, cases, check.forbid), hidden).raise_or_print()
