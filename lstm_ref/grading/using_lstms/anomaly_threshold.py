"""Exercise 6.2: a threshold from normal residuals, in NumPy.

    anomaly_threshold(residuals, k) -> mean, threshold
    residuals (L, N), k a float; mean (N,) = μ_n, threshold (N,) = k·σ_n

μ_n and σ_n are the mean and population standard deviation (ddof=0) over time of series
n's residuals on a stretch known to be normal; both outputs keep the residuals' dtype.
"""

from __future__ import annotations

import numpy as np

from ..core import Check, Mistake
from ..exercise import Exercise, Part
from ._residuals import residual_cases


def reference(residuals: np.ndarray, k: float):
    """μ_n = mean over t of r[t, n], threshold_n = k·σ_n (population std, ddof=0)."""
    return residuals.mean(axis=0), k * residuals.std(axis=0)  # (N,), (N,) in r's dtype


def _per_series(fn):
    """The same value for every series: one statistic of all the residuals, (N,)."""

    def spread(r, k):
        mean, threshold = fn(r, k)
        N = r.shape[1]
        return np.full(N, mean, dtype=r.dtype), np.full(N, threshold, dtype=r.dtype)

    return spread


NO_AXIS = ("one mean and threshold for all the series (no axis)",
           "give mean and std axis=0: one value per series, shape (N,).")  # fmt: skip
ANOMALY_THRESHOLD = Check(
    name="anomaly_threshold",
    reference=reference,
    output_names=["mean", "threshold"],
    arg_names=("residuals", "k"),
    shape_hint="residuals is (L, N), time-major: reduce over time, axis=0, for a mean and a "
               "threshold of shape (N,), one per series.",
    mistakes=[
        Mistake("the statistics are taken over the series axis (axis=1) instead of over "
                "time (axis=0)", "residuals is (L, N): reduce over axis=0 to get one value "
                "per series, shape (N,).", lambda r, k: (r.mean(axis=1), k * r.std(axis=1))),
        Mistake(*NO_AXIS, lambda r, k: (r.mean(), k * r.std())),
        Mistake(*NO_AXIS, _per_series(lambda r, k: (r.mean(), k * r.std()))),
        Mistake("the sample standard deviation (ddof=1) instead of the population one",
                "use np.std's default, ddof=0 (torch's .std() defaults to ddof=1).",
                lambda r, k: (r.mean(axis=0), k * r.std(axis=0, ddof=1))),
        Mistake("the variance instead of the standard deviation", "σ is the square root of "
                "the variance: np.std, not np.var.",
                lambda r, k: (r.mean(axis=0), k * r.var(axis=0))),
        Mistake("the threshold includes the mean (μ + k·σ)", "return μ and k·σ apart: "
                "flag_anomalies subtracts μ from the residuals itself.",
                lambda r, k: (r.mean(axis=0), r.mean(axis=0) + k * r.std(axis=0))),
        Mistake("the statistics are of |r| instead of r", "take the mean and std of the "
                "signed residuals; the absolute value belongs in flag_anomalies.",
                lambda r, k: (np.abs(r).mean(axis=0), k * np.abs(r).std(axis=0))),
        Mistake("k is left out: the threshold is σ, not k·σ", "multiply the standard "
                "deviation by k.", lambda r, k: (r.mean(axis=0), r.std(axis=0))),
        Mistake("the spread is taken about 0, not about the mean (a root mean square)",
                "σ² is the mean of (r - μ)², with μ subtracted first; np.std does this.",
                lambda r, k: (r.mean(axis=0), k * np.sqrt((r**2).mean(axis=0)))),
    ],
)  # fmt: skip


def _residuals(rng, L, N, k):
    """Residuals with a different offset and scale per series, and a few outliers."""
    r = rng.normal(size=(L, N)) * rng.uniform(0.05, 0.5, size=N) + rng.normal(size=N) * 0.1
    r += 3.0 * (rng.random((L, N)) < 0.05) * rng.choice([-1.0, 1.0], size=(L, N))
    return (r,), (k,)


def cases(hidden: bool):
    return residual_cases(_residuals, hidden)


check_anomaly_threshold = Exercise(
    "anomaly_threshold", [Part(ANOMALY_THRESHOLD, cases)],
    doc="Check ``anomaly_threshold(residuals, k) -> (mean, threshold)``, both (N,).")
