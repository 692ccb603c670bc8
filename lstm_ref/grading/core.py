"""Run a student's function beside the reference and explain any difference.

A *check* calls ``student(*case.args)`` and ``reference(*case.args)`` on every case (fresh
copies of the inputs each time), and compares every output with a tolerance fit to the
inputs' dtype. On a mismatch it tries each known :class:`Mistake`: a mistake whose output
equals the student's on every case names the error. Otherwise the message gives the
largest difference and where it is. A passing check prints one line to stdout and
nothing to stderr, so nbgrader gives the cell its points.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .guard import Delegated, forbid_delegation

# (rtol, atol) by the dtype of the inputs: loose enough for any correct formulation
# (separate matrices, loops, another order of operations), tight enough for any mistake.
TOLERANCE = {np.dtype("float64"): (1e-7, 1e-9), np.dtype("float32"): (2e-4, 2e-5)}


class GradingError(AssertionError):
    """A check failed; the message is written for the student."""


@dataclass(frozen=True)
class Case:
    """One set of arguments, and a label a student can read ("batch 1, float32, cpu")."""

    label: str
    args: tuple
    dtype: np.dtype = np.dtype("float64")
    device: str = "cpu"


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant: ``fn`` computes what that mistake would return."""

    name: str
    hint: str
    fn: Callable


@dataclass
class Check:
    """What to call, what to compare it with, and what can go wrong."""

    name: str
    reference: Callable
    output_names: Sequence[str]
    mistakes: Sequence[Mistake] = field(default_factory=tuple)
    forbid: bool = True  # from scratch: calling torch's RNN layers or lstm_ref fails


def to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy()
    return np.asarray(value)


def as_outputs(value, count: int) -> list:
    """A single output or a tuple of ``count`` outputs, as a list."""
    if count == 1:
        return [value[0] if isinstance(value, tuple | list) and len(value) == 1 else value]
    if not isinstance(value, tuple | list) or len(value) != count:
        raise GradingError(f"expected your function to return {count} values, got {value!r:.80}")
    return list(value)


def first_difference(got, expected, names, dtype) -> str | None:
    """None when every output matches; otherwise what differs, for the student."""
    rtol, atol = TOLERANCE[np.dtype(dtype)]
    for name, g, e in zip(names, got, expected):
        if isinstance(e, torch.Tensor) and not isinstance(g, torch.Tensor):
            return f"{name} should be a torch.Tensor, got {type(g).__name__}"
        if isinstance(e, torch.Tensor) and g.device != e.device:
            return f"{name} is on {g.device}, but the inputs were on {e.device}"
        g, e = to_numpy(g), to_numpy(e)
        if g.shape != e.shape:
            return f"{name} has shape {g.shape}, expected {e.shape}"
        if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
            return f"{name} contains nan or inf (overflow?) where the reference is finite"
        if not np.allclose(g, e, rtol=rtol, atol=atol):
            error = np.abs(g.astype(np.float64) - e)
            where = np.unravel_index(np.argmax(error), error.shape)
            index = tuple(int(i) for i in where)
            return (
                f"{name} differs: largest error {error[where]:.3g} at index {index}"
                f" (got {g[where]:.6g}, expected {e[where]:.6g})"
            )
    return None


SHAPE_ERRORS = ("matmul", "mat1 and mat2", "not aligned", "size of tensor a", "broadcast")


def explain(error: Exception) -> str:
    """A hint for the errors students meet most, or nothing."""
    text = str(error)
    if isinstance(error, NotImplementedError):
        return "\n  Hint: the function is still the stub; replace `raise NotImplementedError()`."
    if isinstance(error, FloatingPointError | RuntimeWarning):
        return "\n  Hint: an overflow; large |inputs| need a numerically stable formula."
    if any(marker in text for marker in SHAPE_ERRORS):
        return (
            "\n  Hint: operands of incompatible shapes. In torch's layout W_ih is (G*H, I) and"
            " W_hh is (G*H, H), so the products are x @ W_ih.T and h @ W_hh.T."
        )
    return ""


def call(fn, case: Case, guarded: bool):
    """Call ``fn`` on a deep copy of the case's arguments.

    NumPy overflow and invalid operations raise (a naive sigmoid is a mistake to report);
    other warnings are recorded and dropped, so they never reach stderr.
    """
    args = copy.deepcopy(case.args)
    with (
        warnings.catch_warnings(record=True),
        np.errstate(over="raise", divide="raise", invalid="raise"),
    ):
        warnings.simplefilter("always")
        if not guarded:
            return fn(*args)
        with forbid_delegation():
            return fn(*args)


def diagnose(check: Check, student, cases: Sequence[Case]) -> Mistake | None:
    """The known mistake whose output equals the student's on every case, if any."""
    for mistake in check.mistakes:
        same = True
        for case in cases:
            try:
                got = as_outputs(call(student, case, check.forbid), len(check.output_names))
                wrong = as_outputs(call(mistake.fn, case, False), len(check.output_names))
            except Exception:
                same = False
                break
            if first_difference(got, wrong, check.output_names, case.dtype) is not None:
                same = False
                break
        if same:
            return mistake
    return None


def run_check(check: Check, student: Callable, cases: Sequence[Case]) -> None:
    """Raise :class:`GradingError` with an actionable message, or print one success line.

    Runs on one torch thread (restored afterwards): the cases are tiny, and on a busy
    machine thread contention made them many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _run_cases(check, student, cases)
    finally:
        torch.set_num_threads(threads)


def _run_cases(check: Check, student: Callable, cases: Sequence[Case]) -> None:
    if not callable(student):
        raise GradingError(f"{check.name}: expected a function, got {type(student).__name__}")
    for case in cases:
        expected = as_outputs(call(check.reference, case, False), len(check.output_names))
        try:
            got = as_outputs(call(student, case, check.forbid), len(check.output_names))
        except Delegated as error:
            raise GradingError(f"{check.name}: {error}") from None
        except GradingError:
            raise
        except Exception as error:  # noqa: BLE001 - any student error becomes feedback
            raise GradingError(
                f"{check.name} raised {type(error).__name__}: {error}\n  on case: {case.label}"
                + explain(error)
            ) from None
        problem = first_difference(got, expected, check.output_names, case.dtype)
        if problem is not None:
            mistake = diagnose(check, student, cases)
            if mistake is not None:
                raise GradingError(
                    f"{check.name}: your output matches a known mistake: {mistake.name}.\n"
                    f"  Hint: {mistake.hint}"
                )
            raise GradingError(f"{check.name}: {problem}\n  on case: {case.label}")
    dtypes = sorted({str(case.dtype) for case in cases}, reverse=True)
    devices = sorted({case.device for case in cases})
    print(
        f"✓ {check.name}: all {len(cases)} cases match the reference "
        f"({', '.join(dtypes)} on {', '.join(devices)})"
    )
