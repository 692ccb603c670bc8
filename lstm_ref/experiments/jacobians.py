"""The Jacobian ∂c_t/∂c_{t-1} of an LSTM's cell state, split into its two paths.

c_{t-1} reaches c_t directly, through c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, and through
h_{t-1} = o_{t-1} ⊙ tanh(c_{t-1}), which feeds the gates i_t, f_t, g_t of step t:

    dc_t/dc_{t-1} = diag(f_t)                                   direct: the cell path
                  + [diag(c_{t-1} ⊙ f_t ⊙ (1 - f_t)) W_hf
                     + diag(g_t ⊙ i_t ⊙ (1 - i_t)) W_hi
                     + diag(i_t ⊙ (1 - g_t²)) W_hg] diag(o_{t-1} ⊙ (1 - tanh² c_{t-1}))
                                                                 the hidden path

`cell_state_jacobians` computes the direct term and the total by autograd; the
hidden path is their difference.

The total is a one-step quantity: a product of totals over k steps is not dc_T/dc_{T-k},
because c_{t-1} also reaches c_{t+1} through h_{t-1} → o_t → h_t, skipping c_t. Over
many steps the factor to multiply is the Jacobian of the pair (h, c), `step_jacobian`:

    J_t = ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}) = [[∂h_t/∂h_{t-1}, ∂h_t/∂c_{t-1}],
                                             [∂c_t/∂h_{t-1}, diag(f_t)    ]]
    ∂L/∂(h_{T-k}, c_{T-k}) = ∂L/∂(h_T, c_T) · J_T ⋯ J_{T-k+1}      (row vectors)

Example:
    >>> norms = jacobian_norms(1.0, seeds=[0])
    >>> norms.shape, bool(norms[0, 0] < 1)
    (torch.Size([1, 3]), True)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lstm_ref.experiments.gradients import layer_factory
from lstm_ref.nn.functional import lstm_cell


def cell_state_jacobians(lstm: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """∂c_t/∂c_{t-1} at the last step t = L-1 of one sequence x: (direct, total).

    direct: h_{t-1} held fixed, so only the cell path c_t = f_t ⊙ c_{t-1} + …
        counts; it equals diag(f_t).
    total: h_{t-1} = o_{t-1} ⊙ tanh(c_{t-1}) moves with c_{t-1}, so the route
        through h_{t-1} and the four gates of step t counts too.

    Both are computed by autograd through :func:`lstm_ref.nn.functional.lstm_cell`.
    o_{t-1} is read off the layer's own outputs as h_{t-1} / tanh(c_{t-1}).

    Args:
        lstm: a one-layer LSTM from :mod:`lstm_ref.nn` or ``torch.nn``.
        x: one unbatched sequence, L >= 2.

    Shapes:
        x: (L, I).  Returns: two (H, H) matrices.
    """
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"expected x of shape (L >= 2, I), got {tuple(x.shape)}")
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    with torch.no_grad():
        _, (h_n, c_n) = lstm(x[:-1])  # states after step t-1: each (1, H)
    h_prev, c_prev = h_n[0], c_n[0]  # (H,)
    o_prev = h_prev / torch.tanh(c_prev)  # h_{t-1} = o_{t-1} ⊙ tanh(c_{t-1})
    x_t = x[-1]  # (I,)

    def c_next_direct(c: Tensor) -> Tensor:
        return lstm_cell(x_t, (h_prev, c), *weights)[1]

    def c_next_total(c: Tensor) -> Tensor:
        return lstm_cell(x_t, (o_prev * torch.tanh(c), c), *weights)[1]

    jacobian = torch.autograd.functional.jacobian
    return jacobian(c_next_direct, c_prev), jacobian(c_next_total, c_prev)


def step_jacobian(lstm: nn.Module, x_t: Tensor, h_prev: Tensor, c_prev: Tensor) -> Tensor:
    """J_t = ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}) of one LSTM step, by autograd.

    Rows are (h_t, c_t) and columns (h_{t-1}, c_{t-1}), h first, so the blocks are
    [[∂h_t/∂h_{t-1}, ∂h_t/∂c_{t-1}], [∂c_t/∂h_{t-1}, diag(f_t)]].

    Args:
        lstm: a one-layer LSTM from :mod:`lstm_ref.nn` or ``torch.nn``.
        x_t: the input of the step; h_prev, c_prev: the state it starts from.

    Shapes:
        x_t: (I,).  h_prev, c_prev: (H,).  Returns: (2H, 2H).
    """
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    H = h_prev.shape[-1]

    def step(state: Tensor) -> Tensor:  # (2H,) -> (2H,)
        h, c = lstm_cell(x_t, (state[:H], state[H:]), *weights)
        return torch.cat([h, c])

    return torch.autograd.functional.jacobian(step, torch.cat([h_prev, c_prev]).detach())


def jacobian_norms(
    forget_bias: float, *, seeds: Sequence[int], hidden_size: int = 32, seq_len: int = 20
) -> Tensor:
    """Spectral norms of the terms of ∂c_t/∂c_{t-1}, for a fresh LSTM per seed.

    Each seed builds a float64 LSTM (input size 1) with the given forget-gate bias and
    a random input x of `seq_len` steps, and measures at the last step

        direct = diag(f_t),   hidden = total - direct,   total  (`cell_state_jacobians`)

    Shapes:
        Returns: (S, 3), columns ‖direct‖₂, ‖hidden‖₂, ‖total‖₂.
    """
    make_layer = layer_factory("LSTM", hidden_size, forget_bias=forget_bias)
    rows = []
    for seed in seeds:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            layer = make_layer()
            x = torch.randn(seq_len, 1, dtype=torch.float64)  # (L, I), unbatched
        direct, total = cell_state_jacobians(layer, x)
        parts = (direct, total - direct, total)
        rows.append([torch.linalg.matrix_norm(part, ord=2).item() for part in parts])
    return torch.tensor(rows, dtype=torch.float64)
