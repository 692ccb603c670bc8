"""Forecasting and anomaly detection on a seasonal series, end to end (chapter 7).

A small recurrent forecaster reads a window of W past values and predicts the next
one (:func:`lstm_ref.tasks.make_windows`). On held-out series its residual
r_t = x_t - x̂_t is small where the series behaves and large where it does not, so

    flag step t   when   |r_t - μ| > k·σ,

with μ and σ the mean and standard deviation of the residuals on a validation stretch
known to be normal (the recipe of Malhotra et al. 2015). The flags are scored against
the anomalies the generator injected (:func:`lstm_ref.tasks.seasonal_series`):

    recall      fraction of injected anomalies (runs of the mask) with a flag inside
    precision   fraction of alarms (runs of flags) that overlap an injected anomaly or
                start at most `tolerance` steps after one ends

Shapes: series (L, N), time-major; windows (W, B, 1) with B = N · (L - W).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_ref.experiments.ahead import startable
from lstm_ref.experiments.pool import seeded_runs
from lstm_ref.nn import GRU, LSTM
from lstm_ref.tasks import make_windows, seasonal_series
from lstm_ref.train import History, train

WINDOW = 48
"""W: past values the forecaster reads (two periods of the daily cycle, p = 24)."""
VALIDATION_SEED, TEST_SEED = 10**9 + 1, 10**9 + 2
"""Held-out series, the same for every run: a normal one and one with anomalies."""
TEST_ANOMALY_RATE = 0.01


class Forecaster(nn.Module):
    """An LSTM or GRU from lstm_ref.nn and a linear read-out of its last output.

    forward(x (W, N, 1)) -> x̂ (N, 1), the forecast of the value after the window.
    """

    def __init__(self, cell: str = "lstm", hidden_size: int = 32):
        super().__init__()
        layers = {"lstm": LSTM, "gru": GRU}
        if cell not in layers:
            raise ValueError(f"expected cell 'lstm' or 'gru', got {cell!r}")
        self.rnn = layers[cell](1, hidden_size)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        output, _ = self.rnn(x)  # (W, N, H)
        return self.out(output[-1])  # (N, 1)


def train_forecaster(
    cell: str = "lstm",
    *,
    seed: int = 0,
    train_anomaly_rate: float = 0.01,
    steps: int = 300,
    batch_size: int = 128,
    hidden_size: int = 32,
) -> tuple[Forecaster, History]:
    """Train on 8 series of 1000 steps drawn with `seed`, anomalies left in, unlabelled.

    Each step draws `batch_size` random windows; the loss is the squared error.
    Returns the model, in eval mode, and its History.
    """
    series = seasonal_series(1000, seed=seed, batch_size=8, anomaly_rate=train_anomaly_rate)
    inputs, targets = make_windows(series.values, WINDOW)  # (W, B, 1), (B, 1)

    def make_batch(step: int):
        g = torch.Generator().manual_seed(seed * 100_000 + step)
        chosen = torch.randint(0, targets.shape[0], (batch_size,), generator=g)
        return inputs[:, chosen], targets[chosen]

    torch.manual_seed(seed)
    model = Forecaster(cell, hidden_size)
    history = train(model, make_batch, F.mse_loss, steps=steps, lr=3e-3, seed=seed, progress=False)
    return model.eval(), history


@torch.no_grad()
def forecast(model: Forecaster, values: Tensor) -> Tensor:
    """One-step forecasts x̂ (L, N) of every step t >= W from x_{t-W} … x_{t-1}; NaN before."""
    L, N = values.shape
    inputs, _ = make_windows(values, WINDOW)  # window b = s·N + n forecasts step s + W
    result = torch.full((L, N), float("nan"))
    result[WINDOW:] = model.eval()(inputs).reshape(L - WINDOW, N)
    return result


def validation_residuals(model: Forecaster) -> Tensor:
    """Residuals r_t = x_t - x̂_t on 4 normal held-out series of 1000 steps, (L - W, 4)."""
    normal = seasonal_series(1000, seed=VALIDATION_SEED, batch_size=4).values
    return (normal - forecast(model, normal))[WINDOW:]


def persistence_residuals() -> Tensor:
    """Residuals of the naive forecast x̂_t = x_{t-1} on the same validation series."""
    normal = seasonal_series(1000, seed=VALIDATION_SEED, batch_size=4).values
    return (normal[1:] - normal[:-1])[WINDOW - 1 :]


def runs(mask: Tensor) -> list[tuple[int, int]]:
    """Maximal runs of True in a 1-d bool tensor, as (first, last) step pairs."""
    edges = torch.diff(mask.int(), prepend=torch.zeros(1), append=torch.zeros(1))
    starts = (edges == 1).nonzero().flatten().tolist()
    ends = (edges == -1).nonzero().flatten().tolist()
    return [(s, e - 1) for s, e in zip(starts, ends)]


@dataclass
class Detection:
    """What the detector did on the test series, and how it scored."""

    values: Tensor  # (L, N) the test series, anomalies included
    anomalies: Tensor  # (L, N) bool, the injected mask
    forecast: Tensor  # (L, N) x̂, NaN for t < W
    flags: Tensor  # (L, N) bool
    threshold: float  # k·σ
    mean: float  # μ
    tolerance: int  # steps of grace after an anomaly for an alarm to count as true
    recall: float
    precision: float
    events: int  # injected anomalies (runs of the mask) after step W
    alarms: int  # runs of flags
    false_alarms: int  # alarms that neither overlap nor just follow an anomaly
    false_alarms_in_window: int  # false alarms while an anomaly is in the input window


def detect_anomalies(model: Forecaster, *, k: float = 5.0, tolerance: int = 2) -> Detection:
    """Fit μ, σ on validation residuals, flag the test series, score against its mask."""
    normal = validation_residuals(model)
    mean, std = normal.mean().item(), normal.std().item()
    test = seasonal_series(2000, seed=TEST_SEED, batch_size=4, anomaly_rate=TEST_ANOMALY_RATE)
    predicted = forecast(model, test.values)
    flags = (test.values - predicted - mean).abs() > k * std  # NaN (t < W) gives False
    anomalies = test.anomalies.clone()
    anomalies[:WINDOW] = False  # nothing is forecast there
    found = hit = true_alarms = alarms = in_window = 0
    for n in range(anomalies.shape[1]):
        events = runs(anomalies[:, n])
        found += sum(bool(flags[s : e + 1, n].any()) for s, e in events)
        hit += len(events)
        for start, end in runs(flags[:, n]):
            alarms += 1
            if any(start <= e + tolerance and end >= s for s, e in events):
                true_alarms += 1
            else:  # is an anomaly among the W values the forecaster just read?
                in_window += any(s < start <= e + WINDOW for s, e in events)
    return Detection(
        test.values, anomalies, predicted, flags, k * std, mean, tolerance,
        recall=found / max(hit, 1), precision=true_alarms / max(alarms, 1),
        events=hit, alarms=alarms, false_alarms=alarms - true_alarms,
        false_alarms_in_window=in_window,
    )  # fmt: skip


def alarms_per_shift(detection: Detection, shift_length: int = 10) -> list[int]:
    """For each injected anomaly of at least `shift_length` steps (a level shift), the
    number of alarms that overlap it or start within the tolerance after it."""
    counts = []
    for n in range(detection.anomalies.shape[1]):
        alarms = runs(detection.flags[:, n])
        for s, e in runs(detection.anomalies[:, n]):
            if e - s + 1 >= shift_length:
                near = [a for a, b in alarms if a <= e + detection.tolerance and b >= s]
                counts.append(len(near))
    return counts


FORECASTERS = {
    "LSTM": ("lstm", 0.01),
    "LSTM, clean training data": ("lstm", 0.0),
    "GRU": ("gru", 0.01),
}
"""The chapter's forecasters: name -> (cell, anomaly rate of the training series)."""


@dataclass
class ForecastRun:
    """One trained forecaster and what it measured."""

    model: Forecaster
    history: History
    validation_std: float  # std of r_t on the normal validation series
    detection: Detection


def forecaster_run(name: str, seed: int) -> ForecastRun:
    """Train forecaster `name` of FORECASTERS from `seed`; detect with k = 5."""
    cell, rate = FORECASTERS[name]
    model, history = train_forecaster(cell, seed=seed, train_anomaly_rate=rate)
    std = validation_residuals(model).std().item()
    return ForecastRun(model, history, std, detect_anomalies(model))


@startable
def forecaster_runs(
    names: tuple[str, ...] = tuple(FORECASTERS),
    seeds: tuple[int, ...] = (0, 1),
    *,
    workers: int | None = None,
) -> dict[tuple[str, int], ForecastRun]:
    """:func:`forecaster_run` for every name and seed, spread over `workers` processes
    (:func:`lstm_ref.experiments.pool.seeded_runs`; the time taken changes, not a result).

    Raises:
        ValueError: a name not in FORECASTERS.
    """
    return seeded_runs(forecaster_run, names, seeds, known=FORECASTERS, workers=workers)
