"""Chapter 7's checks: correct code written differently passes, each known mistake is
named, an untrained forecaster is told apart from a trained one, and the forecaster is
judged from its recorded forecasts alone."""

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
from lstm_ref.grading.using_lstms.forecaster import held_out_cases
from lstm_ref.nn import LSTM as RefLSTM
from lstm_ref.tasks import make_windows, seasonal_series
from lstm_ref.train import train
from tests.support.grading import Bug, trusted_verdict, unguarded, verdict

# ---------------------------------------------------------------- forecasters, correct


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


class CellLoopForecaster(nn.Module):
    """Correct: an nn.LSTMCell stepped through the window in a Python loop."""

    def __init__(self, hidden_size=16):
        super().__init__()
        self.cell = nn.LSTMCell(1, hidden_size)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        h = x.new_zeros(x.shape[1], self.cell.hidden_size)
        c = torch.zeros_like(h)
        for x_t in x:
            h, c = self.cell(x_t, (h, c))
        print("forecasting", x.shape[1], "windows")  # students print; the check ignores it
        return self.out(h)


def _trained(steps=100):
    """LastStateForecaster trained briefly, as the notebook does (fewer steps)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        series = seasonal_series(1000, seed=0, batch_size=8).values
        inputs, targets = make_windows(series, WINDOW)

        def make_batch(step):
            g = torch.Generator().manual_seed(step)
            chosen = torch.randint(0, len(targets), (64,), generator=g)
            return inputs[:, chosen], targets[chosen]

        torch.manual_seed(0)
        model = LastStateForecaster()
        train(model, make_batch, F.mse_loss, steps=steps, lr=1e-2, progress=False)
        return model
    finally:
        torch.set_num_threads(threads)


TRAINED = _trained()


def _copy(model, weights=TRAINED):
    model.load_state_dict(weights.state_dict())  # the same weights, another layout or LSTM
    return model


def _cell_copy():
    model = CellLoopForecaster()
    lstm = TRAINED.lstm
    with torch.no_grad():
        for mine, theirs in [("weight_ih", "weight_ih_l0"), ("weight_hh", "weight_hh_l0"),
                             ("bias_ih", "bias_ih_l0"), ("bias_hh", "bias_hh_l0")]:  # fmt: skip
            getattr(model.cell, mine).copy_(getattr(lstm, theirs))
        model.out.load_state_dict(TRAINED.out.state_dict())
    return model


def _named(model, name=None):
    """A readable test id for a model instance (corpus ids read ``__name__``)."""
    model.__name__ = name or type(model).__name__
    return model


FORECASTERS = [_named(TRAINED), _named(_copy(BatchFirstForecaster())),
               _named(_copy(LastStateForecaster(layer=RefLSTM)).double(), "RefLSTMFloat64"),
               _named(_cell_copy())]

# ---------------------------------------------------------------- forecasters, buggy


class _Base(nn.Module):
    def __init__(self, hidden_size=16, **lstm):
        super().__init__()
        torch.manual_seed(1)
        self.lstm = nn.LSTM(1, hidden_size, **lstm)
        self.out = nn.Linear(hidden_size, 1)


class EveryStep(_Base):
    def forward(self, x):
        output, _ = self.lstm(x)
        return self.out(output)


class NoLinear(_Base):
    def forward(self, x):
        output, _ = self.lstm(x)
        return output[-1]


class AllLayers(_Base):
    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.out(h_n)


class FirstStep(_Base):
    def forward(self, x):
        output, _ = self.lstm(x)
        return self.out(output[0])


class BatchFirstLastColumn(_Base):
    def __init__(self):
        super().__init__(batch_first=True)

    def forward(self, x):
        output, _ = self.lstm(x)  # time-major windows, read as (N, W, 1)
        return self.out(output[:, -1])


class BatchFirstLastRow(_Base):
    def __init__(self):
        super().__init__(batch_first=True)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.out(output[-1])


class TransposedForTimeMajor(_Base):
    def forward(self, x):
        output, _ = self.lstm(x.permute(1, 0, 2))  # (N, W, 1) into a time-major LSTM
        return self.out(output[:, -1])


class Squeezed(_Base):
    def forward(self, x):
        output, _ = self.lstm(x)
        return self.out(output[-1]).squeeze(-1)


class ReturnsState(_Base):
    def forward(self, x):
        output, state = self.lstm(x)
        return self.out(output[-1]), state


class MLP(nn.Module):
    def __init__(self, hidden_size=16):
        super().__init__()
        self.hidden = nn.Linear(WINDOW, hidden_size)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x[..., 0].T)))


FORECASTER_BUGS = [
    Bug(_named(EveryStep()), "a forecast for every step"),
    Bug(_named(NoLinear()), "no final linear layer"),
    Bug(_named(AllLayers()), "without picking the last layer"),
    Bug(_named(FirstStep()), "first time step"),
    Bug(_named(BatchFirstLastColumn()), "read batch-first"),
    Bug(_named(BatchFirstLastRow()), "read batch-first"),
    Bug(_named(TransposedForTimeMajor()), "read batch-first"),
    Bug(_named(Squeezed()), "squeezed"),
    Bug(_named(ReturnsState()), "should return the forecast, a tensor"),
    Bug(_named(MLP()), "no LSTM inside"),
]

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


def threshold_keepdims(residuals, k):
    """Correct: statistics kept as (1, N) rows, then flattened."""
    mu = np.mean(residuals, axis=0, keepdims=True)
    sigma = np.sqrt(np.mean((residuals - mu) ** 2, axis=0, keepdims=True))
    return mu.ravel(), (k * sigma).ravel()


def threshold_axis1(residuals, k):
    return residuals.mean(axis=1), k * residuals.std(axis=1)


def threshold_no_axis(residuals, k):
    return np.mean(residuals), k * np.std(residuals)


def threshold_no_axis_full(residuals, k):
    N = residuals.shape[1]
    return np.full(N, residuals.mean(), residuals.dtype), np.full(N, k * residuals.std(),
                                                                  residuals.dtype)  # fmt: skip


def threshold_torch_default(residuals, k):
    r = torch.from_numpy(residuals)
    return r.mean(0).numpy(), (k * r.std(0)).numpy()  # torch's std: ddof=1


def threshold_variance(residuals, k):
    return residuals.mean(axis=0), k * residuals.var(axis=0)


def threshold_with_mean(residuals, k):
    mu = residuals.mean(axis=0)
    return mu, mu + k * residuals.std(axis=0)


def threshold_of_abs(residuals, k):
    r = np.abs(residuals)
    return r.mean(axis=0), k * r.std(axis=0)


def threshold_float64(residuals, k):
    N = residuals.shape[1]
    mean, threshold = np.zeros(N), np.zeros(N)
    for n in range(N):
        mean[n] = residuals[:, n].mean()
        threshold[n] = k * residuals[:, n].std()
    return mean, threshold


def threshold_float64_k(residuals, k):
    return residuals.mean(axis=0), np.float64(k) * residuals.std(axis=0)


def threshold_swapped(residuals, k):
    return k * residuals.std(axis=0), residuals.mean(axis=0)


def threshold_without_k(residuals, k):
    return residuals.mean(axis=0), residuals.std(axis=0)


def threshold_rms(residuals, k):
    return residuals.mean(axis=0), k * np.sqrt(np.mean(residuals**2, axis=0))


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


def flags_not_within(residuals, mean, threshold):
    """Correct: the complement of 'within the threshold'."""
    return ~(np.abs(residuals - mean[None, :]) <= threshold[None, :])


def flags_no_abs(residuals, mean, threshold):
    return (residuals - mean) > threshold


def flags_no_mean(residuals, mean, threshold):
    return np.abs(residuals) > threshold


def flags_abs_first(residuals, mean, threshold):
    return np.abs(residuals) - mean > threshold


def flags_ge(residuals, mean, threshold):
    return np.abs(residuals - mean) >= threshold


def flags_inverted(residuals, mean, threshold):
    return np.abs(residuals - mean) <= threshold


def flags_ints(residuals, mean, threshold):
    return np.where(np.abs(residuals - mean) > threshold, 1, 0)


def flags_float_loop(residuals, mean, threshold):
    flags = np.zeros(residuals.shape)
    for t in range(residuals.shape[0]):
        flags[t] = np.abs(residuals[t] - mean) > threshold
    return flags


CORRECT = {
    check_forecaster: FORECASTERS,
    check_anomaly_threshold: [threshold_by_loop, threshold_with_torch, threshold_keepdims],
    check_flag_anomalies: [flags_by_band, flags_by_loop, flags_not_within],
}
BUGS = {
    check_forecaster: FORECASTER_BUGS,
    check_anomaly_threshold: [
        Bug(threshold_axis1, "over the series axis"),
        Bug(threshold_no_axis, "for all the series"),
        Bug(threshold_no_axis_full, "for all the series"),
        Bug(threshold_torch_default, "ddof=1"),
        Bug(threshold_variance, "the variance instead"),
        Bug(threshold_with_mean, "includes the mean"),
        Bug(threshold_of_abs, "of |r| instead of r"),
        Bug(threshold_float64, "dtype"),
        Bug(threshold_float64_k, "dtype"),
        Bug(threshold_swapped, "in each other's place"),
        Bug(threshold_without_k, "k is left out"),
        Bug(threshold_rms, "root mean square"),
    ],
    check_flag_anomalies: [
        Bug(flags_no_abs, "no absolute value"),
        Bug(flags_no_mean, "the mean is not subtracted"),
        Bug(flags_abs_first, "before the mean is subtracted"),
        Bug(flags_ge, "≥ instead of >"),
        Bug(flags_inverted, "inverted"),
        Bug(flags_ints, "0/1 numbers"),
        Bug(flags_float_loop, "0/1 numbers"),
    ],
}


# ---------------------------------------------------------------- the forecaster's tests


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A small model: one thread is faster, and steady on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("hidden", [False, True])
def test_trained_forecaster_passes(hidden, capsys):
    TRAINED.train()
    check_forecaster(TRAINED, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ Forecaster: held-out MSE") and out.err == ""
    assert TRAINED.training  # the check restored the mode


@pytest.mark.parametrize("model", FORECASTERS[1:], ids=lambda m: type(m).__name__)
def test_the_same_forecaster_written_differently_passes(model):
    check_forecaster(model, hidden=True)


def test_held_out_baselines_are_what_they_say():
    case = held_out_cases(False)[0]
    x, y = make_windows(seasonal_series(400, seed=10**6, batch_size=4).values, WINDOW)
    assert torch.equal(case.args[0], x) and torch.equal(case.args[1], y)
    mse, last, mean = held_out_errors(case, x[-1].numpy())
    assert mse == last == pytest.approx(F.mse_loss(x[-1], y).item())
    assert mean == pytest.approx(F.mse_loss(x.mean(0), y).item())
    assert mean > last  # the window mean spans a whole day: a poor forecast


@pytest.mark.parametrize("bug", FORECASTER_BUGS, ids=lambda b: b.id)
def test_each_forecaster_bug_is_named_with_a_hint(bug):
    result = verdict(check_forecaster, bug.fn)
    assert not result.passed and bug.mistake in result.message
    assert len(result.message.splitlines()) <= 3


@pytest.mark.parametrize("key", [k for k in FORECASTER_MISTAKES if k != "no_lstm"])
def test_every_forecaster_mistake_has_a_bug(key):
    named = {verdict(check_forecaster, bug.fn).mistake for bug in FORECASTER_BUGS}
    assert FORECASTER_MISTAKES[key].name in named


def test_untrained_forecaster_fails_on_accuracy():
    torch.manual_seed(0)
    with pytest.raises(GradingError, match=r"(?s)held-out MSE .* is not below 0.6 ×.*trained"):
        check_forecaster(LastStateForecaster())


def test_forecaster_misuse_is_explained():
    with pytest.raises(GradingError, match="got the class LastStateForecaster itself"):
        check_forecaster(LastStateForecaster)
    with pytest.raises(GradingError, match="a torch.nn.Module with parameters"):
        check_forecaster(lambda x: x[-1])

    class Wrong(LastStateForecaster):
        def forward(self, x):
            return super().forward(x.expand(-1, -1, 2))  # two features per step

    with pytest.raises(GradingError, match=r"(?s)raised RuntimeError.*\(W, N, 1\).*"
                                           r"W=24, N=5"):  # fmt: skip
        check_forecaster(Wrong())


def test_the_kernel_returns_only_forecasts(tmp_path):
    """The runner evaluates the model and returns tensors; the judgement needs no model."""
    outcomes = check_forecaster.run(TRAINED)
    kinds = {value.kind for part in outcomes for o in part for value in o.values}
    assert kinds == {"tensor"}
    assert trusted_verdict(check_forecaster, TRAINED, True, tmp_path).passed
    assert check_forecaster.judge(outcomes).passed  # judged with no model in sight


def test_the_model_may_live_in_another_dtype_and_mode():
    model = _copy(LastStateForecaster()).double().train()
    check_forecaster(model)
    assert model.training and next(model.parameters()).dtype == torch.float64


# ---------------------------------------------------------------- the NumPy exercises


@pytest.mark.parametrize("student", CORRECT[check_anomaly_threshold], ids=lambda f: f.__name__)
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_thresholds_pass(student, hidden, capsys):
    check_anomaly_threshold(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ anomaly_threshold") and "float32" in out.out


@pytest.mark.parametrize("mistake", ANOMALY_THRESHOLD.mistakes, ids=lambda m: m.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_each_threshold_mistake_is_named(mistake, hidden):
    result = verdict(unguarded(check_anomaly_threshold), mistake.fn, hidden)
    assert not result.passed and result.mistake == mistake.name


def test_a_float64_threshold_for_float32_residuals_is_named():
    with pytest.raises(GradingError, match=r"(?s)not in the inputs' dtype.*float32"):
        check_anomaly_threshold(threshold_float64)


@pytest.mark.parametrize("student", CORRECT[check_flag_anomalies], ids=lambda f: f.__name__)
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_flags_pass(student, hidden, capsys):
    check_flag_anomalies(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ flag_anomalies") and out.err == ""


@pytest.mark.parametrize("mistake", FLAG_ANOMALIES.mistakes, ids=lambda m: m.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_each_flag_mistake_is_named(mistake, hidden):
    result = verdict(unguarded(check_flag_anomalies), mistake.fn, hidden)
    assert not result.passed and result.mistake == mistake.name


@pytest.mark.parametrize("cast", [int, np.float32, np.float64, np.uint8])
def test_a_numeric_mask_is_named(cast):
    with pytest.raises(GradingError, match="0/1 numbers, not booleans"):
        check_flag_anomalies(lambda r, m, t: (np.abs(r - m) > t).astype(cast))


def test_a_wrong_mask_says_where():
    def one_off(r, m, t):
        flags = np.abs(r - m) > t
        flags[1, 0] = ~flags[1, 0]
        return flags

    with pytest.raises(GradingError, match=re.escape("first at index (1, 0)")):
        check_flag_anomalies(one_off)


def test_each_exercise_has_its_own_shape_hint():
    with pytest.raises(GradingError, match=r"(?s)broadcast.*Hint: residuals is \(L, N\) and "
                                           r"mean, threshold are \(N,\)"):  # fmt: skip
        check_flag_anomalies(lambda r, m, t: np.abs(r - m[:, None]) > t[:, None])
    with pytest.raises(GradingError, match=r"Hint: residuals is \(L, N\), time-major"):
        check_anomaly_threshold(lambda r, k: (r.mean(0), k * r.std(0) + np.ones(r.shape[0])))
    for check in (check_forecaster, check_anomaly_threshold, check_flag_anomalies):
        assert all("W_ih" not in part.check.shape_hint for part in check.parts)


def test_a_stub_is_explained():
    def stub(*args):
        raise NotImplementedError()

    for check in (check_anomaly_threshold, check_flag_anomalies):
        with pytest.raises(GradingError, match="still the stub"):
            check(stub)
