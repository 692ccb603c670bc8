"""LSTM cell in NumPy: one time step forward, and its hand-written backward pass.

Same parameters, shapes and gate order (i, f, g, o) as ``torch.nn.LSTMCell``, so weights
copy across. Symbols: N batch size, I input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, check_state, check_weights
from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .affine import affine_backward, affine_forward


def lstm_cell_forward(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray | None = None,
    b_hh: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One LSTM step; return ``(h_next, c_next, cache)``.

    Equations (W_ii is the first H rows of W_ih, W_if the next H, and so on):
        i      = sigmoid(x W_ii^T + b_ii + h W_hi^T + b_hi)     input gate
        f      = sigmoid(x W_if^T + b_if + h W_hf^T + b_hf)     forget gate
        g      = tanh(x W_ig^T + b_ig + h W_hg^T + b_hg)        candidate cell
        o      = sigmoid(x W_io^T + b_io + h W_ho^T + b_ho)     output gate
        c_next = f * c + i * g
        h_next = o * tanh(c_next)

    Args:
        x: input at this step. h, c: hidden and cell state from the previous step.
        W_ih, W_hh, b_ih, b_hh: torch-layout weights, gates stacked i, f, g, o;
            biases may be None.

    Shapes:
        x: (N, I), h and c: (N, H), W_ih: (4*H, I), W_hh: (4*H, H), b_ih, b_hh: (4*H,).
        h_next and c_next: (N, H).

    Example:
        >>> from lstm_ref.numpy_ref import init_params
        >>> p = init_params("lstm", input_size=3, hidden_size=2)
        >>> h, c = np.zeros((5, 2)), np.zeros((5, 2))
        >>> h_next, c_next, _ = lstm_cell_forward(np.ones((5, 3)), h, c, **p)
        >>> h_next.shape, c_next.shape
        ((5, 2), (5, 2))
    """
    input_size, hidden_size = check_weights(W_ih, W_hh, b_ih, b_hh, num_gates=4)
    check_state(x, {"h": h, "c": c}, input_size, hidden_size)

    gates_x, gates_h = affine_forward(x, h, W_ih, W_hh, b_ih, b_hh)  # (N, 4H) each
    a_i, a_f, a_g, a_o = np.split(gates_x + gates_h, 4, axis=1)  # (N, H) each
    input_gate = sigmoid(a_i)  # i = sigmoid(a_i)
    forget_gate = sigmoid(a_f)  # f = sigmoid(a_f)
    candidate = tanh(a_g)  # g = tanh(a_g)
    output_gate = sigmoid(a_o)  # o = sigmoid(a_o)
    c_next = forget_gate * c + input_gate * candidate  # c' = f ⊙ c + i ⊙ g
    tanh_c_next = tanh(c_next)
    h_next = output_gate * tanh_c_next  # h' = o ⊙ tanh(c')

    cache = dict(
        affine_inputs=(x, h, W_ih, W_hh, b_ih, b_hh),
        c=c,
        gates=(input_gate, forget_gate, candidate, output_gate),
        tanh_c_next=tanh_c_next,
    )
    return h_next, c_next, cache


def lstm_cell_backward(
    dh_next: np.ndarray, dc_next: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward pass of :func:`lstm_cell_forward`; return ``(dx, dh, dc, grads)``.

    Equations (``dc_total`` adds the path from ``h_next`` through ``tanh(c_next)``):
        dc_total = dc_next + dh_next * o * (1 - tanh(c_next)^2)
        da_i = dc_total * g * i (1 - i)      da_f = dc_total * c * f (1 - f)
        da_g = dc_total * i * (1 - g^2)      da_o = dh_next * tanh(c_next) * o (1 - o)
        dc   = dc_total * f
    then the affine backward (:func:`~lstm_ref.numpy_ref.affine.affine_backward`).

    Args:
        dh_next, dc_next: gradients of the loss with respect to ``h_next`` and ``c_next``.
        cache: the cache returned by :func:`lstm_cell_forward`.

    Shapes:
        dh_next, dc_next, dh, dc: (N, H); dx: (N, I); ``grads[name]`` has the shape of
        ``name``: "W_ih", "W_hh", and "b_ih" / "b_hh" when the cell has biases.
    """
    tanh_c_next, c = cache["tanh_c_next"], cache["c"]
    check_grad("dh_next", dh_next, tanh_c_next)
    check_grad("dc_next", dc_next, tanh_c_next)
    input_gate, forget_gate, candidate, output_gate = cache["gates"]

    dc_total = dc_next + dh_next * output_gate * tanh_grad(tanh_c_next)  # ∂L/∂c'
    da_i = dc_total * candidate * sigmoid_grad(input_gate)  # dc' ⊙ g ⊙ i(1-i)
    da_f = dc_total * c * sigmoid_grad(forget_gate)  # dc' ⊙ c ⊙ f(1-f)
    da_g = dc_total * input_gate * tanh_grad(candidate)  # dc' ⊙ i ⊙ (1-g²)
    da_o = dh_next * tanh_c_next * sigmoid_grad(output_gate)  # dh' ⊙ tanh(c') ⊙ o(1-o)
    dc = dc_total * forget_gate  # dc = dc' ⊙ f

    d_gates = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (N, 4H)
    dx, dh, grads = affine_backward(d_gates, d_gates, *cache["affine_inputs"])
    return dx, dh, dc, grads
