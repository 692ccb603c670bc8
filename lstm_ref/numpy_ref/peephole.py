"""Peephole LSTM cell in NumPy (Gers & Schmidhuber, 2000), forward and backward.

This is the LSTM of :mod:`lstm_ref.numpy_ref.lstm` plus diagonal "peephole" weights that
let the gates see the cell state. It is a course addition: torch has no peephole LSTM.
Note the output gate looks at the NEW cell state ``c_next``, the input and forget gates
at the old one ``c``. With ``w_ci = w_cf = w_co = 0`` it is exactly the plain LSTM.

Symbols: N batch size, I input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_grad, check_state, check_weights
from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .affine import affine_backward, affine_forward


def peephole_lstm_cell_forward(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    w_ci: np.ndarray,
    w_cf: np.ndarray,
    w_co: np.ndarray,
    b_ih: np.ndarray | None = None,
    b_hh: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One peephole-LSTM step; return ``(h_next, c_next, cache)``.

    Equations (a_i, a_f, a_g, a_o are the four H-wide blocks of
    x W_ih^T + b_ih + h W_hh^T + b_hh, gate order i, f, g, o as in torch):
        i      = sigmoid(a_i + w_ci * c)
        f      = sigmoid(a_f + w_cf * c)
        g      = tanh(a_g)
        c_next = f * c + i * g
        o      = sigmoid(a_o + w_co * c_next)      the output gate sees c_next
        h_next = o * tanh(c_next)

    Args:
        x: input at this step. h, c: hidden and cell state from the previous step.
        W_ih, W_hh, b_ih, b_hh: torch-layout LSTM weights; biases may be None.
        w_ci, w_cf, w_co: diagonal peephole weights into the i, f and o gates.

    Shapes:
        x: (N, I), h and c: (N, H), W_ih: (4*H, I), W_hh: (4*H, H), b_ih, b_hh: (4*H,),
        w_ci, w_cf, w_co: (H,). h_next and c_next: (N, H).
    """
    input_size, hidden_size = check_weights(W_ih, W_hh, b_ih, b_hh, num_gates=4)
    check_state(x, {"h": h, "c": c}, input_size, hidden_size)
    for name, peephole in (("w_ci", w_ci), ("w_cf", w_cf), ("w_co", w_co)):
        check_array(name, peephole, (hidden_size,))

    gates_x, gates_h = affine_forward(x, h, W_ih, W_hh, b_ih, b_hh)  # (N, 4H) each
    a_i, a_f, a_g, a_o = np.split(gates_x + gates_h, 4, axis=1)  # (N, H) each
    input_gate = sigmoid(a_i + w_ci * c)  # i = σ(a_i + w_ci ⊙ c)
    forget_gate = sigmoid(a_f + w_cf * c)  # f = σ(a_f + w_cf ⊙ c)
    candidate = tanh(a_g)  # g = tanh(a_g)
    c_next = forget_gate * c + input_gate * candidate  # c' = f ⊙ c + i ⊙ g
    output_gate = sigmoid(a_o + w_co * c_next)  # o = σ(a_o + w_co ⊙ c')
    tanh_c_next = tanh(c_next)
    h_next = output_gate * tanh_c_next  # h' = o ⊙ tanh(c')

    cache = dict(
        affine_inputs=(x, h, W_ih, W_hh, b_ih, b_hh),
        peepholes=(w_ci, w_cf, w_co),
        c=c,
        c_next=c_next,
        gates=(input_gate, forget_gate, candidate, output_gate),
        tanh_c_next=tanh_c_next,
    )
    return h_next, c_next, cache


def peephole_lstm_cell_backward(
    dh_next: np.ndarray, dc_next: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward pass of :func:`peephole_lstm_cell_forward`; return ``(dx, dh, dc, grads)``.

    Equations (``da_o`` is needed first: the output gate feeds back into ``c_next``):
        da_o     = dh_next * tanh(c_next) * o (1 - o)
        dc_total = dc_next + dh_next * o * (1 - tanh(c_next)^2) + da_o * w_co
        da_i = dc_total * g * i (1 - i)      da_f = dc_total * c * f (1 - f)
        da_g = dc_total * i * (1 - g^2)
        dc   = dc_total * f + da_i * w_ci + da_f * w_cf
        dw_ci = sum(da_i * c), dw_cf = sum(da_f * c), dw_co = sum(da_o * c_next)
    then the affine backward for W_ih, W_hh, b_ih, b_hh.

    Shapes:
        dh_next, dc_next, dh, dc: (N, H); dx: (N, I); ``grads[name]`` has the shape of
        ``name``: "W_ih", "W_hh", "w_ci", "w_cf", "w_co", and "b_ih" / "b_hh" if present.
    """
    tanh_c_next, c, c_next = cache["tanh_c_next"], cache["c"], cache["c_next"]
    check_grad("dh_next", dh_next, tanh_c_next)
    check_grad("dc_next", dc_next, tanh_c_next)
    input_gate, forget_gate, candidate, output_gate = cache["gates"]
    w_ci, w_cf, w_co = cache["peepholes"]

    da_o = dh_next * tanh_c_next * sigmoid_grad(output_gate)  # do ⊙ o(1-o)
    dc_total = dc_next + dh_next * output_gate * tanh_grad(tanh_c_next) + da_o * w_co  # ∂L/∂c'
    da_i = dc_total * candidate * sigmoid_grad(input_gate)  # dc' ⊙ g ⊙ i(1-i)
    da_f = dc_total * c * sigmoid_grad(forget_gate)  # dc' ⊙ c ⊙ f(1-f)
    da_g = dc_total * input_gate * tanh_grad(candidate)  # dc' ⊙ i ⊙ (1-g²)
    dc = dc_total * forget_gate + da_i * w_ci + da_f * w_cf  # (N, H)

    d_gates = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (N, 4H)
    dx, dh, grads = affine_backward(d_gates, d_gates, *cache["affine_inputs"])
    grads["w_ci"] = (da_i * c).sum(axis=0)  # (H,)
    grads["w_cf"] = (da_f * c).sum(axis=0)  # (H,)
    grads["w_co"] = (da_o * c_next).sum(axis=0)  # (H,)
    return dx, dh, dc, grads
