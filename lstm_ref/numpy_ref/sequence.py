"""Whole-sequence forward passes and their BPTT backward passes for the four cells.

Each pair checks its inputs and hands its cell to :mod:`lstm_ref.numpy_ref.scan`, where
the loop over time is written once for all four cells.
Inputs are time-major like torch's default (``batch_first=False``); ``params`` is a dict
of the cell's parameters (see :mod:`lstm_ref.numpy_ref.params`), and ``grads`` has a key
for each of them that is not None, summed over time.

    forward:   out, h_n[, c_n], caches = X_forward(x, h0[, c0], params)
    backward:  dx, dh0[, dc0], grads   = X_backward(d_out, dh_n[, dc_n], caches)

Shapes (L sequence length, N batch size, I input size, H hidden size):
    x, dx: (L, N, I); out, d_out: (L, N, H) with out[t] = h_t;
    h0, c0, h_n, c_n and their gradients: (N, H).

Example:
    >>> from lstm_ref.numpy_ref import init_params
    >>> params = init_params("lstm", input_size=3, hidden_size=2)
    >>> x, h0, c0 = np.ones((7, 5, 3)), np.zeros((5, 2)), np.zeros((5, 2))
    >>> out, h_n, c_n, caches = lstm_forward(x, h0, c0, params)
    >>> dx, dh0, dc0, grads = lstm_backward(np.ones_like(out), h_n * 0, c_n * 0, caches)
    >>> out.shape, dx.shape, grads["W_ih"].shape
    ((7, 5, 2), (7, 5, 3), (8, 3))
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .gru import gru_cell_backward, gru_cell_forward
from .lstm import lstm_cell_backward, lstm_cell_forward
from .peephole import peephole_lstm_cell_backward, peephole_lstm_cell_forward
from .rnn import rnn_cell_backward, rnn_cell_forward
from .scan import (
    check_sequence,
    check_sequence_grads,
    one_state_backward,
    one_state_forward,
    two_state_backward,
    two_state_forward,
)

Grads = dict[str, np.ndarray]


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, params: dict, nonlinearity: str = "tanh"
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Run :func:`rnn_cell_forward` over ``x``; return ``(out, h_n, caches)``.

    ``nonlinearity`` is "tanh" or "relu", as in ``torch.nn.RNN``.

    Shapes: x (L, N, I); h0, h_n (N, H); out (L, N, H) with out[t] = h_t.
    """
    check_sequence("rnn", x, {"h0": h0}, params)
    cell_forward = partial(rnn_cell_forward, nonlinearity=nonlinearity)
    return one_state_forward(cell_forward, x, h0, params)


def rnn_backward(
    d_out: np.ndarray, dh_n: np.ndarray, caches: list[dict]
) -> tuple[np.ndarray, np.ndarray, Grads]:
    """BPTT through :func:`rnn_forward`; return ``(dx, dh0, grads)``.

    Shapes: d_out (L, N, H); dh_n, dh0 (N, H); dx (L, N, I); grads[name] like params[name].
    """
    check_sequence_grads(d_out, {"dh_n": dh_n}, caches)
    return one_state_backward(rnn_cell_backward, d_out, dh_n, caches)


def gru_forward(
    x: np.ndarray, h0: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Run :func:`gru_cell_forward` over ``x``; return ``(out, h_n, caches)``.

    Shapes: x (L, N, I); h0, h_n (N, H); out (L, N, H) with out[t] = h_t.
    """
    check_sequence("gru", x, {"h0": h0}, params)
    return one_state_forward(gru_cell_forward, x, h0, params)


def gru_backward(
    d_out: np.ndarray, dh_n: np.ndarray, caches: list[dict]
) -> tuple[np.ndarray, np.ndarray, Grads]:
    """BPTT through :func:`gru_forward`; return ``(dx, dh0, grads)``.

    Shapes: d_out (L, N, H); dh_n, dh0 (N, H); dx (L, N, I); grads[name] like params[name].
    """
    check_sequence_grads(d_out, {"dh_n": dh_n}, caches)
    return one_state_backward(gru_cell_backward, d_out, dh_n, caches)


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, c0: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Run :func:`lstm_cell_forward` over ``x``; return ``(out, h_n, c_n, caches)``.

    Shapes: x (L, N, I); h0, c0, h_n, c_n (N, H); out (L, N, H) with out[t] = h_t.
    """
    check_sequence("lstm", x, {"h0": h0, "c0": c0}, params)
    return two_state_forward(lstm_cell_forward, x, h0, c0, params)


def lstm_backward(
    d_out: np.ndarray, dh_n: np.ndarray, dc_n: np.ndarray, caches: list[dict]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Grads]:
    """BPTT through :func:`lstm_forward`; return ``(dx, dh0, dc0, grads)``.

    Shapes: d_out (L, N, H); dh_n, dc_n, dh0, dc0 (N, H); dx (L, N, I);
    grads[name] like params[name].
    """
    check_sequence_grads(d_out, {"dh_n": dh_n, "dc_n": dc_n}, caches)
    return two_state_backward(lstm_cell_backward, d_out, dh_n, dc_n, caches)


def peephole_lstm_forward(
    x: np.ndarray, h0: np.ndarray, c0: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Run :func:`peephole_lstm_cell_forward` over ``x``; return ``(out, h_n, c_n, caches)``.

    Shapes: x (L, N, I); h0, c0, h_n, c_n (N, H); out (L, N, H) with out[t] = h_t.
    """
    check_sequence("peephole_lstm", x, {"h0": h0, "c0": c0}, params)
    return two_state_forward(peephole_lstm_cell_forward, x, h0, c0, params)


def peephole_lstm_backward(
    d_out: np.ndarray, dh_n: np.ndarray, dc_n: np.ndarray, caches: list[dict]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Grads]:
    """BPTT through :func:`peephole_lstm_forward`; return ``(dx, dh0, dc0, grads)``.

    Shapes: d_out (L, N, H); dh_n, dc_n, dh0, dc0 (N, H); dx (L, N, I);
    grads[name] like params[name].
    """
    check_sequence_grads(d_out, {"dh_n": dh_n, "dc_n": dc_n}, caches)
    return two_state_backward(peephole_lstm_cell_backward, d_out, dh_n, dc_n, caches)
