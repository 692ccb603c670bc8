"""The claims of chapter 4 (book/04_gradient_flow.md), measured again with the same seeds.

The chapter prints bounds computed from its own run; these tests hold the same runs to
the fixed, qualitative thresholds the prose stands for, with a margin. The chapter's
Jacobian formula is checked against autograd, and the direct term against the
forget gate computed from the weights.
"""

import dataclasses
import math

import pytest
import torch

from lstm_ref.experiments import backward, language_model, memory, seq2seq, variants
from lstm_ref.experiments.gradients import (
    CURVE_LENGTH,
    FORGET_BIASES,
    forget_bias_curves,
    geometric_mean,
    lag_curves,
    matched_layers,
    relative,
    scaled_lstm_factory,
)
from lstm_ref.experiments.jacobians import cell_state_jacobians, jacobian_norms, step_jacobian
from lstm_ref.experiments.memory import ADDING_MODELS, RECALL_MODELS, SEEDS, adding_run
from lstm_ref.experiments.models import set_forget_bias
from lstm_ref.nn import LSTM
from lstm_ref.nn.functional import lstm_cell
from lstm_ref.tasks import adding_problem

pytestmark = pytest.mark.slow

RNN_SPEC, LSTM_SPEC = ADDING_MODELS


def gates(lstm, x_t, h_prev):
    """i, f, g, o of one step, from the weights (PyTorch's order i, f, g, o)."""
    pre = (
        x_t @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h_prev @ lstm.weight_hh_l0.T + lstm.bias_hh_l0
    )
    i, f, g, o = pre.chunk(4, dim=-1)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def fresh_lstm(seed: int, forget_bias: float, seq_len: int = 20):
    torch.manual_seed(seed)
    lstm = LSTM(1, 32, dtype=torch.float64)
    set_forget_bias(lstm, forget_bias)
    x = torch.randn(seq_len, 1, dtype=torch.float64)  # (L, I)
    return lstm, x


@pytest.fixture(scope="module")
def adding() -> dict[str, list[memory.Run]]:
    return memory.adding_sweeps(ADDING_MODELS, seeds=SEEDS)


@pytest.fixture(scope="module")
def baseline() -> float:
    return memory.adding_baseline_mse()


# ------------------------------------------------------------------ the Jacobian


@pytest.mark.parametrize("forget_bias", FORGET_BIASES)
def test_direct_term_is_diag_of_the_forget_gate(forget_bias):
    lstm, x = fresh_lstm(0, forget_bias)
    direct, _ = cell_state_jacobians(lstm, x)
    with torch.no_grad():
        _, (h_n, _) = lstm(x[:-1])
        _, f, _, _ = gates(lstm, x[-1], h_n[0])
    torch.testing.assert_close(direct, torch.diag(f), rtol=1e-12, atol=1e-12)
    assert f.max() < 1


@pytest.mark.parametrize("forget_bias", [0.0, 3.0])
def test_total_jacobian_matches_the_chapter_formula(forget_bias):
    lstm, x = fresh_lstm(1, forget_bias)
    _, total = cell_state_jacobians(lstm, x)
    with torch.no_grad():
        _, (h_2, _) = lstm(x[:-2])  # h_{t-2}
        _, (h_1, c_1) = lstm(x[:-1])  # h_{t-1}, c_{t-1}
        _, _, _, o_prev = gates(lstm, x[-2], h_2[0])
        i, f, g, _ = gates(lstm, x[-1], h_1[0])
    c_prev = c_1[0]
    H = lstm.hidden_size
    W_hi, W_hf, W_hg = lstm.weight_hh_l0.detach()[: 3 * H].split(H)
    hidden = (
        torch.diag(c_prev * f * (1 - f)) @ W_hf
        + torch.diag(g * i * (1 - i)) @ W_hi
        + torch.diag(i * (1 - g**2)) @ W_hg
    ) @ torch.diag(o_prev * (1 - torch.tanh(c_prev) ** 2))
    torch.testing.assert_close(total, torch.diag(f) + hidden, rtol=1e-10, atol=1e-12)


def test_hidden_path_is_a_sizeable_part_of_the_jacobian():
    for bias in FORGET_BIASES:
        norms = jacobian_norms(bias, seeds=SEEDS)  # (seeds, 3): direct, hidden, total
        assert (norms[:, 1] / norms[:, 0]).min() > 0.1, bias
        assert norms[:, 0].max() < 1  # every f_t < 1


