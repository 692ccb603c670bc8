"""Chapter 3's checks: correct code written differently passes, each known mistake is
named, delegating to a ready-made layer (or counting a built one) is refused, and the
student-like corpus (CORRECT, BUGS) that tests/test_grading_corpus.py runs."""

import math

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
from lstm_ref.grading.variants import bidirectional as bidirectional_module
from lstm_ref.grading.variants import stacked_lstm as stacked_module
from lstm_ref.nn import GRU, LSTM
from lstm_ref.params import param_count
from tests.support.grading import Bug, unguarded, verdict

# ---------------------------------------------------------------- exercise 1: GRU cell


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


def gru_cell_printing(x, h, W_ih, W_hh, b_ih, b_hh):
    """Correct, with torch.addmm, torch.lerp and a debugging print."""
    gx = torch.addmm(b_ih, x, W_ih.T)
    gh = torch.addmm(b_hh, h, W_hh.T)
    print("gates:", gx.shape, gh.shape)
    H = h.shape[-1]
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    return torch.lerp(n, h, z)  # n + z (h - n)


def gru_float64(x, h, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h).double()  # "full precision"


def gru_detached(x, h, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h).detach()


@torch.no_grad()
def gru_no_grad(x, h, W_ih, W_hh, b_ih, b_hh):
    return gru_cell_split(x, h, W_ih, W_hh, b_ih, b_hh)


def gru_zrn(x, h, W_ih, W_hh, b_ih, b_hh):
    x_z, x_r, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_z, h_r, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h


def gru_reversed_z(x, h, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return z * torch.tanh(x_n + r * h_n) + (1 - z) * h


def gru_paper(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, _ = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])
    return (1 - z) * n + z * h


def gru_no_b_hh(x, h, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h


# ---------------------------------------------------------------- exercise 2: peephole cell


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


def _peephole(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, order="ifgo"):
    blocks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)))
    i = torch.sigmoid(blocks["i"] + w_ci * c)
    f = torch.sigmoid(blocks["f"] + w_cf * c)
    c_next = f * c + i * torch.tanh(blocks["g"])
    return torch.sigmoid(blocks["o"] + w_co * c_next) * torch.tanh(c_next), c_next


