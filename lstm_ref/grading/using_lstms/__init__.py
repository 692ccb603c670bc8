"""Chapter 7's exercises: an LSTM forecaster, and anomalies from its residuals.

    Forecaster(hidden_size).forward(x (W, N, 1)) -> x̂ (N, 1)         an nn.Module, trained
    anomaly_threshold(residuals (L, N), k) -> mean (N,), threshold (N,)        NumPy
    flag_anomalies(residuals (L, N), mean (N,), threshold (N,)) -> (L, N) bool  NumPy

The anomaly rule is the chapter's: flag step t of series n when |r_t - μ_n| > k·σ_n,
with μ_n and σ_n the mean and (population) standard deviation of series n's residuals
on a validation stretch known to be normal.
"""

from .anomaly_threshold import ANOMALY_THRESHOLD, check_anomaly_threshold
from .flag_anomalies import FLAG_ANOMALIES, check_flag_anomalies
from .forecaster import HELD_OUT_CHECK, PROBE, WINDOW, check_forecaster, held_out_errors
from .forecaster import MISTAKES as FORECASTER_MISTAKES

__all__ = ["ANOMALY_THRESHOLD", "FLAG_ANOMALIES", "FORECASTER_MISTAKES", "HELD_OUT_CHECK",
           "PROBE", "WINDOW", "check_anomaly_threshold", "check_flag_anomalies",
           "check_forecaster", "held_out_errors"]  # fmt: skip
