"""Every claim of chapter 3 (book/03_variants.md), asserted on the same functions.

Speed is measured by the chapter and by benchmarks/, never asserted here: only the
structure of the timing (which modules, which baseline) is.
"""

import math
from fractions import Fraction

import pytest
import torch

from lstm_ref.experiments.dropout import MASKED, Setup, compare_methods, summarise
from lstm_ref.experiments.variants import (
    VARIANTS,
    LastStepClassifier,
    bidirectional_parts,
    build,
    compare_on_task,
    count,
    depth_gradients,
    dropout_between_layers,
    first_output_change,
    fused_rnn_kernels,
    gru_paper_cell,
    matmul_flops,
    numel,
    speed_modules,
    structure_table,
    time_ratios,
    wide_hidden_size,
)
from lstm_ref.nn import LSTM, GRUCell, PeepholeLSTM
from lstm_ref.nn.dropout import METHODS
from lstm_ref.nn.functional import gru_cell
from lstm_ref.params import param_count

I, H = 32, 128  # the chapter's sizes
SIZES = [(1, 1), (3, 7), (32, 128), (100, 20)]


@pytest.fixture(scope="module")
def structure():
    return {row.name: row for row in structure_table(I, H)}


def test_structure_counts_equal_the_built_modules(structure):
    assert list(structure) == list(VARIANTS)
    for row in structure.values():
        assert row.params == row.numel


def test_gru_has_exactly_three_quarters(structure):
    gru = structure["GRU"]
    assert Fraction(gru.params, structure["LSTM"].params) == Fraction(3, 4)
    assert gru.flop_ratio == 0.75


@pytest.mark.parametrize("m, d", SIZES)
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_gru_three_quarters_at_any_size(m, d, layers, bidirectional):
    kwargs = dict(num_layers=layers, bidirectional=bidirectional)
    gru, lstm = torch.nn.GRU(m, d, **kwargs), torch.nn.LSTM(m, d, **kwargs)
    assert 4 * numel(gru) == 3 * numel(lstm)
    assert 4 * param_count("GRU", m, d, bias=False) == 3 * param_count("LSTM", m, d, bias=False)


@pytest.mark.parametrize("m, d", SIZES)
def test_bidirectional_doubles_one_layer(m, d):
    assert numel(LSTM(m, d, bidirectional=True)) == 2 * numel(LSTM(m, d))


def test_bidirectional_doubles_parameters_and_arithmetic(structure):
    row = structure["bidirectional LSTM"]
    assert row.param_ratio == 2.0 and row.flop_ratio == 2.0


def test_stacked_bidirectional_is_more_than_double():
    ratio = param_count("LSTM", I, H, 2, bidirectional=True) / param_count("LSTM", I, H, 2)
    assert ratio > 2
    second_layer = param_count("LSTM", I, H, 2) - param_count("LSTM", I, H)
    assert second_layer == param_count("LSTM", H, H) > param_count("LSTM", I, H)  # H > m


def test_bidirectional_output_is_forward_and_reversed_pass():
    torch.manual_seed(0)
    bilstm = LSTM(I, H, bidirectional=True, dtype=torch.float64)
    x = torch.randn(20, 4, I, dtype=torch.float64)
    assert bilstm(x)[0].shape == (20, 4, 2 * H)
    forward_gap, backward_gap = bidirectional_parts(bilstm, x)
    assert forward_gap < 1e-12 and backward_gap < 1e-12


def test_only_the_bidirectional_layer_cannot_stream():
    torch.manual_seed(0)
    x = torch.randn(6, 4, I)
    assert first_output_change(LSTM(I, H), x) == 0.0
    assert first_output_change(build("GRU", I, H), x) == 0.0
    assert first_output_change(LSTM(I, H, bidirectional=True), x) > 1e-4


def test_wide_layer_has_the_stack_budget_and_similar_arithmetic(structure):
    budget = param_count("LSTM", I, H, num_layers=2)
    wide = wide_hidden_size(I, budget)
    assert param_count("LSTM", I, wide) <= budget < param_count("LSTM", I, wide + 1)
    assert count("wide LSTM", I, H) == param_count("LSTM", I, wide)
    two, one = structure["2-layer LSTM"].flop_ratio, structure["wide LSTM"].flop_ratio
    assert abs(two - one) / two < 0.1  # "about the same matrix arithmetic"


def test_dropout_acts_in_training_only():
    train_change, eval_change = dropout_between_layers(p=0.5)
    assert train_change > 0
    assert eval_change == 0.0


def test_plain_stacks_shrink_the_gradient_and_residual_stacks_do_not():
    depths = (1, 2, 4, 8)
    grads = depth_gradients(depths, hidden_size=32, seeds=(0, 1, 2))
    plain, residual = grads["plain"], grads["residual"]
    assert plain.shape == residual.shape == (3, 4)
    assert (plain[:, 1:] < plain[:, :-1]).all()  # every added depth shrinks it
    per_layer = (plain[:, 0] / plain[:, -1]) ** (1 / (depths[-1] - depths[0]))
    assert (per_layer > 2).all()
    assert plain[:, -1].max() < 1e-4
    assert residual.min() > 0.5 and residual.max() < 2


