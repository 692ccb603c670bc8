"""Checks for the course's exercises: the student's code against lstm_ref's."""

from .core import Case, Check, GradingError, Mistake, run_check
from .guard import Delegated, forbid_delegation

__all__ = ["Case", "Check", "Delegated", "GradingError", "Mistake", "forbid_delegation",
           "run_check"]  # fmt: skip
