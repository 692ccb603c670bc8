"""The backward passes of one LSTM step and one GRU step, written out, against autograd.

Chapter 4 derives both by hand. :func:`lstm_ref.nn.fused.lstm_step_backward` is the LSTM's
(the course's layers train with it); :func:`gru_step_backward` below is the GRU's. Each
line reverses one line of the forward step (:mod:`lstm_ref.nn.functional`), with
δx = ∂ℓ/∂x for every quantity x and torch's gate order: LSTM (i, f, g, o), GRU (r, z, n).

GRU, torch's form (Cho et al. 2014, arXiv v1), with a = W_ih x + b_ih and
u = W_hh h_{t-1} + b_hh split into blocks (r, z, n):

    r = σ(a_r + u_r)    z = σ(a_z + u_z)    n = tanh(a_n + r ⊙ u_n)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    δn = δh_t ⊙ (1 − z)            δz = δh_t ⊙ (h_{t−1} − n)
    δa_n = δn ⊙ (1 − n²)           δu_n = δa_n ⊙ r          δr = δa_n ⊙ u_n
    δa_r = δr ⊙ r(1 − r)           δa_z = δz ⊙ z(1 − z)
    δh_{t−1} = δh_t ⊙ z + (δa_r, δa_z, δu_n) W_hh           the direct term, then the gates

Example:
    >>> errors = step_backward_errors(seed=0)
    >>> all(error < 1e-12 for error in errors.values())
    True
"""

from __future__ import annotations

import torch
from torch import Tensor

from lstm_ref.nn import fused
from lstm_ref.nn.functional import gru_step, lstm_cell, lstm_step


def gru_step_backward(dh: Tensor, h_prev: Tensor, r: Tensor, z: Tensor, n: Tensor, u_n: Tensor):
    """The backward of one GRU step (torch's form), given δh_t = ∂ℓ/∂h_t.

    Args:
        dh: (N, H), the gradient reaching h_t (from the output and from step t + 1).
        h_prev: (N, H), h_{t−1}.  r, z, n: (N, H), the gates and candidate after σ / tanh.
        u_n: (N, H), W_hn h_{t−1} + b_hn, the block that the reset gate scales.

    Returns:
        ``(d_a, d_u, dh_direct)``: δ of the input projection a (N, 3H) and of the
        recurrent projection u (N, 3H), blocks (r, z, n), and the direct term δh_t ⊙ z.
        δh_{t−1} = dh_direct + d_u W_hh; ∂ℓ/∂W_hh = d_uᵀ h_{t−1}; ∂ℓ/∂b_hh = Σ_N d_u.
    """
    dn = dh * (1 - z)  # h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    dz = dh * (h_prev - n)
    da_n = dn * (1 - n * n)  # n = tanh(a_n + r ⊙ u_n)
    du_n = da_n * r
    dr = da_n * u_n
    da_r = dr * r * (1 - r)  # r = σ(a_r + u_r)
    da_z = dz * z * (1 - z)  # z = σ(a_z + u_z)
    d_a = torch.cat([da_r, da_z, da_n], dim=-1)  # (N, 3H)
    d_u = torch.cat([da_r, da_z, du_n], dim=-1)  # r scales u_n, not a_n
    return d_a, d_u, dh * z