def test_total_jacobian_exceeds_one_with_the_largest_bias():
    norms = jacobian_norms(FORGET_BIASES[-1], seeds=SEEDS)
    assert norms[:, 2].min() > 1.02


# ------------------------------------------------------------------ many steps: the pair (h, c)


def states_along(lstm, x):
    """The states (h_t, c_t) before every step of x (L, I), and after the last: L + 1 each."""
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    h = c = torch.zeros(lstm.hidden_size, dtype=x.dtype)
    hs, cs = [h], [c]
    with torch.no_grad():
        for x_t in x:
            h, c = lstm_cell(x_t, (h, c), *weights)
            hs.append(h)
            cs.append(c)
    return hs, cs


@pytest.mark.parametrize("forget_bias", [0.0, 3.0])
def test_pair_jacobian_matches_the_chapter_blocks(forget_bias):
    lstm, x = fresh_lstm(2, forget_bias)
    hs, cs = states_along(lstm, x)
    h_prev, c_prev = hs[-2], cs[-2]
    J = step_jacobian(lstm, x[-1], h_prev, c_prev)  # (2H, 2H), rows (h_t, c_t)
    with torch.no_grad():
        i, f, g, o = gates(lstm, x[-1], h_prev)
    c = f * c_prev + i * g
    H = lstm.hidden_size
    W_hi, W_hf, W_hg, W_ho = lstm.weight_hh_l0.detach().split(H)
    B = torch.diag(c_prev * f * (1 - f)) @ W_hf + torch.diag(g * i * (1 - i)) @ W_hi
    B = B + torch.diag(i * (1 - g**2)) @ W_hg  # ∂c_t/∂h_{t-1}
    slope = o * (1 - torch.tanh(c) ** 2)  # ∂h_t/∂c_t
    blocks = {
        "hh": torch.diag(torch.tanh(c) * o * (1 - o)) @ W_ho + torch.diag(slope) @ B,
        "hc": torch.diag(slope * f),
        "ch": B,
        "cc": torch.diag(f),
    }
    expected = torch.cat([torch.cat([blocks["hh"], blocks["hc"]], 1),
                          torch.cat([blocks["ch"], blocks["cc"]], 1)])  # fmt: skip
    torch.testing.assert_close(J, expected, rtol=1e-10, atol=1e-12)


def k_step_jacobian(lstm, x, start):
    """∂(h_L, c_L)/∂(h, c) of running x (k, I) from the state `start` = (h, c), by autograd."""
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    H = lstm.hidden_size

    def run(state):
        h, c = state[:H], state[H:]
        for x_t in x:
            h, c = lstm_cell(x_t, (h, c), *weights)
        return torch.cat([h, c])

    return torch.autograd.functional.jacobian(run, start)


@pytest.mark.parametrize("forget_bias", FORGET_BIASES)
def test_many_steps_multiply_pair_jacobians_not_one_step_totals(forget_bias):
    """The chain rule over k steps is J_T ⋯ J_{T-k+1}; a product of the one-step totals
    dc_t/dc_{t-1} misses the routes through o_t, and diag(∏ f) is one route among many."""
    k, H = 10, 32
    norm = torch.linalg.matrix_norm
    for seed in SEEDS:
        lstm, x = fresh_lstm(seed, forget_bias)
        L = len(x)
        hs, cs = states_along(lstm, x)
        jacobians = [step_jacobian(lstm, x[t], hs[t], cs[t]) for t in range(L - k, L)]
        product = torch.eye(2 * H, dtype=torch.float64)
        for J in jacobians:
            product = J @ product  # J_T ⋯ J_{T-k+1}
        chain = k_step_jacobian(lstm, x[L - k :], torch.cat([hs[L - k], cs[L - k]]))
        torch.testing.assert_close(product, chain, rtol=1e-10, atol=1e-14)

        # dc_T/dc_{T-k}, with h_{T-k} = o_{T-k} ⊙ tanh(c_{T-k}) following c_{T-k}
        o = hs[L - k] / torch.tanh(cs[L - k])
        dh_dc = torch.diag(o * (1 - torch.tanh(cs[L - k]) ** 2))
        total = product[H:, :H] @ dh_dc + product[H:, H:]
        one_step_totals = torch.eye(H, dtype=torch.float64)
        for t in range(L - k, L):
            one_step_totals = cell_state_jacobians(lstm, x[: t + 1])[1] @ one_step_totals
        assert norm(one_step_totals - total, ord=2) > 0.01 * norm(total, ord=2)

        forget = torch.stack([J[H:, H:].diagonal() for J in jacobians])  # (k, H): f_t
        cell_path = torch.diag(forget.prod(0))  # diag(f_T ⊙ … ⊙ f_{T-k+1})
        cc = product[H:, H:]
        assert norm(cc - cell_path, ord=2) > 0.5 * norm(cc, ord=2)  # other routes weigh


