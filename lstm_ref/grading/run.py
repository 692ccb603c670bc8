"""Running: the student's function (or a reference, or a mistake) on a check's cases.

This half runs in the student's kernel when a class is graded. It returns
:class:`~lstm_ref.grading.values.Outcome` objects, plain data only, and decides nothing:
judging is :mod:`lstm_ref.grading.judge`'s.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .core import Case, Check, GradingError
from .guard import Delegated, forbid_delegation
from .values import Outcome, Value, describe, to_value


def _eager():
    """torch.compile'd code run eagerly; nothing to do (and 2 s of imports saved) when the
    kernel never imported torch's compiler."""
    if "torch._dynamo" not in sys.modules:
        return contextlib.nullcontext()
    return torch.compiler.set_stance("force_eager")


def call(fn: Callable, case: Case, guarded: bool):
    """``fn`` on a deep copy of the case's arguments.

    NumPy overflow and invalid operations raise (a naive sigmoid is a mistake to report);
    other warnings are recorded and dropped, so they never reach stderr. Code wrapped in
    ``torch.compile`` runs as written, eagerly: compiling it again for every case's shape
    and dtype took minutes, past a test cell's time limit, for the same numbers.
    """
    args = copy.deepcopy(case.args)
    with (
        warnings.catch_warnings(record=True),
        np.errstate(over="raise", divide="raise", invalid="raise"),
        _eager(),
    ):
        warnings.simplefilter("always")
        if not guarded:
            return fn(*args)
        with forbid_delegation():
            return fn(*args)


def as_outputs(value, names: Sequence[str]) -> list:
    """A single output or a tuple of ``len(names)`` outputs, as a list."""
    count = len(names)
    if count == 1:
        return [value[0] if isinstance(value, tuple | list) and len(value) == 1 else value]
    if not isinstance(value, tuple | list) or len(value) != count:
        raise GradingError(
            f"expected your function to return {count} values ({', '.join(names)}), "
            f"got {describe(value)}"
        )
    return list(value)


def _leaves(arg):
    """A fresh leaf that requires grad, for a floating tensor (or a tuple of them)."""
    if isinstance(arg, tuple | list):
        return type(arg)(_leaves(item) for item in arg)
    if isinstance(arg, torch.Tensor) and arg.is_floating_point():
        return arg.detach().clone().requires_grad_()
    return arg


def _flat(arg) -> list:
    if isinstance(arg, tuple | list):
        return [leaf for item in arg for leaf in _flat(item)]
    return [arg] if isinstance(arg, torch.Tensor) and arg.requires_grad else []


def loss_weights(output: torch.Tensor, k: int) -> torch.Tensor:
    """Fixed weights for output k in L = Σ_k Σ w_k ⊙ output_k: no two entries alike."""
    index = torch.arange(output.numel(), dtype=output.dtype, device=output.device)
    return torch.cos(1.7 * index + k).view_as(output)


def with_gradients(fn: Callable, check: Check) -> Callable:
    """``fn`` returning its outputs, then ∂L/∂ of each argument in ``check.wrt``.

    A gradient that does not reach an argument comes back as None.
    """

    def run(*args):
        args = list(args)
        for i in check.wrt:
            args[i] = _leaves(args[i])
        outputs = as_outputs(fn(*args), check.output_names)
        targets = [leaf for i in check.wrt for leaf in _flat(args[i])]
        terms = [(loss_weights(out, k) * out).sum() for k, out in enumerate(outputs)
                 if isinstance(out, torch.Tensor) and out.requires_grad
                 and out.is_floating_point()]  # fmt: skip
        grads = [None] * len(targets)
        if terms and targets:
            grads = list(torch.autograd.grad(sum(terms), targets, allow_unused=True))
        per_arg, start = [], 0
        for i in check.wrt:
            count = len(_flat(args[i]))
            chunk = grads[start : start + count]
            start += count
            per_arg.append(chunk[0] if count == 1 else (None if None in chunk else tuple(chunk)))
        return (*outputs, *per_arg)

    return run


def values_of(result, check: Check) -> list[Value]:
    """The outputs as plain data; a tuple of gradients is stacked into one array."""
    outputs = as_outputs(result, check.all_output_names)
    values = []
    for out in outputs:
        if isinstance(out, tuple) and all(isinstance(t, torch.Tensor) for t in out):
            out = torch.cat([t.reshape(-1) for t in out])
        values.append(to_value(out))
    return values


def run_cases(check: Check, fn: Callable, cases: Sequence[Case], guarded: bool) -> list[Outcome]:
    """``fn`` on every case, as plain data; an error on one case is that case's outcome.

    Runs on one torch thread (restored afterwards): the cases are tiny, and on a busy
    machine thread contention made them many times slower.
    """
    target = with_gradients(fn, check) if check.wrt else fn
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    outcomes = []
    try:
        for case in cases:
            try:
                outcomes.append(Outcome(values_of(call(target, case, guarded), check)))
            except Delegated as error:
                outcomes.append(Outcome(None, "Delegated", str(error)))
            except Exception as error:  # noqa: BLE001 - any error is that case's outcome
                outcomes.append(Outcome(None, type(error).__name__, str(error)))
    finally:
        torch.set_num_threads(threads)
    return outcomes
