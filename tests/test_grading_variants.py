"""Chapter 3's checks: correct code written differently passes, each known mistake is
named, and delegating to a ready-made layer (or counting a built one) is refused."""

import math
import re

import pytest
import torch

import lstm_ref.nn.functional as fn
from lstm_ref.grading import GradingError, forbid_delegation
from lstm_ref.grading.variants import (
    BIDIRECTIONAL_CHECK,
    GRU_CELL,
    GRU_CELL_CHECK,
    LSTM_CELL,
    PARAM_COUNT_CHECK,
    PEEPHOLE_CHECK,
    STACKED_CHECK,
    check_bidirectional,
    check_gru_cell,
    check_lstm_param_count,
    check_peephole_lstm_cell,
    check_stacked_lstm,
    param_count_cases,
)
from lstm_ref.params import param_count

# ---------------------------------------------------------------- correct, written differently


def gru_cell_split(x, h, W_ih, W_hh, b_ih, b_hh):
    """Correct, with one matrix per gate, sliced by rows."""
    H = h.shape[1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H : 2 * H], W_ih[2 * H :]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H : 2 * H], W_hh[2 * H :]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H : 2 * H], b_ih[2 * H :]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H : 2 * H], b_hh[2 * H :]
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return n + z * (h - n)


def gru_cell_loop(x, h, W_ih, W_hh, b_ih, b_hh):
    """Correct, one sequence at a time, with matrix-vector products and 1/(1+e^-a)."""
    rows = []
    for x_n, h_n in zip(x, h):
        a_x, a_h = W_ih @ x_n + b_ih, W_hh @ h_n + b_hh  # (3H,)
        r, z = (1 / (1 + torch.exp(-(a_x + a_h)))).chunk(3)[:2]
        n = torch.tanh(a_x.chunk(3)[2] + r * a_h.chunk(3)[2])
        rows.append((1 - z) * n + z * h_n)
    return torch.stack(rows)