# ------------------------------------------------------------------ gradient curves


@pytest.fixture(scope="module")
def init_curves() -> dict[str, torch.Tensor]:
    return {
        mode: relative(lag_curves(make, seeds=SEEDS, seq_len=CURVE_LENGTH))
        for mode, make in matched_layers(lstm_hidden=32).items()
    }


@pytest.fixture(scope="module")
def bias_curves() -> torch.Tensor:
    return forget_bias_curves(FORGET_BIASES, hidden_size=32, seeds=SEEDS, seq_len=CURVE_LENGTH)


def test_matched_layers_have_about_the_lstm_parameter_count():
    counts = {
        mode: sum(p.numel() for p in make().parameters())
        for mode, make in matched_layers(lstm_hidden=32).items()
    }
    for mode in ("RNN", "GRU"):
        assert 0.95 * counts["LSTM"] <= counts[mode] <= counts["LSTM"], counts


def test_at_torch_init_all_three_vanish_alike(init_curves):
    at_50 = {mode: c[:, 50] for mode, c in init_curves.items()}
    for mode, values in at_50.items():
        assert values.max() < 1e-7, mode
    slope = {mode: math.log10(geometric_mean(v)) for mode, v in at_50.items()}
    assert 0.6 < slope["LSTM"] / slope["RNN"] < 1.4  # about as steep as the RNN


def test_forget_bias_raises_the_long_lag_gradient(bias_curves):
    at_100 = bias_curves[:, :, 100]  # (biases, seeds)
    assert FORGET_BIASES == (0.0, 1.0, 2.0, 3.0)
    assert at_100[0].max() < 1e-15
    assert at_100[1].max() < 1e-4
    assert at_100[3].min() > 1e-2
    assert (at_100[1:] > 2 * at_100[:-1]).all()  # each step up, in every seed


def test_with_bias_3_the_curves_cross_one(bias_curves):
    long_lags = bias_curves[3][:, 10:]
    assert long_lags.max() > 1 and long_lags.min() < 1


def test_set_forget_bias_makes_the_gate_sigma_of_the_value():
    for module in (LSTM(2, 5), torch.nn.LSTM(2, 5)):
        before = module.bias_ih_l0.detach().clone()
        set_forget_bias(module, 1.0)
        H = module.hidden_size
        total = module.bias_ih_l0 + module.bias_hh_l0
        torch.testing.assert_close(total[H : 2 * H], torch.ones(H))
        torch.testing.assert_close(module.bias_ih_l0[:H], before[:H])  # i untouched
        torch.testing.assert_close(module.bias_ih_l0[2 * H :], before[2 * H :])
        with torch.no_grad():  # x = 0, h = 0: c_1 = f ⊙ c_0 + i ⊙ g
            x, h0 = torch.zeros(1, 1, 2), torch.zeros(1, 1, H)
            _, (_, c_one) = module(x, (h0, torch.ones(1, 1, H)))
            _, (_, c_zero) = module(x, (h0, torch.zeros(1, 1, H)))
        f = (c_one - c_zero).flatten()
        torch.testing.assert_close(f, torch.full((H,), torch.sigmoid(torch.tensor(1.0)).item()))


def test_scaled_lstm_explodes():
    scaled = relative(lag_curves(scaled_lstm_factory(8.0), seeds=SEEDS, seq_len=CURVE_LENGTH))
    assert scaled[:, 100].min() > 100


# ------------------------------------------------------------------ adding problem


