"""Forecasting a real series: an LSTM against classical baselines (chapter 7).

The series is monthly CO₂ at Mauna Loa (:func:`lstm_ref.tasks.real.mauna_loa_co2`),
cut in time order into train, validation (the 72 months 1990–1995) and test (the 72
months 1996–2001). Every model learns its parameters from the training months only,
and every scaling uses training statistics only. Then each forecasts every month of
validation and test

    one step ahead    x̂_t from the actual values up to x_{t-1}
    multi-step        x̂_{T+h}, h = 1 … 72, from the values up to T = December 1995;
                      a model that reads its own output is fed its forecasts

The models: seasonal naive (x̂_t = x_{t-12}), Holt–Winters with additive trend and
season, the airline model SARIMA(0,1,1)(0,1,1)₁₂ (both from statsmodels), and the
course's LSTM forecaster reading a window of W months, either of the scaled levels

    z_t = (x_t - μ) / s                   x̂_t = μ + s·ẑ_t

or of the scaled month-to-month differences

    z_t = (x_t - x_{t-1} - μ) / s         x̂_t = x_{t-1} + μ + s·ẑ_t

with μ, s the mean and standard deviation of the training months' levels or differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from lstm_ref.experiments.ahead import startable
from lstm_ref.experiments.forecasting import Forecaster
from lstm_ref.experiments.pool import seeded_runs
from lstm_ref.tasks import make_windows
from lstm_ref.tasks.real import MonthlySeries, Split, chronological_split, mauna_loa_co2
from lstm_ref.train import History, train

SEASON = 12
"""Months in the seasonal cycle."""
VALIDATION_MONTHS = TEST_MONTHS = 72
WINDOW = 24
"""W: months the LSTM reads (two seasonal cycles)."""
REPRESENTATIONS = ("levels", "differences")
"""What the LSTM reads and predicts: scaled x_t, or scaled x_t - x_{t-1}."""


def rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error, √(mean_t (x̂_t - x_t)²), in the series' units."""
    return float(np.sqrt(np.mean((np.asarray(forecast) - np.asarray(actual)) ** 2)))


