"""Checks for chapter 1's exercises: an RNN step, and the vanishing gradient measured.

Student functions, in NumPy:

    rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next          x (N, I), h (N, H)
    jacobian_norms(W_hh, pre_activations) -> norms (T,)       W_hh (H, H), a (T, H)
"""

from __future__ import annotations

import numpy as np

from lstm_ref.numpy_ref import rnn_cell_forward

from .cases import build_cases, cell_arrays
from .core import Check, Mistake, run_check


def _pre(x, h, W_ih, W_hh, b_ih, b_hh):
    return x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (N, H)


RNN_STEP = Check(
    name="rnn_step",
    reference=lambda *args: rnn_cell_forward(*args)[0],
    output_names=["h_next"],
    mistakes=[
        Mistake("the biases are left out", "add b_ih and b_hh inside the tanh.",
                lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + h @ W_hh.T)),
        Mistake("only one of the two biases is added", "torch's layout has two bias vectors, "
                "b_ih and b_hh; both are added.",
                lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T)),
        Mistake("no nonlinearity", "h_next = tanh(pre-activation), not the pre-activation.",
                _pre),
        Mistake("sigmoid instead of tanh", "the Elman RNN uses tanh, which is zero-centred.",
                lambda *a: 1 / (1 + np.exp(-_pre(*a)))),
        Mistake("relu instead of tanh", "use np.tanh.", lambda *a: np.maximum(_pre(*a), 0)),
        Mistake("the previous state is ignored", "add the recurrent term h @ W_hh.T + b_hh.",
                lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + b_hh)),
    ],
)  # fmt: skip


def check_rnn_step(rnn_step, hidden: bool = False) -> None:
    """Check ``rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next`` against the reference."""
    cases = build_cases(cell_arrays(gates=1, with_cell=False), "numpy", hidden)
    run_check(RNN_STEP, rnn_step, cases)


def jacobian_norms_reference(W_hh: np.ndarray, pre_activations: np.ndarray) -> np.ndarray:
    """‖∂h_t/∂h_0‖₂ for t = 1..T, with ∂h_t/∂h_{t-1} = diag(1 - tanh²(a_t)) W_hh."""
    H = W_hh.shape[0]
    J = np.eye(H, dtype=W_hh.dtype)  # ∂h_0/∂h_0
    norms = []
    for a in pre_activations:  # a_t (H,)
        J = np.diag(1 - np.tanh(a) ** 2) @ W_hh @ J  # chain rule, newest factor on the left
        norms.append(np.linalg.norm(J, 2))  # spectral norm: the largest singular value
    return np.array(norms, dtype=W_hh.dtype)


def _product(W_hh, a, factor, order="left", norm=2):
    J = np.eye(W_hh.shape[0], dtype=W_hh.dtype)
    norms = []
    for a_t in a:
        step = np.diag(factor(a_t)) @ W_hh
        J = step @ J if order == "left" else J @ step
        norms.append(np.linalg.norm(J, norm))
    return np.array(norms)


JACOBIAN_NORMS = Check(
    name="jacobian_norms",
    reference=jacobian_norms_reference,
    output_names=["norms"],
    mistakes=[
        Mistake("the tanh' factor is left out",
                "each step's Jacobian is diag(1 - tanh(a_t)²) W_hh.",
                lambda W, a: _product(W, a, np.ones_like)),
        Mistake("tanh(a_t) used where its derivative 1 - tanh(a_t)² belongs",
                "d tanh(a)/da = 1 - tanh(a)².", lambda W, a: _product(W, a, np.tanh)),
        Mistake("the derivative written as 1 - a_t² instead of 1 - tanh(a_t)²",
                "square tanh(a_t), not a_t.", lambda W, a: _product(W, a, lambda v: 1 - v**2)),
        Mistake("the factors are multiplied in the wrong order",
                "the newest Jacobian goes on the left: J_t = diag(...) W_hh J_{t-1}.",
                lambda W, a: _product(W, a, lambda v: 1 - np.tanh(v) ** 2, order="right")),
        Mistake("the Frobenius norm instead of the spectral norm",
                "use np.linalg.norm(J, 2), the largest singular value.",
                lambda W, a: _product(W, a, lambda v: 1 - np.tanh(v) ** 2, norm="fro")),
    ],
)  # fmt: skip

# (label, T, unused, H, spectral scale of W_hh): decaying, single unit, growing
JACOBIAN_SHAPES = [("decaying", 12, 0, 4, 0.8), ("one unit", 6, 0, 1, 0.9),
                   ("exploding", 20, 0, 5, 3.0)]  # fmt: skip
JACOBIAN_HIDDEN = [("decaying", 25, 0, 6, 0.6), ("exploding", 15, 0, 3, 2.5),
                   ("long", 40, 0, 4, 1.0)]  # fmt: skip


def _jacobian_arrays(rng, T, _, H, scale):
    W_hh = rng.normal(size=(H, H))
    W_hh *= scale / max(abs(np.linalg.eigvals(W_hh)))  # spectral radius = scale
    return W_hh, rng.normal(size=(T, H)) * 0.5


def check_jacobian_norms(jacobian_norms, hidden: bool = False) -> None:
    """Check ``jacobian_norms(W_hh, pre_activations) -> (T,)`` against the reference."""
    shapes = JACOBIAN_HIDDEN if hidden else JACOBIAN_SHAPES
    cases = build_cases(_jacobian_arrays, "numpy", hidden, shapes=shapes,
                        describe=lambda T, _, H: f"T={T}, H={H}")  # fmt: skip
    run_check(JACOBIAN_NORMS, jacobian_norms, cases)