def peephole_diag(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Correct, with [h, x] against stacked weights and the peepholes as diagonal matrices."""
    h, c = state
    W = torch.cat([W_hh, W_ih], dim=1)  # (4H, H + I)
    i, f, g, o = (torch.cat([h, x], dim=1) @ W.T + b_ih + b_hh).chunk(4, dim=1)
    i = torch.sigmoid(i + c @ torch.diag(w_ci))
    f = torch.sigmoid(f + c @ torch.diag(w_cf))
    c_next = f * c + i * torch.tanh(g)
    o = torch.sigmoid(o + c_next @ torch.diag(w_co))
    return o * torch.tanh(c_next), c_next


def peephole_split(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Correct, one gate at a time with torch.addmm."""
    h, c = state
    H = h.shape[1]

    def pre(k):  # gate block k's pre-activation, (N, H)
        rows = slice(k * H, (k + 1) * H)
        return torch.addmm(b_ih[rows] + b_hh[rows], x, W_ih[rows].T) + h @ W_hh[rows].T

    i, f = torch.sigmoid(pre(0) + w_ci * c), torch.sigmoid(pre(1) + w_cf * c)
    c = torch.addcmul(f * c, i, torch.tanh(pre(2)))
    return torch.sigmoid(pre(3) + w_co * c) * torch.tanh(c), c


def bidirectional_indexed(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    """Correct, filling a preallocated output by index, the backward pass at L-1-t."""
    L, N, _ = x.shape
    H = state_fwd[0].shape[1]
    out = x.new_empty(L, N, 2 * H)
    for t in range(L):
        state_fwd = cell(x[t], state_fwd, *params_fwd)
        out[t, :, :H] = state_fwd[0]
        state_bwd = cell(x[L - 1 - t], state_bwd, *params_bwd)
        out[L - 1 - t, :, H:] = state_bwd[0]
    return out


def bidirectional_flipped(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    """Correct, with flips and a list reversed before stacking."""

    def run(x, state, params):
        hs = []
        for x_t in x:
            state = cell(x_t, state, *params)
            hs.append(state[0])
        return hs

    forward = torch.stack(run(x, state_fwd, params_fwd))
    backward = torch.stack(run(x.flip(0), state_bwd, params_bwd)[::-1])
    return torch.cat([forward, backward], dim=2)


def stacked_with_layer(layer, x, state, layer_params):
    """Correct, with the given layer, and the final states written into clones."""
    h_n, c_n = state[0].clone(), state[1].clone()
    for k, weights in enumerate(layer_params):
        x, (h_n[k], c_n[k]) = layer(x, (state[0][k], state[1][k]), *weights)
    return x, (h_n, c_n)


def stacked_own_cell(layer, x, state, layer_params):
    """Correct, ignoring the given layer: a from-scratch cell, time outer, layers inner."""
    hs, cs = list(state[0]), list(state[1])  # per layer, (N, H)
    outputs = []
    for x_t in x:
        for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(layer_params):
            gates = x_t @ W_ih.T + b_ih + hs[k] @ W_hh.T + b_hh  # (N, 4H)
            i, f, g, o = gates.chunk(4, dim=1)
            cs[k] = torch.sigmoid(f) * cs[k] + torch.sigmoid(i) * torch.tanh(g)
            hs[k] = torch.sigmoid(o) * torch.tanh(cs[k])
            x_t = hs[k]
        outputs.append(x_t)
    return torch.stack(outputs), (torch.stack(hs), torch.stack(cs))


def param_count_closed_form(input_size, hidden_size, num_layers, bias, bidirectional):
    """Correct: 4H(I + H + 2) for layer 0, 4H(DH + H + 2) above, times D directions."""
    D, H, b = 1 + bidirectional, hidden_size, 2 * bias
    return D * 4 * H * ((input_size + H + b) + (num_layers - 1) * (D * H + H + b))


def param_count_by_shapes(input_size, hidden_size, num_layers, bias, bidirectional):
    """Correct: the product of every parameter's shape, listed as torch names them."""
    D, G, H = 2 if bidirectional else 1, 4, hidden_size
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else D * H
        shapes = [(G * H, layer_input), (G * H, H)] + [(G * H,)] * (2 if bias else 0)
        total += D * sum(math.prod(shape) for shape in shapes)
    return total


CORRECT = [
    (check_gru_cell, gru_cell_split),
    (check_gru_cell, gru_cell_loop),
    (check_peephole_lstm_cell, peephole_diag),
    (check_peephole_lstm_cell, peephole_split),
    (check_bidirectional, bidirectional_indexed),
    (check_bidirectional, bidirectional_flipped),
    (check_stacked_lstm, stacked_with_layer),
    (check_stacked_lstm, stacked_own_cell),
    (check_lstm_param_count, param_count_closed_form),
    (check_lstm_param_count, param_count_by_shapes),
]


@pytest.mark.parametrize("check, student", CORRECT, ids=lambda f: f.__name__)
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_solutions_pass(check, student, hidden, capsys):
    check(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ ") and "all" in out.out and out.err == ""


# ---------------------------------------------------------------- every mistake is named


def _stacked_as_returned(fn_):
    """A stacked mistake (output, h_n, c_n) returned as the student would: (output, (h, c))."""
    return lambda *args: (lambda output, h_n, c_n: (output, (h_n, c_n)))(*fn_(*args))


MISTAKES = [
    *[(check_gru_cell, m, m.fn) for m in GRU_CELL_CHECK.mistakes],
    *[(check_peephole_lstm_cell, m, m.fn) for m in PEEPHOLE_CHECK.mistakes],
    *[(check_bidirectional, m, m.fn) for m in BIDIRECTIONAL_CHECK.mistakes],
    *[(check_stacked_lstm, m, _stacked_as_returned(m.fn)) for m in STACKED_CHECK.mistakes],
    *[(check_lstm_param_count, m, m.fn) for m in PARAM_COUNT_CHECK.mistakes],
]


@pytest.mark.parametrize("check, mistake, student", MISTAKES, ids=[m.name for _, m, _ in MISTAKES])
def test_each_mistake_is_named(check, mistake, student):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check(student)


# ---------------------------------------------------------------- delegation is refused


def gru_by_torch_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.GRUCell(x.shape[1], h.shape[1], dtype=x.dtype)
    with torch.no_grad():
        for p, value in zip(cell.parameters(), [W_ih, W_hh, b_ih, b_hh]):
            p.copy_(value)
        return cell(x, h)


def bidirectional_by_torch(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    lstm = torch.nn.LSTM(x.shape[2], state_fwd[0].shape[1], bidirectional=True, dtype=x.dtype)
    with torch.no_grad():
        for p, value in zip(lstm.parameters(), [*params_fwd, *params_bwd]):
            p.copy_(value)
        hx = tuple(torch.stack(pair) for pair in zip(state_fwd, state_bwd))
        return lstm(x, hx)[0]


def bidirectional_by_lstm_ref(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    from lstm_ref.nn import LSTM

    lstm = LSTM(x.shape[2], state_fwd[0].shape[1], bidirectional=True, dtype=x.dtype)
    hx = tuple(torch.stack(pair) for pair in zip(state_fwd, state_bwd))
    return lstm(x, hx)[0]


def stacked_by_torch(layer, x, state, layer_params):
    lstm = torch.nn.LSTM(x.shape[2], state[0].shape[2], len(layer_params), dtype=x.dtype)
    return lstm(x, state)


def count_by_torch(input_size, hidden_size, num_layers, bias, bidirectional):
    lstm = torch.nn.LSTM(input_size, hidden_size, num_layers, bias, bidirectional=bidirectional)
    return sum(p.numel() for p in lstm.parameters())


def count_by_lstm_ref_cell(input_size, hidden_size, num_layers, bias, bidirectional):
    from lstm_ref.nn import LSTMCell

    return sum(p.numel() for p in LSTMCell(input_size, hidden_size).parameters())


DELEGATING = [
    (check_gru_cell, gru_by_torch_cell, "torch.nn.modules.rnn.GRUCell"),
    (check_gru_cell, lambda *args: fn.gru_cell(*args), "lstm_ref.nn.functional.gru_cell"),
    (check_peephole_lstm_cell, lambda *args: fn.peephole_lstm_cell(*args),
     "lstm_ref.nn.functional.peephole_lstm_cell"),
    (check_bidirectional, bidirectional_by_torch, "torch.nn.modules.rnn.LSTM"),
    (check_bidirectional, bidirectional_by_lstm_ref, "lstm_ref.nn.recurrent.RNNBase"),
    (check_bidirectional, lambda cell, *args: bidirectional_flipped(fn.lstm_cell, *args),
     "lstm_ref.nn.functional.lstm_cell"),
    (check_stacked_lstm, stacked_by_torch, "torch.nn.modules.rnn.LSTM"),
    (check_lstm_param_count, count_by_torch, "torch.nn.modules.rnn.RNNBase.__init__"),
    (check_lstm_param_count, count_by_lstm_ref_cell, "lstm_ref.nn.cells._CellBase.__init__"),
    (check_lstm_param_count, lambda *args: param_count("LSTM", *args[:3]),
     "lstm_ref.params.param_count"),
]  # fmt: skip


@pytest.mark.parametrize("check, student, what", DELEGATING, ids=[w for *_, w in DELEGATING])
def test_delegation_is_refused(check, student, what):
    with pytest.raises(GradingError, match="yourself|derive the count") as error:
        check(student)
    assert what in str(error.value)


def test_guards_are_undone_after_a_refusal():
    with pytest.raises(GradingError):
        check_lstm_param_count(count_by_torch)
    assert count_by_torch(3, 4, 2, True, True) == param_count("LSTM", 3, 4, 2, True, True)


def test_the_given_cells_are_lstm_refs_and_work_under_the_guard():
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    lstm_weights = [torch.randn(16, 3), torch.randn(16, 4), torch.randn(16), torch.randn(16)]
    gru_weights = [torch.randn(12, 3), torch.randn(12, 4), torch.randn(12), torch.randn(12)]
    with forbid_delegation():
        given_lstm = LSTM_CELL(x, (h, c), *lstm_weights)
        (given_gru,) = GRU_CELL(x, (h,), *gru_weights)
        with pytest.raises(Exception, match="yourself"):
            fn.lstm_cell(x, (h, c), *lstm_weights)
    for got, expected in zip(given_lstm, fn.lstm_cell(x, (h, c), *lstm_weights)):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    torch.testing.assert_close(given_gru, fn.gru_cell(x, h, *gru_weights), rtol=0, atol=0)


# ---------------------------------------------------------------- explanations


def peephole_matmul(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Wrong: the peephole vectors used with @."""
    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    i, f = torch.sigmoid(i + c @ w_ci), torch.sigmoid(f + c @ w_cf)
    c = f * c + i * torch.tanh(g)
    return torch.sigmoid(o + c @ w_co) * torch.tanh(c), c


def stacked_every_layer_reads_x(layer, x, state, layer_params):
    """Wrong: every layer fed the original x."""
    finals = [layer(x, (state[0][k], state[1][k]), *w) for k, w in enumerate(layer_params)]
    return finals[-1][0], tuple(torch.stack(s) for s in zip(*(f[1] for f in finals)))


def test_shape_errors_get_an_exercise_hint():
    with pytest.raises(GradingError, match=r"vectors of shape \(H,\).*w_ci \* c"):
        check_peephole_lstm_cell(peephole_matmul)
    with pytest.raises(GradingError, match=r"layer k >= 1 reads layer k-1's outputs"):
        check_stacked_lstm(stacked_every_layer_reads_x)


def test_a_bidirectional_for_lstms_only_is_told_about_the_gru_case():
    def lstm_only(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
        h, c = state_fwd  # assumes an LSTM's (h, c)
        return bidirectional_flipped(cell, x, (h, c), state_bwd, params_fwd, params_bwd)

    with pytest.raises(GradingError, match=r"raised ValueError.*\n  on case: GRU cell"):
        check_bidirectional(lstm_only)


def test_results_of_the_wrong_kind_are_explained():
    with pytest.raises(GradingError, match=r"should return an int, got float"):
        check_lstm_param_count(lambda *args: float(param_count_closed_form(*args)))
    with pytest.raises(GradingError, match=r"should return \(output, \(h_n, c_n\)\)"):
        check_stacked_lstm(lambda *args: stacked_with_layer(*args)[0])


def test_the_count_reference_is_torchs_numel():
    for case in param_count_cases() + param_count_cases(hidden=True):
        I, H, K, bias, bidirectional = case.args
        lstm = torch.nn.LSTM(I, H, K, bias, bidirectional=bidirectional, device="meta")
        assert PARAM_COUNT_CHECK.reference(*case.args) == sum(p.numel() for p in lstm.parameters())
