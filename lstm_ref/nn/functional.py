"""One time step of each recurrent cell, as pure functions of (x_t, state, weights).

Every cell splits into two parts:

* the **input projection** ``x_proj = x_t W_ih^T + b_ih``, which does not depend on the
  state, so a layer computes it for all time steps at once (one big matrix product);
* the **recurrent step** ``*_step(x_proj, state, W_hh, b_hh, ...)``, which does.

``*_cell(x, state, W_ih, W_hh, ...)`` is the two together: the textbook cell.

Weights use torch.nn's layout. With N the batch, I the input size, H the hidden size
and G the number of gate blocks (RNN 1, GRU 3, LSTM 4):

* ``W_ih`` (G*H, I), ``W_hh`` (G*H, H), ``b_ih`` and ``b_hh`` (G*H,), either bias may be None;
* gate blocks are stacked in torch's order: LSTM (i, f, g, o), GRU (r, z, n);
* ``x`` (N, I), ``h`` (N, H), ``c`` (N, H); ``x_proj`` (N, G*H).

An LSTM with a projection (torch's ``proj_size`` P, Sak et al. 2014) carries h of size P:
then ``h`` is (N, P), ``W_hh`` is (4H, P) and ``W_hr`` (P, H); ``c`` stays (N, H).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for the LSTMs


def rnn_step(
    x_proj: Tensor, state: State, W_hh: Tensor, b_hh: Tensor | None, nonlinearity: str = "tanh"
) -> State:
    """Elman RNN step: h_t = φ(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), φ = tanh or relu."""
    (h,) = state
    pre = x_proj + F.linear(h, W_hh, b_hh)  # (N, H)
    h = torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)
    return (h,)


def lstm_step(
    x_proj: Tensor, state: State, W_hh: Tensor, b_hh: Tensor | None, W_hr: Tensor | None = None
) -> State:
    """LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)       input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)       forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)    candidate
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)       output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)          (times W_hr when the layer projects, as torch's proj_size)
    """
    h, c = state
    gates = x_proj + F.linear(h, W_hh, b_hh)  # (N, 4H), blocks i, f, g, o
    i, f, g, o = gates.chunk(4, dim=-1)  # each (N, H)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c = f * c + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h = o * torch.tanh(c)  # h_t = o_t ⊙ tanh(c_t)
    if W_hr is not None:
        h = F.linear(h, W_hr)  # h_t = W_hr (o_t ⊙ tanh(c_t)), (N, P)
    return h, c


def gru_step(x_proj: Tensor, state: State, W_hh: Tensor, b_hh: Tensor | None) -> State:
    """GRU step in torch's convention (Cho et al. 2014, arXiv v1: r applied after W_hn).

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)        reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)        update gate
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    Cho et al. write h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h̃_t too. Their published EMNLP
    2014 version (arXiv v3) puts r_t inside the product, W_hn (r_t ⊙ h_{t-1}); arXiv v1,
    torch and cuDNN apply it after, r_t ⊙ (W_hn h_{t-1} + b_hn), as here.
    """
    (h,) = state
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)  # each (N, H)
    h_r, h_z, h_n = F.linear(h, W_hh, b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h = (1 - z) * n + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    return (h,)


def peephole_lstm_step(
    x_proj: Tensor,
    state: State,
    W_hh: Tensor,
    b_hh: Tensor | None,
    w_ci: Tensor,
    w_cf: Tensor,
    w_co: Tensor,
) -> State:
    """LSTM step with diagonal peephole connections (Gers & Schmidhuber 2000).

    The input and forget gates look at the old cell state, the output gate at the new one:

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi + w_ci ⊙ c_{t-1})
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf + w_cf ⊙ c_{t-1})
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho + w_co ⊙ c_t)
    h_t = o_t ⊙ tanh(c_t)

    With w_ci = w_cf = w_co = 0 this is exactly :func:`lstm_step`.
    """
    h, c_prev = state
    gates = x_proj + F.linear(h, W_hh, b_hh)  # (N, 4H), blocks i, f, g, o
    i, f, g, o = gates.chunk(4, dim=-1)
    i = torch.sigmoid(i + w_ci * c_prev)
    f = torch.sigmoid(f + w_cf * c_prev)
    g = torch.tanh(g)
    c = f * c_prev + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o = torch.sigmoid(o + w_co * c)  # the output gate peeks at c_t, not c_{t-1}
    h = o * torch.tanh(c)
    return h, c


def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh") -> Tensor:
    """One Elman RNN cell: :func:`rnn_step` after the input projection. Returns h_t."""
    return rnn_step(F.linear(x, W_ih, b_ih), (h,), W_hh, b_hh, nonlinearity)[0]


def lstm_cell(x, state, W_ih, W_hh, b_ih=None, b_hh=None) -> State:
    """One LSTM cell: :func:`lstm_step` after the input projection. Returns (h_t, c_t)."""
    return lstm_step(F.linear(x, W_ih, b_ih), state, W_hh, b_hh)


def gru_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None) -> Tensor:
    """One GRU cell: :func:`gru_step` after the input projection. Returns h_t."""
    return gru_step(F.linear(x, W_ih, b_ih), (h,), W_hh, b_hh)[0]


def peephole_lstm_cell(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co) -> State:
    """One peephole LSTM cell: :func:`peephole_lstm_step` after the input projection."""
    return peephole_lstm_step(F.linear(x, W_ih, b_ih), state, W_hh, b_hh, w_ci, w_cf, w_co)
