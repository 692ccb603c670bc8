"""The claims of chapter 1 (book/01_rnn_limits.md), measured again with the same seeds.

The chapter prints bounds computed from its own run; these tests hold the same runs to
the fixed, qualitative thresholds the prose stands for ("vanishes", "explodes", "at
chance", "recalls the token"), with a margin, so that a change to `lstm_ref` or to an
experiment that breaks a sentence of the chapter fails here.
"""

import math

import pytest
import torch

from lstm_ref.experiments import memory
from lstm_ref.experiments.gradients import (
    CURVE_LENGTH,
    RNN_RADII,
    geometric_mean,
    lag_curves,
    relative,
    rnn_factory,
)
from lstm_ref.experiments.memory import RECALL_MODELS, SEEDS, clipped_fraction, recall_sweeps
from lstm_ref.experiments.models import spectral_radius
from lstm_ref.nn import RNN

pytestmark = pytest.mark.slow

RNN_SPEC, LSTM_OPEN, LSTM_DEFAULT = RECALL_MODELS
SHORT_LAG, LONG_LAG = memory.RECALL_LAGS[0], memory.RECALL_LAGS[-1]
CHANCE = 1 / memory.VOCAB_SIZE


@pytest.fixture(scope="module")
def curves() -> dict[float, torch.Tensor]:
    """The chapter's gradient curves: (seeds, lags) per spectral radius."""
    return {
        rho: relative(lag_curves(rnn_factory(rho), seeds=SEEDS, seq_len=CURVE_LENGTH))
        for rho in RNN_RADII
    }


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], list[memory.Run]]:
    """recall_run at the shortest and the longest lag, for every model and seed."""
    lags = (SHORT_LAG, LONG_LAG)
    sweeps = recall_sweeps(RECALL_MODELS, lags=lags, seeds=SEEDS)  # [label][seed][lag]
    return {
        (label, lag): [per_seed[k] for per_seed in sweep]
        for label, sweep in sweeps.items()
        for k, lag in enumerate(lags)
    }


def test_the_layer_computes_the_recurrence():
    """ "The layer in lstm_ref.nn computes exactly this loop"."""
    torch.manual_seed(0)
    rnn = RNN(input_size=3, hidden_size=4)
    x = torch.randn(6, 2, 3)
    output, _ = rnn(x)
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0
    h = torch.zeros(2, 4)
    for t in range(6):
        h = torch.tanh(x[t] @ rnn.weight_ih_l0.T + h @ rnn.weight_hh_l0.T + b)
        torch.testing.assert_close(h, output[t])


def test_radius_half_vanishes_within_25_steps(curves):
    assert curves[0.5][:, 25].max() < 1e-6


def test_radius_0_9_vanishes_faster_than_its_power(curves):
    """Below 0.9^50 at lag 50 (tanh' < 1 shrinks further), tiny at lag 100."""
    assert curves[0.9][:, 50].max() < 0.5 * 0.9**50
    assert curves[0.9][:, 100].max() < 1e-5


def test_radius_1_5_grows_but_far_slower_than_its_power(curves):
    at_100 = curves[1.5][:, 100]
    assert at_100.min() > 2.0  # grows in every seed
    assert at_100.max() < 1e-6 * 1.5**100  # saturation holds it far below ρ^k


def test_radius_2_5_explodes(curves):
    assert curves[2.5][:, 50].min() > 100


def test_curves_are_close_to_straight_lines_on_a_log_scale(curves):
    """ "Every curve is close to a straight line on the log scale": R² of a line fit."""
    lags = torch.arange(CURVE_LENGTH, dtype=torch.float64)
    design = torch.stack([lags, torch.ones_like(lags)], dim=1)  # (L, 2)
    for rho in RNN_RADII:
        log_curve = geometric_mean(curves[rho]).log10()  # (L,)
        fit = design @ torch.linalg.lstsq(design, log_curve[:, None]).solution[:, 0]
        r_squared = 1 - (log_curve - fit).var() / log_curve.var()
        assert r_squared > 0.9, (rho, r_squared)


def test_every_curve_starts_at_one(curves):
    for rho in RNN_RADII:
        torch.testing.assert_close(curves[rho][:, 0], torch.ones(len(SEEDS), dtype=torch.float64))


@pytest.mark.parametrize("hidden_size", [32, 64, 128])
def test_default_init_radius_is_near_one_over_root_three(hidden_size):
    for seed in SEEDS:
        torch.manual_seed(seed)
        radius = spectral_radius(RNN(1, hidden_size).weight_hh_l0)
        assert abs(radius - 1 / math.sqrt(3)) < 0.12, (hidden_size, seed, radius)
        assert 0.5 < radius < 0.9  # between the two lowest curves of the figure


def test_models_have_about_the_same_parameter_count():
    def count(spec):
        model = spec.build(memory.VOCAB_SIZE + 1, memory.VOCAB_SIZE)
        return sum(p.numel() for p in model.parameters())

    rnn, lstm = count(RNN_SPEC), count(LSTM_OPEN)
    assert count(LSTM_DEFAULT) == lstm
    assert abs(rnn - lstm) < 0.05 * lstm


def test_every_model_learns_the_short_lag(runs):
    for spec in RECALL_MODELS:
        accuracies = [run.score for run in runs[spec.label, SHORT_LAG]]
        assert min(accuracies) >= 0.95, (spec.label, accuracies)


def test_rnn_is_at_chance_at_the_long_lag_and_its_gradient_stays_small(runs):
    long_runs = runs[RNN_SPEC.label, LONG_LAG]
    assert max(run.score for run in long_runs) <= CHANCE + 0.05
    clip = memory.RECALL_RECIPE.clip_grad_norm
    assert max(max(run.history.grad_norm) for run in long_runs) < clip


def test_default_lstm_is_at_chance_at_the_long_lag(runs):
    assert max(run.score for run in runs[LSTM_DEFAULT.label, LONG_LAG]) <= CHANCE + 0.05


def test_lstm_with_open_forget_gates_recalls_at_the_long_lag(runs):
    long_runs = runs[LSTM_OPEN.label, LONG_LAG]
    assert min(run.score for run in long_runs) >= 0.95
    clip = memory.RECALL_RECIPE.clip_grad_norm
    assert max(max(run.history.grad_norm) for run in long_runs) > 10 * clip
    assert min(clipped_fraction(run, memory.RECALL_RECIPE) for run in long_runs) > 0.5


@pytest.mark.parametrize("input_size, hidden_size", [(3, 4), (1, 1), (9, 68), (32, 7)])
def test_rnn_parameter_formula(input_size, hidden_size):
    """ "a plain RNN layer has H (I + H + 2) parameters", lstm_ref's and torch's."""
    expected = hidden_size * (input_size + hidden_size + 2)
    for layer in (RNN(input_size, hidden_size), torch.nn.RNN(input_size, hidden_size)):
        assert sum(p.numel() for p in layer.parameters()) == expected
