"""Central-difference gradient checking for hand-written backward passes.

For a scalar loss ``f`` and every entry ``theta[k]`` of every checked input,

    numeric[k] = (f(theta + eps e_k) - f(theta - eps e_k)) / (2 eps)

whose error is O(eps^2), against the analytic gradient from your backward pass.
An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|`` (``np.isclose``).

Two entry points: :func:`grad_check` returns a :class:`GradCheckReport` (truthy when every
entry passes, printable), :func:`assert_grad_check` raises ``AssertionError`` with the
report's message. Use float64: in float32 the difference quotient is mostly rounding.

Example:
    >>> import numpy as np
    >>> inputs = {"w": np.array([1.0, -2.0])}
    >>> report = grad_check(lambda w: np.sum(w**3), inputs, {"w": 3 * inputs["w"] ** 2})
    >>> bool(report)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass
class GradCheckReport:
    """Outcome of :func:`grad_check`; ``bool(report)`` is ``report.ok``.

    ``name``/``index`` locate the worst entry, the one furthest outside the tolerance;
    ``per_input`` maps each checked name to ``(worst relative error, failing entries, size)``.
    The relative error of an entry is ``|analytic - numeric| / max(|analytic|, |numeric|)``.
    """

    ok: bool
    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    relative_error: float
    per_input: dict[str, tuple[float, int, int]] = field(default_factory=dict)
    rtol: float = 0.0
    atol: float = 0.0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        lines = [
            f"gradient check {verdict}; worst entry {self.name}{list(self.index)}: "
            f"analytic {self.analytic:.6g}, numeric {self.numeric:.6g}, "
            f"relative error {self.relative_error:.2e} "
            f"(tolerance atol={self.atol:g} + rtol={self.rtol:g} * |numeric|)"
        ]
        for name, (worst, failed, size) in self.per_input.items():
            status = "ok  " if failed == 0 else "FAIL"
            lines.append(f"  {status} {name}: {failed} of {size} entries off, worst {worst:.2e}")
        return "\n".join(lines)


def numerical_gradient(
    f: Callable[..., float], inputs: dict[str, np.ndarray], name: str, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient of ``f(**inputs)`` with respect to ``inputs[name]``.

    ``inputs`` is not modified: the entry being nudged is a private copy.
    """
    inputs = dict(inputs)
    theta = inputs[name] = np.array(inputs[name], dtype=np.float64)  # a copy
    grad = np.zeros_like(theta)
    for index in np.ndindex(theta.shape):
        original = theta[index]
        theta[index] = original + eps
        loss_plus = _scalar(f(**inputs))
        theta[index] = original - eps
        loss_minus = _scalar(f(**inputs))
        theta[index] = original
        grad[index] = (loss_plus - loss_minus) / (2 * eps)  # (f(θ+ε) - f(θ-ε)) / 2ε
    return grad


def grad_check(
    f: Callable[..., float],
    inputs: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> GradCheckReport:
    """Compare ``analytic`` gradients with central differences of ``f``.

    Args:
        f: called as ``f(**inputs)``; returns the scalar loss.
        inputs: every argument of ``f``; those named in ``analytic`` must be float64.
        analytic: gradient of the loss for some or all of ``inputs``, same shapes.
        eps: step of the central difference. rtol, atol: tolerance per entry.

    Returns:
        A :class:`GradCheckReport`; ``print(report)`` says which input and which entry
        is worst, and how many entries of each input are off.
    """
    _check_arguments(inputs, analytic)
    comparisons = {
        name: _compare(np.asarray(grad), numerical_gradient(f, inputs, name, eps), rtol, atol)
        for name, grad in analytic.items()
    }
    name = max(comparisons, key=lambda name: comparisons[name].excess)
    worst = comparisons[name]
    return GradCheckReport(
        ok=all(c.failed == 0 for c in comparisons.values()),
        name=name,
        index=worst.index,
        analytic=worst.analytic,
        numeric=worst.numeric,
        relative_error=worst.relative_error,
        per_input={n: (c.worst_relative, c.failed, c.size) for n, c in comparisons.items()},
        rtol=rtol,
        atol=atol,
    )


def assert_grad_check(
    f: Callable[..., float],
    inputs: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    **tolerances: float,
) -> GradCheckReport:
    """Like :func:`grad_check` (same arguments), but raise ``AssertionError`` on failure.

    The error message is ``str(report)``: the worst entry and a line per checked input.
    """
    report = grad_check(f, inputs, analytic, **tolerances)
    if not report:
        raise AssertionError(str(report))
    return report


class _Comparison(NamedTuple):
    excess: float  # worst |analytic - numeric| / (atol + rtol |numeric|); > 1 fails
    index: tuple[int, ...]  # where that worst entry is
    analytic: float
    numeric: float
    relative_error: float  # of that worst entry
    worst_relative: float  # over all entries
    failed: int
    size: int


def _compare(grad: np.ndarray, numeric: np.ndarray, rtol: float, atol: float) -> _Comparison:
    """Compare one input's analytic and numeric gradients entry by entry."""
    diff = np.abs(grad - numeric)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(diff == 0, 0.0, diff / (atol + rtol * np.abs(numeric)))
        relative = np.where(diff == 0, 0.0, diff / np.maximum(np.abs(grad), np.abs(numeric)))
    excess = np.where(np.isnan(excess), np.inf, excess)  # a NaN gradient always fails
    relative = np.where(np.isnan(relative), np.inf, relative)
    index = np.unravel_index(np.argmax(excess), excess.shape)
    return _Comparison(
        excess=float(excess[index]),
        index=tuple(int(i) for i in index),
        analytic=float(grad[index]),
        numeric=float(numeric[index]),
        relative_error=float(relative[index]),
        worst_relative=float(relative.max()),
        failed=int(np.count_nonzero(excess > 1)),
        size=grad.size,
    )


def _scalar(loss) -> float:
    value = np.asarray(loss)
    if value.size != 1:
        raise TypeError(f"expected f to return a scalar loss, got shape {value.shape}")
    return float(value.item())


def _check_arguments(inputs: dict, analytic: dict) -> None:
    if not analytic:
        raise ValueError("expected at least one analytic gradient to check")
    for name, grad in analytic.items():
        if name not in inputs:
            raise ValueError(
                f"expected analytic gradient {name!r} to name one of the inputs {list(inputs)}"
            )
        value = inputs[name]
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(f"expected input {name!r} to be a float64 array, got {got}")
        if np.shape(grad) != value.shape:
            raise ValueError(
                f"expected analytic[{name!r}] of shape {value.shape}, got {np.shape(grad)}"
            )
