"""Exercise 4.3: how much gradient reaches the first input, for a given forget bias.

    first_step_gradient(forget_bias, length, seeds) -> float
    the mean over seeds of ‖∂loss/∂x_0‖ for a fresh torch.nn.LSTM(1, 32) whose forget
    bias init_forget_bias set, on torch.randn(length, 8, 1)

The runner calls the student's function and nothing else, except that the name
``init_forget_bias`` in the student's namespace is the course's own while it runs: a
mistake in exercise 4.2 does not cost this one. It records the number as returned.

The norms span many decades (1e-13 … 1e-2), so the judgement is on their logarithms:
:class:`FirstStepGradient` takes log10 of the recorded numbers before judging, and the
reference and the mistakes give log10 too. On the raw numbers every tiny norm would
equal every other within the absolute tolerance. A passing verdict shows the numbers.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from lstm_ref.gradflow import seeded_input_gradient_norms

from ..core import Case, Check, GradingError, Mistake, Verdict
from ..exercise import Exercise, Part
from ..values import Outcome, Value
from .init_forget_bias import init_forget_bias_reference

PROBE_HIDDEN_SIZE, PROBE_BATCH = 32, 8  # the probed LSTM(1, 32) and x of shape (L, 8, 1)
LOG_TOLERANCE = (2e-4, 2e-5)  # (rtol, atol) on log10 of the norm: the cases' float32's
MISSING = object()


@contextlib.contextmanager
def course_init_forget_bias(student):
    """``init_forget_bias`` in the student's function's globals is the reference's."""
    namespace = getattr(student, "__globals__", None)
    if not isinstance(namespace, dict):
        yield
        return
    before = namespace.get("init_forget_bias", MISSING)
    namespace["init_forget_bias"] = init_forget_bias_reference
    try:
        yield
    finally:
        if before is MISSING:
            namespace.pop("init_forget_bias", None)
        else:
            namespace["init_forget_bias"] = before


def runner(student):
    """The student's function, with the course's init_forget_bias; its result as is."""
    if not callable(student):
        raise GradingError(f"expected a function, got {type(student).__name__}")

    def run(forget_bias, length, seeds):
        with course_init_forget_bias(student):
            return student(forget_bias, length, seeds)

    return run


def first_step_variant(forget_bias, length, seeds, *, step=0, set_bias=True,
                       reduce="mean", batch_first_input=False) -> float:  # fmt: skip
    """The reference, with knobs for the catalogue of mistakes."""

    def make_module():
        lstm = torch.nn.LSTM(1, PROBE_HIDDEN_SIZE)
        if set_bias:
            init_forget_bias_reference(lstm, forget_bias)
        return lstm

    shape = (PROBE_BATCH, length, 1) if batch_first_input else (length, PROBE_BATCH, 1)
    norms = seeded_input_gradient_norms(make_module, lambda: torch.randn(shape), seeds)  # (S, L)
    if reduce == "steps":
        return norms.mean().item()
    at_step = norms[:, step]  # (S,)
    return {"mean": at_step.mean(), "sum": at_step.sum(), "first": at_step[0]}[reduce].item()


def reference(forget_bias: float, length: int, seeds) -> float:
    """Mean over seeds of ‖∂loss/∂x_0‖ for a fresh LSTM(1, 32) with this forget bias."""
    return first_step_variant(forget_bias, length, seeds)


def log10(value: Value) -> Value:
    """The value with log10 of its numbers (nan for those not positive), kind kept."""
    if value.array is None or value.array.dtype.kind not in "biuf":
        return value
    with np.errstate(all="ignore"):
        numbers = value.array.astype(np.float64)
        array = np.asarray(np.where(numbers > 0, np.log10(numbers), np.nan))  # nan: not a norm
    return Value(value.kind, array, value.dtype, value.device, value.requires_grad, value.text)


def logged(outcome: Outcome) -> Outcome:
    if outcome.values is None:
        return outcome
    return Outcome([log10(v) for v in outcome.values], outcome.error_type, outcome.error)