@pytest.mark.parametrize("layer", [LSTM, torch.nn.LSTM])
def test_a_projection_shrinks_the_recurrent_matrix(layer):
    P = 16
    lstm = layer(I, H, proj_size=P)
    assert lstm.weight_hh_l0.shape == (4 * H, P)  # from 4H x H
    assert lstm.weight_hr_l0.shape == (P, H)  # h_t mapped down to P features
    assert lstm(torch.randn(5, 2, I))[0].shape == (5, 2, P)


def test_gru_conventions_differ_but_agree_when_reset_is_one():
    torch.manual_seed(0)
    cell = GRUCell(I, H, dtype=torch.float64)
    x = torch.randn(4, I, dtype=torch.float64)
    h = torch.randn(4, H, dtype=torch.float64)
    weights = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    with torch.no_grad():
        assert (gru_cell(x, h, *weights) - gru_paper_cell(x, h, *weights)).abs().max() > 1e-2
        weights[2] = weights[2].clone()
        weights[2][:H] = 1e3  # reset gate r_t = 1: both read W_hn h_{t-1} + b_hn whole
        gap = (gru_cell(x, h, *weights) - gru_paper_cell(x, h, *weights)).abs().max()
    assert gap < 1e-12


def test_peephole_adds_three_vectors_and_no_matrix_products(structure):
    row = structure["peephole LSTM"]
    assert row.params == structure["LSTM"].params + 3 * H
    assert row.flop_ratio == 1.0


def test_peephole_with_zero_peepholes_is_the_lstm():
    torch.manual_seed(0)
    lstm = LSTM(I, H, dtype=torch.float64)
    x = torch.randn(20, 4, I, dtype=torch.float64)
    with torch.no_grad():
        assert (PeepholeLSTM.from_lstm(lstm)(x)[0] - lstm(x)[0]).abs().max() == 0


def test_matmul_flops_scale_with_gate_blocks():
    x = torch.zeros(3, 2, 5)
    assert 4 * matmul_flops(build("GRU", 5, 6), x) == 3 * matmul_flops(build("LSTM", 5, 6), x)


def test_speed_modules_time_the_right_things():
    ours, theirs = speed_modules(I, H, fused=False), speed_modules(I, H, fused=True)
    assert list(ours) == list(VARIANTS)
    assert list(theirs) == [n for n in VARIANTS if n != "peephole LSTM"]
    assert type(theirs["LSTM"]) is torch.nn.LSTM and type(ours["LSTM"]) is LSTM
    for name, module in theirs.items():
        assert numel(module) == numel(ours[name])  # the same sizes in both


def test_time_ratios_are_relative_to_the_first_module_and_restore_threads():
    threads = torch.get_num_threads()
    modules = {"LSTM": LSTM(3, 4), "GRU": build("GRU", 3, 4)}
    timings = time_ratios(modules, torch.randn(5, 2, 3), rounds=2, repeats=1)
    assert [t.name for t in timings] == ["LSTM", "GRU"]
    assert timings[0].median == timings[0].low == timings[0].high == 1.0
    assert all(t.low <= t.median <= t.high for t in timings)
    assert torch.get_num_threads() == threads


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this build")
def test_only_torch_lstm_runs_a_fused_cpu_kernel():
    x = torch.randn(5, 2, I)
    assert "aten::mkldnn_rnn_layer" in fused_rnn_kernels(torch.nn.LSTM(I, H), x)
    assert fused_rnn_kernels(torch.nn.GRU(I, H), x) == []
    assert fused_rnn_kernels(LSTM(I, H), x) == []  # lstm_ref steps in Python


def test_every_variant_trains_a_few_steps():
    runs = compare_on_task(tuple(VARIANTS), seeds=(0,), seq_len=12, hidden_size=4,
                           batch_size=4, steps=3)  # fmt: skip
    assert [r.variant for r in runs] == list(VARIANTS)
    for run in runs:
        assert len(run.loss) == 3 and all(math.isfinite(v) for v in run.loss), run.variant
        assert 0 <= run.accuracy <= 1
        assert run.steps_to_solve is None  # too few steps for a 20-step mean


@pytest.mark.parametrize("name", list(VARIANTS))
def test_readout_sees_the_final_state_of_every_direction(name):
    torch.manual_seed(0)
    model = LastStepClassifier(build(name, 5, 6), num_classes=4)
    x = torch.randn(7, 3, 5)  # (L, N, I)
    output = model.recurrent(x)[0]  # (L, N, D·H)
    if name == "bidirectional LSTM":  # forward h_{L-1} beside backward h_0
        H = model.recurrent.hidden_size
        seen = torch.cat([output[-1, :, :H], output[0, :, H:]], dim=-1)
    else:
        seen = output[-1]
    assert model.readout.in_features == seen.shape[-1]
    torch.testing.assert_close(model(x), model.readout(seen))


