"""Chapter 6's checks: correct code written differently passes, each known mistake is
named, and an untrained forecaster is told apart from a trained one."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lstm_ref.grading import GradingError
from lstm_ref.grading.using_lstms import (
    ANOMALY_THRESHOLD,
    FLAG_ANOMALIES,
    FORECASTER_MISTAKES,
    WINDOW,
    check_anomaly_threshold,
    check_flag_anomalies,
    check_forecaster,
    held_out_errors,
)
from lstm_ref.nn import LSTM as RefLSTM
from lstm_ref.tasks import make_windows, seasonal_series
from lstm_ref.train import train


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A small model: one thread is faster, and steady on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- Forecaster


class LastStateForecaster(nn.Module):
    """Correct: reads the forecast from h_n[-1] instead of output[-1]."""

    def __init__(self, hidden_size=16, layer=nn.LSTM):
        super().__init__()
        self.lstm = layer(1, hidden_size)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.out(h_n[-1])


class BatchFirstForecaster(nn.Module):
    """Correct: a batch_first LSTM, with the time-major windows transposed for it."""

    def __init__(self, hidden_size=16):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, _ = self.lstm(x.transpose(0, 1))  # (N, W, H)
        return self.out(output[:, -1])


@pytest.fixture(scope="module")
def trained(one_thread):
    """LastStateForecaster trained briefly, as the notebook does (fewer steps)."""
    series = seasonal_series(1000, seed=0, batch_size=8).values
    inputs, targets = make_windows(series, WINDOW)

    def make_batch(step):
        chosen = torch.randint(
            0, len(targets), (64,), generator=torch.Generator().manual_seed(step)
        )
        return inputs[:, chosen], targets[chosen]

    torch.manual_seed(0)
    model = LastStateForecaster()
    train(model, make_batch, F.mse_loss, steps=100, lr=1e-2, progress=False)
    return model


@pytest.mark.parametrize("hidden", [False, True])
def test_trained_forecaster_passes(trained, hidden, capsys):
    trained.train()
    check_forecaster(trained, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ Forecaster: held-out MSE") and out.err == ""
    assert trained.training  # the check restored the mode


@pytest.mark.parametrize("make", [BatchFirstForecaster, lambda: LastStateForecaster(layer=RefLSTM)])
def test_the_same_forecaster_written_differently_passes(trained, make):
    model = make()
    model.load_state_dict(trained.state_dict())  # the same weights, another layout or LSTM
    check_forecaster(model)


def test_held_out_baselines_are_what_they_say():
    seed_series = seasonal_series(400, seed=10**6, batch_size=4).values
    x, y = make_windows(seed_series, WINDOW)

    class Last(nn.Module):
        def __init__(self):
            super().__init__()
            self.unused = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x[-1]

    mse, last, mean = held_out_errors(Last())
    assert mse == last == pytest.approx(F.mse_loss(x[-1], y).item())
    assert mean == pytest.approx(F.mse_loss(x.mean(0), y).item())
    assert mean > last  # the window mean spans a whole day: a poor forecast


@pytest.mark.parametrize("key", FORECASTER_MISTAKES)
def test_each_forecaster_mistake_is_named(key):
    mistake = FORECASTER_MISTAKES[key]
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_forecaster(mistake.fn())


def test_untrained_forecaster_fails_on_accuracy():
    torch.manual_seed(0)
    with pytest.raises(GradingError, match=r"held-out MSE .* is not below 0.6 ×"):
        check_forecaster(LastStateForecaster())


def test_forecaster_misuse_is_explained():
    with pytest.raises(GradingError, match="got the class LastStateForecaster itself"):
        check_forecaster(LastStateForecaster)
    with pytest.raises(GradingError, match="expected a torch.nn.Module"):
        check_forecaster(lambda x: x[-1])

    class Wrong(LastStateForecaster):
        def forward(self, x):
            return super().forward(x.expand(-1, -1, 2))  # two features per step

    with pytest.raises(GradingError, match=r"(?s)raised RuntimeError.*\(W, N, 1\) = \(24, 5, 1\)"):
        check_forecaster(Wrong())


# ---------------------------------------------------------------- anomaly_threshold


def threshold_by_loop(residuals, k):
    """Correct: one series at a time, the standard deviation written out."""
    L, N = residuals.shape
    mean, threshold = np.empty(N, residuals.dtype), np.empty(N, residuals.dtype)
    for n in range(N):
        column = residuals[:, n]
        mean[n] = column.sum() / L
        threshold[n] = k * np.sqrt(((column - mean[n]) ** 2).sum() / L)
    return mean, threshold


def threshold_with_torch(residuals, k):
    """Correct: torch's statistics, with the population variance asked for."""
    r = torch.from_numpy(residuals)
    return r.mean(dim=0).numpy(), (k * r.std(dim=0, correction=0)).numpy()


@pytest.mark.parametrize("student", [threshold_by_loop, threshold_with_torch])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_thresholds_pass(student, hidden, capsys):
    check_anomaly_threshold(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ anomaly_threshold") and out.err == ""


@pytest.mark.parametrize("mistake", ANOMALY_THRESHOLD.mistakes, ids=lambda m: m.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_each_threshold_mistake_is_named(mistake, hidden):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_anomaly_threshold(mistake.fn, hidden=hidden)


# ---------------------------------------------------------------- flag_anomalies


def flags_by_band(residuals, mean, threshold):
    """Correct: outside the band (mean - threshold, mean + threshold), no absolute value."""
    return (residuals > mean + threshold) | (residuals < mean - threshold)


def flags_by_loop(residuals, mean, threshold):
    """Correct: a plain loop over every step and series."""
    L, N = residuals.shape
    flags = np.zeros((L, N), dtype=bool)
    for t in range(L):
        for n in range(N):
            flags[t, n] = abs(residuals[t, n] - mean[n]) > threshold[n]
    return flags


@pytest.mark.parametrize("student", [flags_by_band, flags_by_loop])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_flags_pass(student, hidden, capsys):
    check_flag_anomalies(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ flag_anomalies") and out.err == ""


@pytest.mark.parametrize("mistake", FLAG_ANOMALIES.mistakes, ids=lambda m: m.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_each_flag_mistake_is_named(mistake, hidden):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_flag_anomalies(mistake.fn, hidden=hidden)


def test_a_float_mask_is_refused():
    with pytest.raises(GradingError, match="expected a boolean mask, got dtype float"):
        check_flag_anomalies(lambda r, m, t: (np.abs(r - m) > t).astype(r.dtype))
