"""The two affine maps every recurrent cell starts with, and their backward pass.

All four cells compute, for G gates stacked along the last axis,

    gates_x = x W_ih^T + b_ih        (N, G*H)   the input's contribution
    gates_h = h W_hh^T + b_hh        (N, G*H)   the previous hidden state's contribution

RNN and LSTM cells only ever use the sum ``gates_x + gates_h``; the GRU needs them apart
because its candidate multiplies ``gates_h`` by the reset gate.
"""

from __future__ import annotations

import numpy as np


def affine_forward(
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray | None = None,
    b_hh: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(gates_x, gates_h)``, the input and hidden-state halves of the gates.

    Equations:
        gates_x = x @ W_ih.T + b_ih
        gates_h = h @ W_hh.T + b_hh

    Shapes:
        x: (N, I), h: (N, H), W_ih: (G*H, I), W_hh: (G*H, H), b_ih, b_hh: (G*H,) or None.
        Returns two arrays of shape (N, G*H).
    """
    gates_x = x @ W_ih.T  # (N, G*H)
    gates_h = h @ W_hh.T  # (N, G*H)
    if b_ih is not None:
        gates_x = gates_x + b_ih
    if b_hh is not None:
        gates_h = gates_h + b_hh
    return gates_x, gates_h


def affine_backward(
    d_gates_x: np.ndarray,
    d_gates_h: np.ndarray,
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray | None = None,
    b_hh: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward pass of :func:`affine_forward`; return ``(dx, dh, grads)``.

    Equations (sums run over the batch axis N):
        dx = d_gates_x @ W_ih          dW_ih = d_gates_x.T @ x      db_ih = sum(d_gates_x)
        dh = d_gates_h @ W_hh          dW_hh = d_gates_h.T @ h      db_hh = sum(d_gates_h)

    ``grads`` has keys "W_ih", "W_hh", and "b_ih" / "b_hh" only for biases that exist.

    Shapes:
        d_gates_x, d_gates_h: (N, G*H); dx: (N, I); dh: (N, H).
    """
    dx = d_gates_x @ W_ih  # (N, I)
    dh = d_gates_h @ W_hh  # (N, H)
    grads = {"W_ih": d_gates_x.T @ x, "W_hh": d_gates_h.T @ h}  # (G*H, I), (G*H, H)
    if b_ih is not None:
        grads["b_ih"] = d_gates_x.sum(axis=0)  # (G*H,)
    if b_hh is not None:
        grads["b_hh"] = d_gates_h.sum(axis=0)  # (G*H,)
    return dx, dh, grads