def close_in_log(case, got, expected) -> str | None:
    """The criterion, on log10 of the norms: one positive number, the reference's."""
    array = got[0].array
    if array.size != 1:
        return f"expected one number, got {array.size} values"
    value, target = float(array.reshape(())), float(expected[0].array)
    if not math.isfinite(value):
        return "the gradient norm should be a positive, finite number"
    rtol, atol = LOG_TOLERANCE
    error = abs(value - target)
    if error > atol + rtol * abs(target):
        return (f"the gradient norm at x_0 is {10**value:.4g}, the reference's "
                f"{10**target:.4g} (log10 differs by {error:.2g})")  # fmt: skip
    return None


def _in_log(fn):
    def run(*args):
        return math.log10(fn(*args))

    run.student = fn  # the variant as a student writes it (for the tests)
    return run


def _mistake(name: str, hint: str, **knobs) -> Mistake:
    return Mistake(name, hint, _in_log(lambda *args: first_step_variant(*args, **knobs)))


FIRST_STEP_GRADIENT = Check(
    name="first_step_gradient",
    reference=_in_log(reference),  # log10: see the module's docstring
    output_names=["the mean gradient norm at x_0"],
    arg_names=("forget_bias", "length", "seeds"),
    shape_hint="torch.nn.LSTM(1, 32) reads x of shape (L, N, 1): torch.randn(length, 8, 1).",
    criterion=close_in_log,
    mistakes=[
        _mistake("the forget bias is never set on the module", "call "
                 "init_forget_bias(lstm, forget_bias) inside make_module.", set_bias=False),
        _mistake("the gradient at the last step x_{L-1} instead of the first x_0",
                 "the curve's entry t is ‖∂loss/∂x_t‖: take column 0.", step=-1),
        _mistake("the mean over every step instead of step 0", "take column 0 of the "
                 "(S, L) curves, then average over the seeds.", reduce="steps"),
        _mistake("only the first seed is used", "average column 0 over all the seeds: "
                 "norms[:, 0].mean().", reduce="first"),
        _mistake("the seeds are summed instead of averaged", "use .mean() over the "
                 "seeds, not .sum().", reduce="sum"),
        _mistake("the input is drawn as (N, L, 1) instead of time-major (L, N, 1)",
                 "torch.nn.LSTM reads (L, N, I): torch.randn(length, 8, 1).",
                 batch_first_input=True),
    ],
    forbid=False,  # measuring torch.nn.LSTM is the point
)  # fmt: skip

# (forget biases, length, seeds): the effect needs a long lag; float32 does not underflow
EFFECT = {False: ((0.0, 1.0, 3.0), 50, (0, 1, 2)), True: ((0.0, 2.0), 40, (3, 4))}


def cases(hidden: bool = False) -> list[Case]:
    biases, length, seeds = EFFECT[hidden]
    return [Case(f"forget_bias={b}, length={length}, seeds={seeds}", (b, length, seeds),
                 np.dtype("float32")) for b in biases]  # fmt: skip


class FirstStepGradient(Exercise):
    """The exercise; a passing verdict also shows the numbers, growing with the bias."""

    def judge(self, outcomes, hidden: bool = False) -> Verdict:
        verdict = super().judge([[logged(o) for o in part] for part in outcomes], hidden)
        if not verdict.passed:
            return verdict
        biases, length, seeds = EFFECT[hidden]
        norms = [float(outcome.values[0].array) for outcome in outcomes[0]]
        lines = [f"  ‖∂loss/∂x_0‖ after {length - 1} steps, mean of {len(seeds)} seeds:"]
        for b, norm in zip(biases, norms):
            lines.append(f"    forget bias {b:g}: {norm:.3g}  "
                         f"({norm / norms[0]:.3g} × bias {biases[0]:g})")  # fmt: skip
        return Verdict(True, "\n".join([verdict.message, *lines]))


check_first_step_gradient = FirstStepGradient(
    "first_step_gradient", [Part(FIRST_STEP_GRADIENT, cases, runner)],
    doc="Check ``first_step_gradient(forget_bias, length, seeds) -> float``; show the effect.")
