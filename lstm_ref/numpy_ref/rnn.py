"""Elman RNN cell in NumPy: one time step forward, and its hand-written backward pass.

Same parameters and shapes as ``torch.nn.RNNCell`` (G = 1 gate), so weights copy across.

Symbols: N batch size, I input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, check_state, check_weights
from .activations import relu, relu_grad, tanh, tanh_grad
from .affine import affine_backward, affine_forward

NONLINEARITIES = {"tanh": (tanh, tanh_grad), "relu": (relu, relu_grad)}


def rnn_cell_forward(
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray | None = None,
    b_hh: np.ndarray | None = None,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, dict]:
    """One step of an Elman RNN; return ``(h_next, cache)``.

    Equations (``phi`` is tanh or relu, as in ``torch.nn.RNNCell``):
        a      = x W_ih^T + b_ih + h W_hh^T + b_hh
        h_next = phi(a)

    Args:
        x: input at this step. h: hidden state from the previous step.
        W_ih, W_hh, b_ih, b_hh: torch-layout weights; biases may be None.
        nonlinearity: "tanh" or "relu".

    Shapes:
        x: (N, I), h: (N, H), W_ih: (H, I), W_hh: (H, H), b_ih, b_hh: (H,).
        h_next: (N, H).

    Example:
        >>> from lstm_ref.numpy_ref import init_params
        >>> p = init_params("rnn", input_size=3, hidden_size=2)
        >>> h_next, _ = rnn_cell_forward(np.ones((5, 3)), np.zeros((5, 2)), **p)
        >>> h_next.shape
        (5, 2)
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    input_size, hidden_size = check_weights(W_ih, W_hh, b_ih, b_hh, num_gates=1)
    check_state(x, {"h": h}, input_size, hidden_size)
    phi, _ = NONLINEARITIES[nonlinearity]

    gates_x, gates_h = affine_forward(x, h, W_ih, W_hh, b_ih, b_hh)  # (N, H) each
    h_next = phi(gates_x + gates_h)  # h' = phi(x W_ih^T + b_ih + h W_hh^T + b_hh)

    affine_inputs = (x, h, W_ih, W_hh, b_ih, b_hh)
    cache = dict(affine_inputs=affine_inputs, h_next=h_next, nonlinearity=nonlinearity)
    return h_next, cache


def rnn_cell_backward(dh_next: np.ndarray, cache: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Backward pass of :func:`rnn_cell_forward`; return ``(dx, dh, grads)``.

    Equations (``phi'`` written with the stored output ``h_next``):
        da = dh_next * phi'(a)
        dx = da W_ih,   dh = da W_hh,   dW_ih = da^T x,   dW_hh = da^T h,
        db_ih = db_hh = sum over the batch of da

    Args:
        dh_next: gradient of the loss with respect to ``h_next``.
        cache: the cache returned by :func:`rnn_cell_forward`.

    Shapes:
        dh_next: (N, H); dx: (N, I); dh: (N, H); ``grads[name]`` has the shape of ``name``.
        ``grads`` holds "W_ih", "W_hh", and "b_ih" / "b_hh" when the cell has biases.
    """
    h_next = cache["h_next"]
    check_grad("dh_next", dh_next, h_next)
    _, phi_grad = NONLINEARITIES[cache["nonlinearity"]]

    da = dh_next * phi_grad(h_next)  # da = dh' * phi'(a)   (N, H)
    return affine_backward(da, da, *cache["affine_inputs"])  # (dx, dh, grads)
