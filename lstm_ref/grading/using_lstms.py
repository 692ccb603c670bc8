"""Checks for chapter 6's exercises: an LSTM forecaster, and anomalies from its residuals.

Student code:

    Forecaster(hidden_size).forward(x (W, N, 1)) -> x̂ (N, 1)         an nn.Module, trained
    anomaly_threshold(residuals (L, N), k) -> mean (N,), threshold (N,)        NumPy
    flag_anomalies(residuals (L, N), mean (N,), threshold (N,)) -> (L, N) bool  NumPy

The anomaly rule is the chapter's: flag step t of series n when |r_t - μ_n| > k·σ_n,
with μ_n and σ_n the mean and (population) standard deviation of series n's residuals
on a validation stretch known to be normal.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from torch import nn

import lstm_ref.nn as ref_nn
from lstm_ref.tasks import make_windows, seasonal_series

from .cases import DTYPES
from .core import Case, Check, GradingError, Mistake
from .exercise import run_check

# ---------------------------------------------------------------- 1. the forecaster

WINDOW = 24
"""W: the past values a forecaster reads (one period of the daily cycle, p = 24)."""
HELD_OUT = {False: (10**6, 4), True: (10**6 + 1, 3)}  # (seed, N) of normal held-out series
PROBE_BATCH = {False: 5, True: 7}  # N of the shape probe; unlike W, so layouts differ
MSE_RATIO = 0.6  # the forecaster's MSE must be below this × repeating the last value
LSTM_TYPES = (nn.LSTM, ref_nn.LSTM)


class ForecasterVariant(nn.Module):
    """A small forecaster with one catalogued mistake (a key of FORECASTER_MISTAKES)."""

    def __init__(self, mistake: str, hidden_size: int = 8):
        super().__init__()
        self.mistake = mistake
        if mistake == "no_lstm":  # a multilayer perceptron on the flattened window
            self.rnn = nn.Linear(WINDOW, hidden_size)
        else:
            self.rnn = nn.LSTM(1, hidden_size, batch_first=mistake == "batch_first")
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        if self.mistake == "no_lstm":
            return self.out(torch.tanh(self.rnn(x[..., 0].T)))  # (N, W) -> (N, 1)
        output, (h_n, _) = self.rnn(x)  # (W, N, H), (1, N, H)
        return {
            "first_step": lambda: self.out(output[0]),
            "no_linear": lambda: output[-1],
            "batch_first": lambda: self.out(output[:, -1]),  # (W, N, H) read as (N, L, H)
            "h_n": lambda: self.out(h_n),
            "every_step": lambda: self.out(output),
        }[self.mistake]()


FORECASTER_MISTAKES = {
    key: Mistake(name, hint, partial(ForecasterVariant, key))
    for key, name, hint in [
        ("no_lstm", "there is no LSTM inside the model", "build the model around "
         "torch.nn.LSTM(1, hidden_size) (or lstm_ref.nn.LSTM) and read the window with it."),
        ("first_step", "the forecast is read from the first time step (output[0]) instead "
         "of the last", "after the whole window, the LSTM's last output output[-1] "
         "(or h_n[-1]) summarises it."),
        ("no_linear", "there is no final linear layer: the output has hidden_size columns",
         "map the last output to one value with nn.Linear(hidden_size, 1)."),
        ("batch_first", "the LSTM is batch_first=True but the windows are time-major "
         "(W, N, 1)", "leave batch_first=False (the default), or transpose x to (N, W, 1) "
         "first."),
        ("h_n", "h_n is used without picking the last layer: it has shape "
         "(num_layers, N, H)", "use h_n[-1], shape (N, H), or output[-1]."),
        ("every_step", "a forecast for every step of the window is returned, (W, N, 1)",
         "return only the forecast after the last step: self.out(output[-1])."),
    ]
}  # fmt: skip


def _named(mistake: Mistake) -> GradingError:
    return GradingError(f"Forecaster: your model matches a known mistake: {mistake.name}.\n"
                        f"  Hint: {mistake.hint}")  # fmt: skip


def _probe(model: nn.Module, hidden: bool) -> None:
    """Raise for the catalogued mistakes, seen on untrained behaviour: shapes and inputs."""
    if not any(isinstance(m, LSTM_TYPES) for m in model.modules()):
        raise _named(FORECASTER_MISTAKES["no_lstm"])
    W, N = WINDOW, PROBE_BATCH[hidden]
    like = next(model.parameters())
    x = torch.randn(W, N, 1, generator=torch.Generator().manual_seed(0)).to(like)
    try:
        out = model(x)
    except Exception as error:  # noqa: BLE001 - any student error becomes feedback
        raise GradingError(
            f"Forecaster raised {type(error).__name__}: {error}\n"
            f"  on windows x of shape (W, N, 1) = {tuple(x.shape)}"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise GradingError(f"Forecaster: expected forward to return a tensor, "
                           f"got {type(out).__name__}")  # fmt: skip
    shape = tuple(out.shape)
    if shape != (N, 1):
        key = {(W, 1): "batch_first", (W, N, 1): "every_step"}.get(shape)
        if key is None and len(shape) == 2 and shape[0] == N:
            key = "no_linear"
        elif key is None and len(shape) == 3 and shape[1:] == (N, 1):
            key = "h_n"
        if key is not None:
            raise _named(FORECASTER_MISTAKES[key])
        raise GradingError(f"Forecaster: expected an output of shape (N, 1) = {(N, 1)} for "
                           f"windows of shape (W, N, 1) = {(W, N, 1)}, got {shape}")  # fmt: skip
    nudged = x.clone()
    nudged[-1] += 1.0  # the newest value of every window
    if torch.equal(model(nudged), out):
        raise _named(FORECASTER_MISTAKES["first_step"])


def held_out_errors(model: nn.Module, hidden: bool = False) -> tuple[float, float, float]:
    """MSE of the model, of repeating the last value, of the window mean, on held-out data.

    The series are normal (no anomalies) and drawn with seeds no training here uses.
    """
    seed, N = HELD_OUT[hidden]
    series = seasonal_series(400, seed=seed, batch_size=N).values  # (L, N)
    x, y = make_windows(series, WINDOW)  # (W, B, 1), (B, 1)
    like = next(model.parameters())
    with torch.no_grad():
        forecast = model(x.to(like)).to(y)
    mse = lambda guess: torch.mean((guess - y) ** 2).item()  # noqa: E731
    return mse(forecast), mse(x[-1]), mse(x.mean(dim=0))


def check_forecaster(model, hidden: bool = False) -> None:
    """Check a trained forecaster: an nn.Module with an LSTM, (W, N, 1) -> (N, 1), accurate."""
    if isinstance(model, type):
        raise GradingError(f"Forecaster: expected your trained model, an instance, got the "
                           f"class {model.__name__} itself")  # fmt: skip
    if not isinstance(model, nn.Module) or next(model.parameters(), None) is None:
        raise GradingError(f"Forecaster: expected a torch.nn.Module with parameters, "
                           f"got {type(model).__name__}")  # fmt: skip
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            _probe(model, hidden)
        mse, last, mean = held_out_errors(model, hidden)
    finally:
        model.train(was_training)
    if not mse < MSE_RATIO * min(last, mean):
        raise GradingError(
            f"Forecaster: held-out MSE {mse:.4f} is not below {MSE_RATIO} × {last:.4f}, the "
            f"MSE of repeating each window's last value.\n  Hint: is it trained (the "
            f"training cell ran after your last change)? Does forward read output[-1]?"
        )
    print(f"✓ Forecaster: held-out MSE {mse:.4f}, against {last:.4f} for repeating the "
          f"last value and {mean:.4f} for the window mean")  # fmt: skip


# ---------------------------------------------------------------- 2. anomaly threshold


def anomaly_threshold_reference(residuals: np.ndarray, k: float):
    """μ_n = mean over t of r[t, n], threshold_n = k·σ_n (population std, ddof=0)."""
    return residuals.mean(axis=0), k * residuals.std(axis=0)  # (N,), (N,)


def flag_anomalies_reference(residuals, mean, threshold) -> np.ndarray:
    """True where |r[t, n] - μ_n| > threshold_n, strictly."""
    return np.abs(residuals - mean) > threshold  # (L, N) bool


ANOMALY_THRESHOLD = Check(
    name="anomaly_threshold",
    reference=anomaly_threshold_reference,
    output_names=["mean", "threshold"],
    mistakes=[
        Mistake("the statistics are taken over the series axis (axis=1) instead of over "
                "time (axis=0)", "residuals is (L, N): reduce over axis=0 to get one value "
                "per series, shape (N,).", lambda r, k: (r.mean(axis=1), k * r.std(axis=1))),
        Mistake("one mean and threshold for all the series (no axis)", "give mean and std "
                "axis=0: one value per series, shape (N,).", lambda r, k: (r.mean(), k * r.std())),
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
    ],
)  # fmt: skip


class _Mask:
    """Call ``flag_anomalies`` and insist on a boolean array."""

    def __init__(self, student):
        self.student = student

    def __call__(self, residuals, mean, threshold):
        flags = np.asarray(self.student(residuals, mean, threshold))
        if flags.dtype != np.bool_:
            raise GradingError(f"flag_anomalies: expected a boolean mask, got dtype "
                               f"{flags.dtype}; a comparison such as a > b gives one")  # fmt: skip
        return flags


FLAG_ANOMALIES = Check(
    name="flag_anomalies",
    reference=flag_anomalies_reference,
    output_names=["flags"],
    mistakes=[
        Mistake("no absolute value: only residuals above the mean are flagged", "a forecast "
                "can miss either way: compare |r - μ| with the threshold.",
                lambda r, m, t: r - m > t),
        Mistake("the mean is not subtracted (|r| > threshold)", "compare |r - μ|, the "
                "distance from the residuals' usual level.", lambda r, m, t: np.abs(r) > t),
        Mistake("≥ instead of >: a residual exactly at the threshold is flagged",
                "flag strictly beyond the threshold: >, not >=.",
                lambda r, m, t: np.abs(r - m) >= t),
        Mistake("the mask is inverted: True marks the normal steps", "True should mark the "
                "anomalies, where |r - μ| > threshold.", lambda r, m, t: np.abs(r - m) <= t),
    ],
)  # fmt: skip

# (label, L, N, k): several series of different scales; a single series; few steps
RESIDUAL_SHAPES = {
    False: [("typical", 60, 3, 3.0), ("one series", 40, 1, 5.0), ("many series", 20, 8, 2.5)],
    True: [("other sizes", 50, 4, 4.0), ("short", 5, 2, 1.5), ("wide", 30, 12, 3.0)],
}


def _residual_cases(make, hidden: bool) -> list[Case]:
    """One case per shape × dtype; ``make(rng, L, N, k)`` -> float64 arguments."""
    cases = []
    for index, (label, L, N, k) in enumerate(RESIDUAL_SHAPES[hidden]):
        arrays, extra = make(np.random.default_rng(index + (1000 if hidden else 0)), L, N, k)
        for dtype in DTYPES:
            args = (*(a.astype(dtype) for a in arrays), *extra)
            text = f"{label} (L={L}, N={N}), {np.dtype(dtype).name}"
            cases.append(Case(text, args, np.dtype(dtype)))
    return cases


def _residuals(rng, L, N, k):
    """Residuals with a different offset and scale per series, and a few outliers."""
    r = rng.normal(size=(L, N)) * rng.uniform(0.05, 0.5, size=N) + rng.normal(size=N) * 0.1
    r += 3.0 * (rng.random((L, N)) < 0.05) * rng.choice([-1.0, 1.0], size=(L, N))
    return (r,), (k,)


def _flag_arguments(rng, L, N, k):
    """Residuals around dyadic means and thresholds, with some exactly on the edge."""
    mean = rng.integers(-8, 9, size=N) / 64  # exact in float32: edges stay exact
    threshold = rng.integers(8, 64, size=N) / 64
    r = mean + rng.normal(size=(L, N)) * threshold
    r[0], r[-1] = mean + threshold, mean - threshold  # ties: not flagged
    return (r, mean, threshold), ()


def check_anomaly_threshold(anomaly_threshold, hidden: bool = False) -> None:
    """Check ``anomaly_threshold(residuals, k) -> (mean, threshold)``, both (N,)."""
    run_check(ANOMALY_THRESHOLD, anomaly_threshold, _residual_cases(_residuals, hidden))


def check_flag_anomalies(flag_anomalies, hidden: bool = False) -> None:
    """Check ``flag_anomalies(residuals, mean, threshold) -> (L, N) bool``."""
    if not callable(flag_anomalies):
        raise GradingError(
            f"flag_anomalies: expected a function, got {type(flag_anomalies).__name__}"
        )
    run_check(FLAG_ANOMALIES, _Mask(flag_anomalies), _residual_cases(_flag_arguments, hidden))
