"""GRU cell in NumPy: one time step forward, and its hand-written backward pass.

Same parameters, shapes, gate order (r, z, n) and convention as ``torch.nn.GRUCell``:
the reset gate multiplies ``h W_hn^T + b_hn`` (after the matrix product), and
``h_next = (1 - z) * n + z * h``. The published version of Cho et al. (2014, EMNLP; arXiv
v3) instead resets ``h`` before the product (arXiv v1 resets after it, as torch does); the
two are different functions, and this one matches torch.

Symbols: N batch size, I input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, check_state, check_weights
from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .affine import affine_backward, affine_forward


def gru_cell_forward(
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray | None = None,
    b_hh: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """One GRU step; return ``(h_next, cache)``.

    Equations (W_ir is the first H rows of W_ih, W_iz the next H, then W_in):
        r      = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)       reset gate
        z      = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)       update gate
        n      = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))   candidate
        h_next = (1 - z) * n + z * h

    Args:
        x: input at this step. h: hidden state from the previous step.
        W_ih, W_hh, b_ih, b_hh: torch-layout weights, gates stacked r, z, n;
            biases may be None.

    Shapes:
        x: (N, I), h: (N, H), W_ih: (3*H, I), W_hh: (3*H, H), b_ih, b_hh: (3*H,).
        h_next: (N, H).
    """
    input_size, hidden_size = check_weights(W_ih, W_hh, b_ih, b_hh, num_gates=3)
    check_state(x, {"h": h}, input_size, hidden_size)

    gates_x, gates_h = affine_forward(x, h, W_ih, W_hh, b_ih, b_hh)  # (N, 3H) each
    x_r, x_z, x_n = np.split(gates_x, 3, axis=1)  # x W_i*^T + b_i*   (N, H) each
    h_r, h_z, h_n = np.split(gates_h, 3, axis=1)  # h W_h*^T + b_h*   (N, H) each
    reset_gate = sigmoid(x_r + h_r)  # r = σ(x_r + h_r)
    update_gate = sigmoid(x_z + h_z)  # z = σ(x_z + h_z)
    candidate = tanh(x_n + reset_gate * h_n)  # n = tanh(x_n + r ⊙ h_n)
    h_next = (1 - update_gate) * candidate + update_gate * h  # h' = (1 - z) ⊙ n + z ⊙ h

    cache = dict(
        affine_inputs=(x, h, W_ih, W_hh, b_ih, b_hh),
        gates=(reset_gate, update_gate, candidate),
        h_n=h_n,
    )
    return h_next, cache


def gru_cell_backward(dh_next: np.ndarray, cache: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Backward pass of :func:`gru_cell_forward`; return ``(dx, dh, grads)``.

    Equations (h_n = h W_hn^T + b_hn, the hidden half of the candidate's pre-activation):
        da_n = dh_next * (1 - z) * (1 - n^2)
        da_z = dh_next * (h - n) * z (1 - z)
        da_r = da_n * h_n * r (1 - r)
        input half  d(x_r, x_z, x_n) = (da_r, da_z, da_n)
        hidden half d(h_r, h_z, h_n) = (da_r, da_z, da_n * r)
        dh = dh_next * z + (affine backward of the hidden half)

    Shapes:
        dh_next, dh: (N, H); dx: (N, I); ``grads[name]`` has the shape of ``name``:
        "W_ih", "W_hh", and "b_ih" / "b_hh" when the cell has biases.
    """
    reset_gate, update_gate, candidate = cache["gates"]
    check_grad("dh_next", dh_next, candidate)
    h = cache["affine_inputs"][1]

    da_n = dh_next * (1 - update_gate) * tanh_grad(candidate)  # dh' ⊙ (1-z) ⊙ (1-n²)
    da_z = dh_next * (h - candidate) * sigmoid_grad(update_gate)  # dh' ⊙ (h-n) ⊙ z(1-z)
    da_r = da_n * cache["h_n"] * sigmoid_grad(reset_gate)  # da_n ⊙ h_n ⊙ r(1-r)

    d_gates_x = np.concatenate([da_r, da_z, da_n], axis=1)  # (N, 3H)
    d_gates_h = np.concatenate([da_r, da_z, da_n * reset_gate], axis=1)  # (N, 3H)
    dx, dh, grads = affine_backward(d_gates_x, d_gates_h, *cache["affine_inputs"])
    dh = dh + dh_next * update_gate  # the direct path h' = ... + z ⊙ h
    return dx, dh, grads
