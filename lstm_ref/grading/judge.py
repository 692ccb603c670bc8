"""Judging: a pure function of (the check, the case inputs, what the student's code returned).

The grader calls :func:`judge` in a process that never runs student code: the cases are
made again from their seeds, the reference and every known mistake are computed here,
and the student's outputs arrive as plain data. In a notebook the same function judges
the same outputs, so both give the same verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from . import catalogue, messages
from .core import TOLERANCE, Case, Check, Verdict
from .run import run_cases
from .values import Outcome, Value

FLOATS = ("float16", "bfloat16", "float32", "float64")


def expected_outcomes(check: Check, cases: Sequence[Case]) -> list[Outcome]:
    """The reference on every case (trusted code; never guarded)."""
    return run_cases(check, check.reference, cases, guarded=False)


def _kind_problem(name: str, got: Value, exp: Value) -> tuple[str, tuple[str, str]] | None:
    if name.startswith("∂L/∂") and got.kind == "none":
        return None  # a missing gradient: compared below
    if exp.kind == "tensor" and got.kind != "tensor":
        what = got.text or got.kind
        return f"{name} should be a torch.Tensor, got {what}", catalogue.NOT_A_TENSOR
    if exp.kind in ("ndarray", "sequence") and got.kind == "tensor":
        return f"{name} should be a NumPy array, got a torch.Tensor", catalogue.NOT_AN_ARRAY
    if exp.kind == "number" and got.kind == "tensor":
        return f"{name} should be a Python float, got a tensor", catalogue.NOT_A_FLOAT
    if exp.numeric and not got.numeric:
        return f"{name} should be {_article(exp)}, got {got.text or got.kind}", ("", "")
    return None


def _article(value: Value) -> str:
    return {"tensor": "a torch.Tensor", "ndarray": "a NumPy array", "number": "a number",
            "sequence": "a NumPy array"}.get(value.kind, value.kind)  # fmt: skip


def difference(name: str, got: Value, exp: Value, dtype: np.dtype) -> tuple[str, str] | None:
    """None when ``got`` passes for ``exp``; else (what differs, which pattern: "" or a key)."""
    kind = _kind_problem(name, got, exp)
    if kind is not None:
        return kind[0], "kind"
    if not exp.numeric:
        return None
    if name.startswith("∂L/∂") and not got.numeric:
        return f"no gradient reaches {name.removeprefix('∂L/∂')}", "gradient"
    if exp.kind == "tensor" and got.device != exp.device:
        return f"{name} is on {got.device}, but the inputs were on {exp.device}", "device"
    g, e = got.array, exp.array
    if g.shape != e.shape:
        return f"{name} has shape {tuple(g.shape)}, expected {tuple(e.shape)}", "values"
    rtol, atol = TOLERANCE.get(np.dtype(dtype), TOLERANCE[np.dtype("float64")])
    if name.startswith("∂L/∂") and not _close(g, e, rtol, atol):
        return f"the gradient {name} differs from the reference's", "gradient"
    g64, e64 = g.astype(np.float64), e.astype(np.float64)
    if not np.all(np.isfinite(g64)) and np.all(np.isfinite(e64)):
        return f"{name} contains nan or inf where the reference is finite (overflow?)", "values"
    if not np.allclose(g64, e64, rtol=rtol, atol=atol, equal_nan=True):
        error = np.asarray(np.abs(g64 - e64))
        error[~np.isfinite(error)] = np.inf
        where = np.unravel_index(np.argmax(error), error.shape) if error.ndim else ()
        index = tuple(int(i) for i in where)
        at = f" at index {index}" if index else ""
        return (f"{name} differs: largest error {error[where]:.3g}{at} "
                f"(got {g64[where]:.6g}, expected {e64[where]:.6g})"), "values"  # fmt: skip
    if got.dtype in FLOATS and exp.dtype in FLOATS and got.dtype != exp.dtype:
        return f"{name} is {got.dtype}, but the inputs were {exp.dtype}", "dtype"
    if exp.dtype == "bool" and got.dtype != "bool" and exp.kind in ("ndarray", "tensor"):
        return f"{name} holds {got.dtype} numbers; it should hold booleans (True/False)", "values"
    return None


def _close(g: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> bool:
    return bool(np.allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol))


def _first_difference(names, got: list[Value], exp: list[Value], dtype, check=None, case=None):
    if len(got) != len(exp):
        return f"expected {len(exp)} outputs, got {len(got)}", "values"
    if check is not None and check.criterion is not None:
        for name, g, e in zip(names, got, exp):
            kind = _kind_problem(name, g, e)
            if kind is not None:
                return kind[0], "kind"
        problem = check.criterion(case, got, exp)
        return None if problem is None else (problem, "values")
    for name, g, e in zip(names, got, exp):
        problem = difference(name, g, e, dtype)
        if problem is not None:
            return problem
    return None


def _tolerances(cases):
    return [TOLERANCE.get(np.dtype(c.dtype), TOLERANCE[np.dtype("float64")]) for c in cases]


def where(case: Case, hidden: bool) -> str:
    """The case as a message names it: its label, and whether it is hidden."""
    return f"{case.label}{' (a hidden case)' if hidden else ''}"


def diagnose(check: Check, cases: Sequence[Case], got: list[Outcome],
             expected: list[Outcome]) -> tuple[str, str] | None:  # fmt: skip
    """(name, hint) of the known mistake that explains the student's outputs on every
    case, or None. Tries the output patterns that need no computation first."""
    names = check.all_output_names
    problems = [_first_difference(names, g.values, e.values, c.dtype, check, c)
                for g, e, c in zip(got, expected, cases)]  # fmt: skip
    keys = {p[1] for p in problems if p is not None}
    metadata = [("kind", None), ("device", catalogue.DEVICE), ("dtype", catalogue.DTYPE),
                ("gradient", catalogue.CUT_GRADIENT)]
    for key, mistake in metadata:
        if keys == {key}:
            if mistake is None:  # the kind message says which kind is wrong
                first = next(p for p in problems if p is not None)
                return first[0], _kind_hint(first[0])
            return mistake[0], check.hints.get(key, mistake[1])
    if "gradient" in keys and keys <= {"gradient", "dtype"}:
        return catalogue.CUT_GRADIENT[0], check.hints.get("gradient", catalogue.CUT_GRADIENT[1])
    tolerances = _tolerances(cases)
    count = len(check.output_names)  # mistakes are recognised by the outputs, not gradients
    got_values = [g.values[:count] for g in got]
    outputs_only = dataclasses.replace(check, wrt=())  # no gradients: half the time
    for mistake in check.mistakes:
        wrong = run_cases(outputs_only, mistake.fn, cases, guarded=False)
        if any(w.values is None for w in wrong):
            continue
        if catalogue.matches_pattern(lambda v: v, got_values, [w.values[:count] for w in wrong],
                                     tolerances):  # fmt: skip
            return mistake.name, mistake.hint
    if check.shared_mistakes:
        expected_values = [e.values[:count] for e in expected]
        for name, hint, transform in catalogue.output_patterns(check.output_names):
            if catalogue.matches_pattern(transform, got_values, expected_values, tolerances):
                return name, hint
    return None


def _kind_hint(text: str) -> str:
    if "should be a torch.Tensor" in text:
        return catalogue.NOT_A_TENSOR[1]
    if "should be a NumPy array" in text:
        return catalogue.NOT_AN_ARRAY[1]
    if "should be a Python float" in text:
        return catalogue.NOT_A_FLOAT[1]
    return ""


def judge(check: Check, cases: Sequence[Case], got: list[Outcome], hidden: bool = False,
          expected: list[Outcome] | None = None) -> Verdict:  # fmt: skip
    """The verdict on the student's outcomes for ``cases``."""
    if len(got) != len(cases):
        return Verdict(False, messages.compose(
            check.name, f"the record holds {len(got)} results for {len(cases)} cases"))
    expected = expected if expected is not None else expected_outcomes(check, cases)
    for case, g, e in zip(cases, got, expected):
        if e.values is None:  # the reference itself failed: a fault in the course
            raise RuntimeError(f"the reference of {check.name} failed on {case.label}: {e.error}")
        if g.values is None:
            if g.error_type == "Delegated":
                return Verdict(False, messages.compose(check.name, g.error), "delegated",
                               where(case, hidden))  # fmt: skip
            if g.error_type == "GradingError":
                return Verdict(False, messages.compose(check.name, g.error, "",
                                                       where(case, hidden)), "", case.label)
            hint = messages.hint_for_error(g.error_type, g.error, check.shape_hint)
            what = f"raised {g.error_type}: {g.error}" if g.error else f"raised {g.error_type}"
            return Verdict(False, messages.compose(check.name, what, hint, where(case, hidden)),
                           "", case.label)  # fmt: skip
    names = check.all_output_names
    for case, g, e in zip(cases, got, expected):
        problem = _first_difference(names, g.values, e.values, case.dtype, check, case)
        if problem is None:
            continue
        named = diagnose(check, cases, got, expected)
        if named is not None:
            name, hint = named
            what = f"your output matches a known mistake: {name}."
            if name.startswith(tuple(names)) and problem[1] == "kind":
                what = name
            text = messages.compose(check.name, what, hint, where(case, hidden))
            return Verdict(False, text, name, case.label)
        return Verdict(False, messages.compose(check.name, problem[0], "", where(case, hidden)),
                       "", case.label)  # fmt: skip
    dtypes = sorted({np.dtype(c.dtype).name for c in cases}, reverse=True)
    devices = sorted({c.device for c in cases})
    return Verdict(True, messages.success(check.name, len(cases), dtypes, devices, hidden))