def peephole_c_h(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    c, h = state
    return _peephole(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co)


def peephole_returns_c_h(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    h_next, c_next = _peephole(x, *state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co)
    return c_next, h_next


def peephole_ifog(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    return _peephole(x, *state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, order="ifog")


def peephole_o_sees_old(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    i, f = torch.sigmoid(i + w_ci * c), torch.sigmoid(f + w_cf * c)
    o = torch.sigmoid(o + w_co * c)  # all three gates from the same c
    c = f * c + i * torch.tanh(g)
    return o * torch.tanh(c), c


def peephole_only_b_ih(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    h, c = state
    return _peephole(x, h, c, W_ih, W_hh, b_ih, torch.zeros_like(b_hh), w_ci, w_cf, w_co)


def peephole_float64_sigmoid(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    def sigmoid(a):
        return 1 / (1 + torch.exp(-a.double()))  # "stable in double precision"

    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    i, f = sigmoid(i + w_ci * c), sigmoid(f + w_cf * c)
    c = f * c + i * torch.tanh(g)
    return sigmoid(o + w_co * c) * torch.tanh(c), c


def peephole_detached_cell(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    i, f = torch.sigmoid(i + w_ci * c), torch.sigmoid(f + w_cf * c)
    c = (f * c + i * torch.tanh(g)).detach()  # "the cell state is only carried"
    return torch.sigmoid(o + w_co * c) * torch.tanh(c), c


# ---------------------------------------------------------------- exercise 3: bidirectional


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


def _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd, pick=0, bias=4):
    forward, backward = [], []
    for x_t in x:
        state_fwd = cell(x_t, state_fwd, *params_fwd[:bias])
        forward.append(state_fwd[pick])
    for x_t in reversed(x):
        state_bwd = cell(x_t, state_bwd, *params_bwd[:bias])
        backward.insert(0, state_bwd[pick])
    return torch.stack(forward), torch.stack(backward)


def bidirectional_detached(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)
    return torch.cat([forward, backward], dim=-1).detach()


def bidirectional_not_rereversed(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = [], []
    for t in range(len(x)):
        state_fwd = cell(x[t], state_fwd, *params_fwd)
        forward.append(state_fwd[0])
        state_bwd = cell(x[len(x) - 1 - t], state_bwd, *params_bwd)
        backward.append(state_bwd[0])
    return torch.cat([torch.stack(forward), torch.stack(backward)], dim=-1)


def bidirectional_backward_first(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)
    return torch.cat([backward, forward], dim=-1)


def bidirectional_batch_first(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)
    return torch.cat([forward, backward], dim=-1).transpose(0, 1)  # (N, L, 2H)


def bidirectional_float64(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)
    return torch.cat([forward, backward], dim=-1).to(torch.float64)


def bidirectional_one_start(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_fwd, params_fwd, params_bwd)
    return torch.cat([forward, backward], dim=-1)


def bidirectional_three_params(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd,
                                    bias=3)  # fmt: skip
    return torch.cat([forward, backward], dim=-1)


def bidirectional_last_entry(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    forward, backward = _directions(cell, x, state_fwd, state_bwd, params_fwd, params_bwd,
                                    pick=-1)  # fmt: skip
    return torch.cat([forward, backward], dim=-1)


def bidirectional_lstm_only(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    h, c = state_fwd  # assumes an LSTM's (h, c)
    return bidirectional_flipped(cell, x, (h, c), state_bwd, params_fwd, params_bwd)


# ---------------------------------------------------------------- exercise 4: stacked LSTM


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


def stacked_detached_finals(layer, x, state, layer_params):
    h_0, c_0 = state
    h_n, c_n = [], []
    for k, params in enumerate(layer_params):
        x, (h, c) = layer(x, (h_0[k], c_0[k]), *params)
        h_n.append(h.detach())
        c_n.append(c.detach())
    return x, (torch.stack(h_n), torch.stack(c_n))


def stacked_c_h(layer, x, state, layer_params):
    c_0, h_0 = state
    h_n, c_n = [], []
    for k, params in enumerate(layer_params):
        x, (h, c) = layer(x, (h_0[k], c_0[k]), *params)
        h_n.append(h)
        c_n.append(c)
    return x, (torch.stack(h_n), torch.stack(c_n))


def stacked_returns_c_h(layer, x, state, layer_params):
    output, (h_n, c_n) = stacked_with_layer(layer, x, state, layer_params)
    return output, (c_n, h_n)


def stacked_zero_start(layer, x, state, layer_params):
    h_n, c_n = [], []
    for params in layer_params:
        zeros = torch.zeros_like(state[0][0])
        x, (h, c) = layer(x, (zeros, zeros.clone()), *params)
        h_n.append(h)
        c_n.append(c)
    return x, (torch.stack(h_n), torch.stack(c_n))


def stacked_last_state_only(layer, x, state, layer_params):
    for k, params in enumerate(layer_params):
        x, (h, c) = layer(x, (state[0][k], state[1][k]), *params)
    return x, (h, c)


def stacked_finals_reversed(layer, x, state, layer_params):
    h_n, c_n = [], []
    for k, params in enumerate(layer_params):
        x, (h, c) = layer(x, (state[0][k], state[1][k]), *params)
        h_n.insert(0, h)
        c_n.insert(0, c)
    return x, (torch.stack(h_n), torch.stack(c_n))


def stacked_batch_first(layer, x, state, layer_params):
    output, finals = stacked_with_layer(layer, x, state, layer_params)
    return output.permute(1, 0, 2), finals


def stacked_float64_buffers(layer, x, state, layer_params):
    K, N, H = state[0].shape
    h_n = torch.zeros(K, N, H, dtype=torch.float64, device=x.device)
    c_n = torch.zeros(K, N, H, dtype=torch.float64, device=x.device)
    for k, params in enumerate(layer_params):
        x, (h_n[k], c_n[k]) = layer(x, (state[0][k], state[1][k]), *params)
    return x, (h_n, c_n)


def stacked_own_cell_ifog(layer, x, state, layer_params):
    hs, cs = list(state[0]), list(state[1])
    outputs = []
    for x_t in x:
        for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(layer_params):
            i, f, o, g = (x_t @ W_ih.T + b_ih + hs[k] @ W_hh.T + b_hh).chunk(4, dim=1)
            cs[k] = torch.sigmoid(f) * cs[k] + torch.sigmoid(i) * torch.tanh(g)
            hs[k] = torch.sigmoid(o) * torch.tanh(cs[k])
            x_t = hs[k]
        outputs.append(x_t)
    return torch.stack(outputs), (torch.stack(hs), torch.stack(cs))


# ---------------------------------------------------------------- exercise 5: parameter count


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


def count_textbook(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H = 2 if bidirectional else 1, hidden_size
    per = lambda m: 4 * (H * (H + m) + (H if bias else 0))  # noqa: E731
    return D * (per(input_size) + (num_layers - 1) * per(D * H))


def count_gru_blocks(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H = 2 if bidirectional else 1, hidden_size
    per = lambda m: 3 * H * (m + H) + (6 * H if bias else 0)  # noqa: E731
    return D * (per(input_size) + (num_layers - 1) * per(D * H))


def count_always_bias(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H = 2 if bidirectional else 1, hidden_size
    return D * (4 * H * (input_size + H + 2) + (num_layers - 1) * 4 * H * (D * H + H + 2))


def count_one_layer(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H = 2 if bidirectional else 1, hidden_size
    return D * 4 * H * (input_size + H + (2 if bias else 0))


def count_deeper_read_input(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H = 2 if bidirectional else 1, hidden_size
    return D * num_layers * 4 * H * (input_size + H + (2 if bias else 0))


def count_deeper_read_h(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H, b = 2 if bidirectional else 1, hidden_size, 2 if bias else 0
    return D * (4 * H * (input_size + H + b) + (num_layers - 1) * 4 * H * (H + H + b))


def count_float(input_size, hidden_size, num_layers, bias, bidirectional):
    D = 2.0 if bidirectional else 1.0
    H, b = hidden_size, 2 * bias
    return D * 4 * H * ((input_size + H + b) + (num_layers - 1) * (D * H + H + b))


def count_no_directions(input_size, hidden_size, num_layers, bias, bidirectional):
    D, H, b = 2 if bidirectional else 1, hidden_size, 2 * bias
    return 4 * H * ((input_size + H + b) + (num_layers - 1) * (D * H + H + b))


gru_cell_compiled = torch.compile(gru_cell_split)  # correct, and compiled: runs as written

CORRECT = {
    check_gru_cell: [gru_cell_split, gru_cell_loop, gru_cell_printing, gru_cell_compiled],
    check_peephole_lstm_cell: [peephole_diag, peephole_split],
    check_bidirectional: [bidirectional_indexed, bidirectional_flipped],
    check_stacked_lstm: [stacked_with_layer, stacked_own_cell],
    check_lstm_param_count: [param_count_closed_form, param_count_by_shapes],
}
BUGS = {
    check_gru_cell: [
        Bug(gru_float64, "dtype"),
        Bug(gru_detached, "the gradient is cut"),
        Bug(gru_no_grad, "the gradient is cut"),
        Bug(gru_zrn, "order z, r, n"),
        Bug(gru_reversed_z, "(1 - z) and z reversed"),
        Bug(gru_paper, "the published paper"),
        Bug(gru_no_b_hh, "only one of the two biases"),
    ],
    check_peephole_lstm_cell: [
        Bug(peephole_c_h, "unpacked as (c, h)"),
        Bug(peephole_returns_c_h, "h_next and c_next are returned in each other's place"),
        Bug(peephole_ifog, "order i, f, o, g"),
        Bug(peephole_o_sees_old, "peeks at c_{t-1}"),
        Bug(peephole_only_b_ih, "only one of the two biases"),
        Bug(peephole_float64_sigmoid, "dtype"),
        Bug(peephole_detached_cell, "the gradient is cut"),
    ],
    check_bidirectional: [
        Bug(bidirectional_detached, "the gradient is cut"),
        Bug(bidirectional_not_rereversed, "not re-reversed"),
        Bug(bidirectional_backward_first, "backward half comes first"),
        Bug(bidirectional_batch_first, "output is batch-first"),
        Bug(bidirectional_float64, "dtype"),
        Bug(bidirectional_one_start, "starts from state_fwd"),
        Bug(bidirectional_three_params, "only one of the two biases"),
        Bug(bidirectional_last_entry, "cell state c (state[-1])"),
        Bug(bidirectional_lstm_only, "a GRU cell, whose state is (h,)"),
    ],
    check_stacked_lstm: [
        Bug(stacked_detached_finals, "the gradient is cut"),
        Bug(stacked_c_h, "unpacked as (c, h)"),
        Bug(stacked_returns_c_h, "h_n and c_n are returned in each other's place"),
        Bug(stacked_zero_start, "initial states are ignored"),
        Bug(stacked_last_state_only, "only the last layer's final state"),
        Bug(stacked_finals_reversed, "stacked last layer first"),
        Bug(stacked_batch_first, "output is batch-first"),
        Bug(stacked_float64_buffers, "dtype"),
        Bug(stacked_own_cell_ifog, "order i, f, o, g"),
    ],
    check_lstm_param_count: [
        Bug(count_textbook, "one bias vector per gate"),
        Bug(count_gru_blocks, "3 gate blocks"),
        Bug(count_always_bias, "bias=False ignored"),
        Bug(count_one_layer, "num_layers ignored"),
        Bug(count_deeper_read_input, "read input_size features"),
        Bug(count_deeper_read_h, "not D·hidden_size"),
        Bug(count_no_directions, "backward direction not counted"),
        Bug(count_float, "count should be an int, got float"),
    ],
}
CHECKS = {check_gru_cell: GRU_CELL_CHECK, check_peephole_lstm_cell: PEEPHOLE_CHECK,
          check_bidirectional: BIDIRECTIONAL_CHECK, check_stacked_lstm: STACKED_CHECK,
          check_lstm_param_count: PARAM_COUNT_CHECK}  # fmt: skip


# ---------------------------------------------------------------- correct code passes


@pytest.mark.parametrize("check, student", [(c, s) for c, fns in CORRECT.items() for s in fns],
                         ids=lambda f: getattr(f, "__name__", ""))  # fmt: skip
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_solutions_pass(check, student, hidden, capsys):
    check(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.splitlines()[-1].startswith("✓ ") and out.err == ""


# ---------------------------------------------------------------- every mistake is named


def _stacked_as_returned(fn_):
    """A stacked mistake (output, h_n, c_n) returned as the student would: (output, (h, c))."""
    return lambda *args: (lambda output, h_n, c_n: (output, (h_n, c_n)))(*fn_(*args))


MISTAKES = [
    (check, mistake, _stacked_as_returned(mistake.fn) if check is check_stacked_lstm
     else mistake.fn)
    for check, spec in CHECKS.items() for mistake in spec.mistakes
]  # fmt: skip


@pytest.mark.parametrize("check, mistake, student", MISTAKES,
                         ids=[f"{c.name}-{m.name}" for c, m, _ in MISTAKES])  # fmt: skip
def test_each_mistake_is_named(check, mistake, student):
    result = verdict(unguarded(check), student)
    assert not result.passed and result.mistake == mistake.name, result.message
    assert f"known mistake: {mistake.name}" in result.message


def test_a_float64_gru_cell_and_a_detached_bidirectional_fail():
    """The two bugs issue 10 reports: both passed before."""
    with pytest.raises(GradingError, match="not in the inputs' dtype"):
        check_gru_cell(gru_float64)
    with pytest.raises(GradingError, match="the gradient is cut"):
        check_bidirectional(bidirectional_detached)


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


# ---------------------------------------------------------------- the references are lstm_ref's


def _load(layer, weights) -> None:
    with torch.no_grad():
        for params, values in zip(layer.all_weights, weights, strict=True):
            for param, value in zip(params, values, strict=True):
                param.copy_(value)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_sequence_references_are_lstm_refs_layers(hidden):
    """The references loop the given cell (so gradients reach every input); they equal
    lstm_ref's bidirectional and stacked layers, which tests/test_nn_parity.py checks
    against torch's."""
    for case in bidirectional_module.cases(hidden):
        cell, x, state_fwd, state_bwd, params_fwd, params_bwd = case.args
        layer = {LSTM_CELL: LSTM, GRU_CELL: GRU}[cell](x.shape[2], state_fwd[0].shape[1],
                                                       bidirectional=True, dtype=x.dtype)
        _load(layer, [params_fwd, params_bwd])
        hx = tuple(torch.stack(pair) for pair in zip(state_fwd, state_bwd))
        with torch.no_grad():
            expected = layer(x, hx if len(hx) == 2 else hx[0])[0]
        torch.testing.assert_close(BIDIRECTIONAL_CHECK.reference(*case.args), expected)
    for case in stacked_module.cases(hidden):
        layer_, x, state, layer_params = case.args
        lstm = LSTM(x.shape[2], state[0].shape[2], num_layers=len(layer_params), dtype=x.dtype)
        _load(lstm, layer_params)
        with torch.no_grad():
            output, (h_n, c_n) = lstm(x, state)
        for got, expected in zip(STACKED_CHECK.reference(*case.args), (output, h_n, c_n)):
            torch.testing.assert_close(got, expected)


def test_the_count_reference_is_torchs_numel():
    for case in param_count_cases() + param_count_cases(hidden=True):
        I, H, K, bias, bidirectional = case.args
        lstm = torch.nn.LSTM(I, H, K, bias, bidirectional=bidirectional, device="meta")
        assert PARAM_COUNT_CHECK.reference(*case.args) == sum(p.numel() for p in lstm.parameters())


@pytest.mark.parametrize("hidden", [False, True])
def test_the_references_keep_the_inputs_dtype(hidden):
    """The judge names a wrong dtype only when the reference returns the inputs' dtype."""
    for check in (check_gru_cell, check_peephole_lstm_cell, check_bidirectional,
                  check_stacked_lstm):  # fmt: skip
        (part,) = check.parts
        for case in part.cases(hidden):
            outputs = part.check.reference(*case.args)
            for out in outputs if isinstance(outputs, tuple) else (outputs,):
                assert out.dtype == getattr(torch, case.dtype.name), (check.name, case.label)


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
    with pytest.raises(GradingError, match=r"W_ih is \(3H, I\)"):
        check_gru_cell(lambda x, h, W_ih, W_hh, b_ih, b_hh: x @ W_ih + h @ W_hh)


def test_a_bidirectional_for_lstms_only_is_told_about_the_gru_case():
    with pytest.raises(GradingError, match=r"GRU cell, whose state is \(h,\).*\n  Case: GRU cell"):
        check_bidirectional(bidirectional_lstm_only)


def test_results_of_the_wrong_kind_are_explained():
    with pytest.raises(GradingError, match=r"count should be an int, got float"):
        check_lstm_param_count(lambda *args: float(param_count_closed_form(*args)))
    with pytest.raises(GradingError, match=r"count should be an int, got a tensor"):
        check_lstm_param_count(lambda *args: torch.tensor(param_count_closed_form(*args)))
    with pytest.raises(GradingError, match=r"should return \(output, \(h_n, c_n\)\)"):
        check_stacked_lstm(lambda *args: stacked_with_layer(*args)[0])


def test_a_numpy_integer_count_passes(capsys):
    import numpy as np

    check_lstm_param_count(lambda *args: np.int64(param_count_closed_form(*args)))
    assert capsys.readouterr().out.startswith("✓ lstm_param_count")


def test_messages_are_short():
    for check, student in [(check_bidirectional, bidirectional_lstm_only),
                           (check_gru_cell, gru_detached), (check_stacked_lstm, stacked_c_h),
                           (check_lstm_param_count, count_float)]:  # fmt: skip
        result = verdict(check, student, hidden=True)
        assert not result.passed and len(result.message.splitlines()) <= 5
