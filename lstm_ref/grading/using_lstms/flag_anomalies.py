"""Exercise 6.3: flag the anomalies, in NumPy.

    flag_anomalies(residuals, mean, threshold) -> flags
    residuals (L, N), mean and threshold (N,); flags (L, N), dtype bool

flags[t, n] is True exactly where |r[t, n] - μ_n| > threshold_n, strictly. The mask must
be boolean, as the instructions say: 0/1 numbers in its place are named. The mean and
threshold come from the reference, so this exercise does not depend on exercise 6.2.
"""

from __future__ import annotations

import numpy as np

from ..core import Check, Mistake
from ..exercise import Exercise, Part
from ._residuals import residual_cases


def reference(residuals, mean, threshold) -> np.ndarray:
    """True where |r[t, n] - μ_n| > threshold_n, strictly."""
    return np.abs(residuals - mean) > threshold  # (L, N) bool


def criterion(case, got, expected) -> str | None:
    """Exactly the reference's mask, and a boolean one."""
    g, e = got[0].array, expected[0].array
    if g.shape != e.shape:
        return f"flags has shape {g.shape}, expected (L, N) = {e.shape}"
    differ = g.astype(np.float64) != e
    if np.any(differ):
        t, n = (int(i) for i in np.argwhere(differ)[0])
        return (f"flags differs at {int(differ.sum())} of {differ.size} entries, first at "
                f"index ({t}, {n}) (got {g[t, n]}, expected {e[t, n]})")  # fmt: skip
    if got[0].dtype != "bool":
        return f"flags has dtype {got[0].dtype}; the instructions ask for a boolean mask"
    return None


def _numbers(r, m, t):
    """The right mask as 0/1 numbers: matches every non-boolean mask with the right values."""
    return reference(r, m, t).astype(np.int64)


INVERTED = ("the mask is inverted: True marks the normal steps",
            "True should mark the anomalies, where |r - μ| > threshold.")  # fmt: skip
FLAG_ANOMALIES = Check(
    name="flag_anomalies",
    reference=reference,
    output_names=["flags"],
    arg_names=("residuals", "mean", "threshold"),
    shape_hint="residuals is (L, N) and mean, threshold are (N,): they broadcast along time "
               "as they are (residuals - mean is (L, N)); no reshape or [:, None] is needed.",
    criterion=criterion,
    mistakes=[
        Mistake("the mask holds 0/1 numbers, not booleans", "return the comparison itself "
                "(dtype bool): no .astype(int), np.where(..., 1, 0) or np.zeros((L, N)).",
                _numbers),
        Mistake("no absolute value: only residuals above the mean are flagged", "a forecast "
                "can miss either way: compare |r - μ| with the threshold.",
                lambda r, m, t: r - m > t),
        Mistake("the mean is not subtracted (|r| > threshold)", "compare |r - μ|, the "
                "distance from the residuals' usual level.", lambda r, m, t: np.abs(r) > t),
        Mistake("the absolute value is taken before the mean is subtracted (|r| - μ)",
                "subtract first, then take the absolute value: |r - μ|.",
                lambda r, m, t: np.abs(r) - m > t),
        Mistake("≥ instead of >: a residual exactly at the threshold is flagged",
                "flag strictly beyond the threshold: >, not >=.",
                lambda r, m, t: np.abs(r - m) >= t),
        Mistake(*INVERTED, lambda r, m, t: np.abs(r - m) <= t),
        Mistake(*INVERTED, lambda r, m, t: np.abs(r - m) < t),
    ],
)  # fmt: skip


def _arguments(rng, L, N, k):
    """Residuals around dyadic means and thresholds, with some exactly on the edge."""
    mean = rng.integers(-8, 9, size=N) / 64  # exact in float32: edges stay exact
    threshold = rng.integers(8, 64, size=N) / 64
    r = mean + rng.normal(size=(L, N)) * threshold
    r[0], r[-1] = mean + threshold, mean - threshold  # ties: not flagged
    return (r, mean, threshold), ()


def cases(hidden: bool):
    return residual_cases(_arguments, hidden)


check_flag_anomalies = Exercise(
    "flag_anomalies", [Part(FLAG_ANOMALIES, cases)],
    doc="Check ``flag_anomalies(residuals, mean, threshold) -> (L, N) bool``.")