@pytest.mark.slow
def test_the_race_claims():
    runs = compare_on_task(("LSTM", "GRU", "peephole LSTM"), seeds=(0, 1, 2),
                           seq_len=30, hidden_size=32, steps=600, lr=3e-3,
                           clip_grad_norm=1.0)  # fmt: skip
    assert len(runs) == 9
    ranges = {}
    for variant in ("LSTM", "GRU", "peephole LSTM"):
        solved = [r for r in runs if r.variant == variant and r.steps_to_solve is not None]
        assert solved, f"{variant} never learnt the task"  # "all three cells learnt"
        assert max(r.accuracy for r in solved) >= 0.95
        ranges[variant] = (min(r.steps_to_solve for r in solved),
                           max(r.steps_to_solve for r in solved))  # fmt: skip
    for a, (low_a, high_a) in ranges.items():  # "these ranges overlap"
        for b, (low_b, high_b) in ranges.items():
            assert low_a <= high_b and low_b <= high_a, (a, b, ranges)
    for run in runs:  # "a plateau at the loss of guessing" ...
        assert abs(sum(run.loss[:20]) / 20 - math.log(4)) < 0.05
    lengths = {r.steps_to_solve for r in runs if r.steps_to_solve is not None}
    assert len(lengths) > 1  # ... "of a length that varies from run to run"


def test_a_reset_gate_near_zero_computes_the_candidate_as_if_there_were_no_past():
    torch.manual_seed(0)
    cell = GRUCell(I, H, dtype=torch.float64)
    with torch.no_grad():
        cell.bias_ih[: 2 * H] = -1e3  # r_t ≈ 0 and z_t ≈ 0, so h_t = n_t
    x = torch.randn(4, I, dtype=torch.float64)
    W_in, b_in = cell.weight_ih[2 * H :], cell.bias_ih[2 * H :]
    empty_past = torch.tanh(x @ W_in.T + b_in)  # n_t with no h_{t-1} term at all
    with torch.no_grad():
        for h in (
            torch.zeros(4, H, dtype=torch.float64),
            5 * torch.randn(4, H, dtype=torch.float64),
        ):
            torch.testing.assert_close(cell(x, h), empty_past, rtol=0, atol=1e-12)


# Recurrent dropout, measured: the chapter's settings (compare_methods' defaults).
DROPOUT_METHODS = [m for m in METHODS if m != "none"]


@pytest.fixture(scope="module")
def dropout_runs():
    return compare_methods(METHODS, p=0.25, seeds=(0, 1))


@pytest.mark.slow
def test_without_dropout_the_small_model_overfits(dropout_runs):
    for run in (r for r in dropout_runs if r.method == "none"):
        assert all(a > b for a, b in zip(run.train_bits, run.train_bits[1:]))  # keeps falling
        assert run.valid_bits[-1] > min(run.valid_bits) + 0.1  # validation turns up
        assert run.gap > 1.5  # bits per char between training and validation text


@pytest.mark.slow
def test_every_recurrent_dropout_lowers_the_final_validation_loss(dropout_runs):
    summary = summarise(dropout_runs)
    assert list(summary) == list(METHODS) == list(MASKED)
    none = summary["none"]
    for method in DROPOUT_METHODS:
        assert summary[method].valid < none.valid - 0.05, method
        assert summary[method].valid_high < none.valid_low, method  # every seed
        assert summary[method].gap < none.gap - 0.2, method


@pytest.mark.slow
def test_the_fresh_mask_did_no_worse_than_the_shared_one_here(dropout_runs):
    summary = summarise(dropout_runs)
    assert summary["naive"].valid <= summary["variational"].valid + 0.02


@pytest.mark.slow
def test_early_stopping_recovers_most_of_the_difference(dropout_runs):
    summary = summarise(dropout_runs)
    best_final = min(summary[m].valid for m in DROPOUT_METHODS)
    best_early = min(summary[m].best_valid for m in DROPOUT_METHODS)
    final_gap = summary["none"].valid - best_final
    early_gap = summary["none"].best_valid - best_early
    assert 0 <= early_gap < final_gap / 2
    assert summary["none"].best_step < Setup().steps  # its best came before the end


@pytest.mark.slow
def test_zoneout_ended_lowest_and_dropconnect_highest_in_both_seeds(dropout_runs):
    for seed in (0, 1):
        final = {r.method: r.valid_bits[-1] for r in dropout_runs if r.seed == seed}
        four = {m: final[m] for m in DROPOUT_METHODS}
        assert min(four, key=four.get) == "zoneout", (seed, four)
        assert max(four, key=four.get) == "weight_drop", (seed, four)


@pytest.mark.slow
def test_dropconnect_regularised_least_at_this_rate(dropout_runs):
    summary = summarise(dropout_runs)
    others = min(summary[m].train for m in ("naive", "variational", "zoneout"))
    assert summary["weight_drop"].train < others - 0.2  # its training loss fell furthest