def test_adding_problem_is_the_form_of_le_et_al():
    """Values in [0, 1], one marked step in each half, the target their unscaled sum."""
    L = memory.ADDING_LENGTH
    x, y = adding_problem(L, batch_size=256, seed=0)
    values, markers = x[..., 0], x[..., 1]  # (L, N)
    assert values.min() >= 0 and values.max() <= 1
    assert (markers[: L // 2].sum(0) == 1).all() and (markers[L // 2 :].sum(0) == 1).all()
    torch.testing.assert_close(y[:, 0], (values * markers).sum(0))


def test_every_training_run_of_chapters_1_to_6_clips(monkeypatch):
    """Chapter 4: "every training run of chapters 1 to 6 clips the gradient norm"."""

    class Recorded(Exception):
        pass

    def record(*args, clip_grad_norm=None, **kwargs):
        raise Recorded(clip_grad_norm)

    def clip_of(module, run):
        monkeypatch.setattr(module, "train", record)
        with pytest.raises(Recorded) as caught:
            run()
        monkeypatch.undo()
        return caught.value.args[0]

    runs = {  # chapter: the calls that train, as the chapters make them
        "1, recall": lambda: memory.recall_run(RECALL_MODELS[0], 5, seed=0),
        "4, adding": lambda: adding_run(LSTM_SPEC, seed=0),
        "6, seq2seq": lambda: seq2seq.train_translator("additive", seed=0),
    }
    for name, run in runs.items():
        module = memory if name[0] in "14" else seq2seq
        assert clip_of(module, run) is not None, name
    race = clip_of(variants, lambda: variants.compare_on_task(("LSTM",), seeds=(0,),
                                                              clip_grad_norm=1.0))  # fmt: skip
    assert race is not None  # chapter 3 passes clip_grad_norm=1.0
    clip_default = {f.name: f.default for f in dataclasses.fields(language_model.Recipe)}
    assert clip_default["clip"] is not None and language_model.MAIN.clip is not None  # ch. 5


def test_baseline_is_the_variance_of_the_target(baseline):
    assert abs(baseline - 1 / 6) < 0.02


def test_models_have_about_the_same_parameter_count():
    def count(spec):
        return sum(p.numel() for p in spec.build(2, 1).parameters())

    assert abs(count(RNN_SPEC) - count(LSTM_SPEC)) < 0.05 * count(LSTM_SPEC)


def test_both_models_first_sit_on_the_plateau(adding, baseline):
    for runs in adding.values():
        for run in runs:
            early = run.history.loss[100:300]
            assert sum(early) / len(early) > 0.8 * baseline


def test_lstm_solves_the_adding_problem(adding, baseline):
    runs = adding[LSTM_SPEC.label]
    assert max(run.score for run in runs) < 0.1 * baseline
    assert max(run.steps for run in runs) < memory.ADDING_RECIPE.max_steps  # stopped early


def test_rnn_does_not_leave_the_baseline(adding, baseline):
    assert min(run.score for run in adding[RNN_SPEC.label]) > 0.8 * baseline


def test_rnn_gradients_explode_and_get_clipped(adding):
    recipe = memory.ADDING_RECIPE
    runs = adding[RNN_SPEC.label]
    fractions = [memory.clipped_fraction(run, recipe) for run in runs]
    assert min(fractions) > 0.1, f"clipped {fractions}, steps {[run.steps for run in runs]}"
    assert max(max(run.history.grad_norm) for run in runs) > 10 * recipe.clip_grad_norm


def test_lstm_gradients_are_rarely_clipped(adding):
    runs = adding[LSTM_SPEC.label]
    assert max(memory.clipped_fraction(run, memory.ADDING_RECIPE) for run in runs) < 0.1


@pytest.mark.parametrize("seed", range(5))
def test_written_out_backward_matches_autograd(seed):
    """ "Every gradient ... differs from autograd's by less than" a rounding-level bound."""
    errors = backward.step_backward_errors(seed=seed)
    assert set(errors) == {"LSTM", "GRU"}
    assert max(errors.values()) < 1e-12
    assert backward.sequence_backward_error(seed=seed, steps=50) < 1e-11


def test_the_backward_comparison_catches_a_wrong_line(monkeypatch):
    """The check can fail: a GRU backward with h_{t−1} and n swapped, or an LSTM backward
    that drops the cell gradient arriving from step t + 1, is far from autograd."""
    right = backward.gru_step_backward

    def wrong_sign(dh, h_prev, r, z, n, u_n):
        return right(dh, n, r, z, h_prev, u_n)  # h_{t−1} and n swapped: δz flips sign

    monkeypatch.setattr(backward, "gru_step_backward", wrong_sign)
    assert backward.step_backward_errors(seed=0)["GRU"] > 1e-3
    monkeypatch.undo()

    right_lstm = backward.fused.lstm_step_backward

    def forgets_dc(dh, dc, *rest):
        return right_lstm(dh, 0 * dc, *rest)

    monkeypatch.setattr(backward.fused, "lstm_step_backward", forgets_dc)
    assert backward.step_backward_errors(seed=0)["LSTM"] > 1e-3