def _random_step(seed: int, hidden_size: int, blocks: int, batch: int = 3):
    """float64 inputs of one step: x_proj (N, G·H), h, c (N, H), W_hh (G·H, H), b_hh, δh, δc."""
    g = torch.Generator().manual_seed(seed)
    H, G = hidden_size, blocks * hidden_size

    def draw(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return (
        draw(batch, G),
        draw(batch, H),
        draw(batch, H),
        draw(G, H) / H**0.5,
        draw(G),
        (
            draw(batch, H),
            draw(batch, H),
        ),
    )


def step_backward_errors(seed: int = 0, hidden_size: int = 5) -> dict[str, float]:
    """max |written-out − autograd| over every input's gradient, one LSTM and one GRU step.

    float64, a random step (seeded) and random upstream gradients δh_t, δc_t. Returns
    ``{"LSTM": error, "GRU": error}``; both should be at rounding level (about 1e-16).
    """
    x_proj, h, c, W, b, (dh, dc) = _random_step(seed, hidden_size, 4)
    inputs = [t.requires_grad_() for t in (x_proj, h, c, W, b)]
    h_t, c_t = lstm_step(x_proj, (h, c), W, b)
    auto = torch.autograd.grad((h_t, c_t), inputs, (dh, dc))
    with torch.no_grad():  # the forward again, keeping what the backward needs
        gates = x_proj + h @ W.T + b  # (N, 4H)
        c_new, tanh_c, h_new = (torch.empty_like(c) for _ in range(3))
        fused.lstm_step_forward(gates, c, c_new, tanh_c, h_new)
        d_gates, dh_dc = torch.empty_like(gates), torch.empty_like(c)  # local derivatives,
        fused.lstm_local_derivatives(gates, c, tanh_c, d_gates, dh_dc)  # then δa in place
        f = gates.chunk(4, dim=-1)[1]
        dc_prev = fused.lstm_step_backward(dh, dc, f, dh_dc, d_gates)
        written = (d_gates, d_gates @ W, dc_prev, d_gates.T @ h, d_gates.sum(0))
    errors = {"LSTM": _max_error(auto, written)}

    x_proj, h, _, W, b, (dh, _) = _random_step(seed + 1, hidden_size, 3)
    inputs = [t.requires_grad_() for t in (x_proj, h, W, b)]
    (h_t,) = gru_step(x_proj, (h,), W, b)
    auto = torch.autograd.grad(h_t, inputs, dh)
    with torch.no_grad():
        a_r, a_z, a_n = x_proj.chunk(3, dim=-1)
        u_r, u_z, u_n = (h @ W.T + b).chunk(3, dim=-1)
        r, z = torch.sigmoid(a_r + u_r), torch.sigmoid(a_z + u_z)
        n = torch.tanh(a_n + r * u_n)
        d_a, d_u, dh_direct = gru_step_backward(dh, h, r, z, n, u_n)
        written = (d_a, dh_direct + d_u @ W, d_u.T @ h, d_u.sum(0))
    errors["GRU"] = _max_error(auto, written)
    return errors


def sequence_backward_error(seed: int = 0, steps: int = 50, hidden_size: int = 8) -> float:
    """max |written-out − autograd| for an LSTM over `steps` steps (float64).

    The written-out side is :func:`lstm_ref.nn.fused.lstm_scan`, which runs
    :func:`lstm_ref.nn.fused.lstm_step_backward` back through time and sums the weights'
    gradients over it; the autograd side differentiates a loop of :func:`lstm_cell`. The
    loss is ⟨y, v⟩ for a fixed random v over every output h_t and the final (h_L, c_L).
    """
    g = torch.Generator().manual_seed(seed)
    H, N = hidden_size, 3

    def draw(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    x, h0, c0 = draw(steps, N, H), draw(N, H), draw(N, H)
    W_ih, W_hh, b_ih, b_hh = (draw(4 * H, H) / H**0.5, draw(4 * H, H) / H**0.5,
                              draw(4 * H), draw(4 * H))  # fmt: skip
    v_out, v_h, v_c = draw(steps, N, H), draw(N, H), draw(N, H)
    inputs = [t.requires_grad_() for t in (x, h0, c0, W_ih, W_hh, b_ih, b_hh)]

    output, (h_n, c_n) = fused.lstm_scan(x, (h0, c0), W_ih, W_hh, b_ih, b_hh)
    written = torch.autograd.grad((output, h_n, c_n), inputs, (v_out, v_h, v_c))

    state, outputs = (h0, c0), []
    for x_t in x.unbind(0):
        state = lstm_cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    results = (torch.stack(outputs), *state)
    auto = torch.autograd.grad(results, inputs, (v_out, v_h, v_c))
    return _max_error(auto, written)


def _max_error(auto, written) -> float:
    """The largest |a − w| over matching tensors (shapes must agree)."""
    return max((a - w).abs().max().item() for a, w in zip(auto, written, strict=True))
