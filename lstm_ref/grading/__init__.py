"""Checks for the course's exercises: the student's code against lstm_ref's.

Running the student's code (:mod:`.run`) is kept apart from judging what it returned
(:mod:`.judge`); :mod:`.exercise` joins them for the notebooks, and the grader judges
recorded outputs in a process of its own. Shared mistakes live in :mod:`.catalogue`.
"""

from .core import Case, Check, GradingError, Mistake, Verdict
from .exercise import Exercise, Part, run_check
from .guard import Delegated, forbid_delegation

__all__ = ["Case", "Check", "Delegated", "Exercise", "GradingError", "Mistake", "Part",
           "Verdict", "forbid_delegation", "run_check"]  # fmt: skip