def mae(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error, mean_t |x̂_t - x_t|, in the series' units."""
    return float(np.mean(np.abs(np.asarray(forecast) - np.asarray(actual))))


def annual_growth(values: np.ndarray) -> float:
    """Mean rise over a year, mean_t (x_t - x_{t-12}), of a monthly series or forecast."""
    values = np.asarray(values)
    return float(np.mean(values[SEASON:] - values[:-SEASON]))


@cache
def co2_data() -> tuple[MonthlySeries, Split]:
    """The monthly series and its split: the last 72 months test, the 72 before validation."""
    co2 = mauna_loa_co2()
    split = chronological_split(len(co2.values), validation=VALIDATION_MONTHS, test=TEST_MONTHS)
    return co2, split


@dataclass
class Forecasts:
    """One model's forecasts, in ppm, and the parameters it learnt from the training months."""

    validation: np.ndarray  # (72,) validation months, one step ahead
    one_step: np.ndarray  # (72,) test months, one step ahead
    multi_step: np.ndarray  # (72,) test months, 1 … 72 steps after the validation
    parameters: dict[str, float] = field(default_factory=dict)

    def errors(self, actual: np.ndarray) -> dict[str, float]:
        """Test RMSE and MAE of both kinds of forecast against the actual test months."""
        return {
            "one-step RMSE": rmse(self.one_step, actual),
            "one-step MAE": mae(self.one_step, actual),
            "multi-step RMSE": rmse(self.multi_step, actual),
            "multi-step MAE": mae(self.multi_step, actual),
        }


def seasonal_naive(x: np.ndarray, split: Split) -> Forecasts:
    """x̂_t = x_{t-12}; multi-step, the last observed year repeated."""
    T = split.test.start

    def lagged(part: slice) -> np.ndarray:
        return x[part.start - SEASON : part.stop - SEASON]

    repeated = np.resize(x[T - SEASON : T], TEST_MONTHS)  # x̂_{T+h} = x_{T+h-12k}
    return Forecasts(lagged(split.validation), lagged(split.test), repeated)


def holt_winters(x: np.ndarray, split: Split) -> Forecasts:
    """Holt–Winters, additive trend and season, fitted by least squares on the training months.

    Forecasts come from running the fitted smoother, with its parameters and initial
    states held fixed, over the later months: x̂_t then depends on x_0 … x_{t-1} only.
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    options = {"trend": "add", "seasonal": "add", "seasonal_periods": SEASON}
    p = ExponentialSmoothing(x[split.train], **options).fit().params
    smoothing = {k: p[k] for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal")}

    def run(data):
        model = ExponentialSmoothing(
            data, **options, initialization_method="known", initial_level=p["initial_level"],
            initial_trend=p["initial_trend"], initial_seasonal=p["initial_seasons"],
        )  # fmt: skip
        return model.fit(**smoothing, optimized=False)

    one_step = run(x).fittedvalues  # x̂_t from x_0 … x_{t-1}
    multi_step = run(x[: split.test.start]).forecast(TEST_MONTHS)
    parameters = {k: float(v) for k, v in smoothing.items()}
    parameters["trend"] = float(p["initial_trend"])  # b_0, per month
    return Forecasts(one_step[split.validation], one_step[split.test], multi_step, parameters)


def airline_sarima(x: np.ndarray, split: Split) -> Forecasts:
    """SARIMA(0,1,1)(0,1,1)₁₂, Box and Jenkins's airline model, fitted on the training months.

    (1 - B)(1 - B¹²) x_t = (1 + θB)(1 + ΘB¹²) ε_t. The fitted parameters are applied
    unchanged to the longer series: the Kalman filter's x̂_t uses x_0 … x_{t-1} only.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(x[split.train], order=(0, 1, 1), seasonal_order=(0, 1, 1, SEASON))
    fit = model.fit(disp=False)
    one_step = fit.apply(x).fittedvalues
    multi_step = fit.apply(x[: split.test.start]).forecast(TEST_MONTHS)
    parameters = dict(zip(model.param_names, map(float, fit.params)))
    return Forecasts(one_step[split.validation], one_step[split.test], multi_step, parameters)


@cache
def classical_forecasts() -> dict[str, Forecasts]:
    """The three baselines on the CO₂ split: seasonal naive, Holt–Winters, SARIMA."""
    co2, split = co2_data()
    x = co2.values
    return {
        "seasonal naive": seasonal_naive(x, split),
        "Holt–Winters": holt_winters(x, split),
        "SARIMA": airline_sarima(x, split),
    }


@dataclass
class LSTMRun:
    """One LSTM forecaster trained on the CO₂ training months."""

    model: Forecaster
    history: History
    forecasts: Forecasts


def scale(x: np.ndarray, representation: str, train_part: slice) -> tuple[np.ndarray, float, float]:
    """z_t for levels or differences (NaN at t = 0), and μ, s from the training months."""
    if representation not in REPRESENTATIONS:
        raise ValueError(f"expected a representation in {REPRESENTATIONS}, got {representation!r}")
    z = x if representation == "levels" else np.diff(x, prepend=np.nan)  # x_t - x_{t-1}
    mu, s = float(np.nanmean(z[train_part])), float(np.nanstd(z[train_part]))
    return (z - mu) / s, mu, s


def train_lstm(z_train: torch.Tensor, seed: int, steps: int, hidden_size: int):
    """Train a Forecaster on every window of z_train (L,), 64 random windows a step."""
    inputs, targets = make_windows(z_train, WINDOW)  # (W, B, 1), (B, 1)

    def make_batch(step: int):
        g = torch.Generator().manual_seed(seed * 100_000 + step)
        chosen = torch.randint(0, targets.shape[0], (64,), generator=g)
        return inputs[:, chosen], targets[chosen]

    torch.manual_seed(seed)
    model = Forecaster("lstm", hidden_size)
    history = train(model, make_batch, F.mse_loss, steps=steps, lr=3e-3, seed=seed, progress=False)
    return model.eval(), history


@torch.no_grad()
def scaled_forecasts(model: Forecaster, z: torch.Tensor, split: Split):
    """ẑ_t one step ahead for t = V … L-1, and ẑ_{T+h} multi-step, fed back in; (L - V,), (72,)."""
    V, T = split.validation.start, split.test.start
    windows, _ = make_windows(z[V - WINDOW :], WINDOW)  # window b ends at V + b - 1
    one_step = model(windows).squeeze(1)
    recent = z[T - WINDOW : T].tolist()
    for _ in range(TEST_MONTHS):
        recent.append(model(torch.tensor(recent[-WINDOW:]).reshape(WINDOW, 1, 1)).item())
    return one_step.double().numpy(), np.array(recent[WINDOW:])


@cache
def lstm_run(representation: str, seed: int, steps: int = 300, hidden_size: int = 32) -> LSTMRun:
    """Train on windows whose targets are training months, then forecast in ppm."""
    co2, split = co2_data()
    x, V, T = co2.values, split.validation.start, split.test.start
    z, mu, s = scale(x, representation, split.train)
    z = torch.tensor(z, dtype=torch.float32)
    first = 0 if representation == "levels" else 1  # z_0 is NaN for differences
    model, history = train_lstm(z[first : split.train.stop], seed, steps, hidden_size)
    one_step, multi_step = (mu + s * z_hat for z_hat in scaled_forecasts(model, z, split))
    if representation == "differences":  # x̂_t = x_{t-1} + Δ̂_t; x̂_{T+h} = x_{T-1} + Σ Δ̂
        one_step, multi_step = x[V - 1 : -1] + one_step, x[T - 1] + np.cumsum(multi_step)
    n = VALIDATION_MONTHS
    return LSTMRun(model, history, Forecasts(one_step[:n], one_step[n:], multi_step))


@startable
def lstm_runs(
    representations: tuple[str, ...] = REPRESENTATIONS,
    seeds: tuple[int, ...] | dict[str, tuple[int, ...]] = (0, 1, 2),
    *,
    workers: int | None = None,
) -> dict[tuple[str, int], LSTMRun]:
    """:func:`lstm_run` for every representation and seed (or a dict representation ->
    seeds), spread over `workers` processes (:func:`lstm_ref.experiments.pool.seeded_runs`;
    the time taken changes, not a result).

    Raises:
        ValueError: a representation not in REPRESENTATIONS.
    """
    return seeded_runs(lstm_run, representations, seeds, known=REPRESENTATIONS, workers=workers)
