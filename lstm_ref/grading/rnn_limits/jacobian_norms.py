"""Exercise 1.2: the norm of ∂h_t/∂h_0 through t steps of a tanh RNN, in NumPy.

    jacobian_norms(W_hh, pre_activations) -> norms
    W_hh (H, H), pre_activations a_1..a_T (T, H); norms (T,), entry t-1 = ‖∂h_t/∂h_0‖₂

∂h_t/∂h_{t-1} = diag(1 - tanh²(a_t)) W_hh (Bengio et al. 1994; Pascanu et al. 2013).
"""

from __future__ import annotations

import numpy as np

from ..cases import build_cases
from ..core import Check, Mistake
from ..exercise import Exercise, Part


def reference(W_hh: np.ndarray, pre_activations: np.ndarray) -> np.ndarray:
    """‖∂h_t/∂h_0‖₂ for t = 1..T, with ∂h_t/∂h_{t-1} = diag(1 - tanh²(a_t)) W_hh."""
    H = W_hh.shape[0]
    J = np.eye(H, dtype=W_hh.dtype)  # ∂h_0/∂h_0
    norms = []
    for a in pre_activations:  # a_t (H,)
        J = np.diag(1 - np.tanh(a) ** 2) @ W_hh @ J  # chain rule, newest factor on the left
        norms.append(np.linalg.norm(J, 2))  # spectral norm: the largest singular value
    return np.array(norms, dtype=W_hh.dtype)


def _product(W_hh, a, factor, order="left", norm=2, start=0):
    J = np.eye(W_hh.shape[0], dtype=W_hh.dtype)
    norms = []
    for a_t in a:
        step = np.diag(factor(a_t)) @ W_hh
        J = step @ J if order == "left" else J @ step
        norms.append(np.linalg.norm(J, norm))
    return np.array(norms, dtype=W_hh.dtype)


def _tanh_prime(a):
    return 1 - np.tanh(a) ** 2


JACOBIAN_NORMS = Check(
    name="jacobian_norms",
    reference=reference,
    output_names=["norms"],
    arg_names=("W_hh", "pre_activations"),
    shape_hint="W_hh is (H, H) and each a_t is (H,): the step's Jacobian is "
               "np.diag(1 - np.tanh(a_t)**2) @ W_hh, an (H, H) matrix.",
    mistakes=[
        Mistake("the tanh' factor is left out",
                "each step's Jacobian is diag(1 - tanh(a_t)²) W_hh.",
                lambda W, a: _product(W, a, np.ones_like)),
        Mistake("tanh(a_t) used where its derivative 1 - tanh(a_t)² belongs",
                "d tanh(a)/da = 1 - tanh(a)².", lambda W, a: _product(W, a, np.tanh)),
        Mistake("the derivative written as 1 - a_t² instead of 1 - tanh(a_t)²",
                "square tanh(a_t), not a_t.", lambda W, a: _product(W, a, lambda v: 1 - v**2)),
        Mistake("the derivative written as 1 - tanh(a_t), not 1 - tanh(a_t)²",
                "d tanh(a)/da = 1 - tanh(a)²: square the tanh.",
                lambda W, a: _product(W, a, lambda v: 1 - np.tanh(v))),
        Mistake("the factors are multiplied in the wrong order",
                "the newest Jacobian goes on the left: J_t = diag(...) W_hh J_{t-1}.",
                lambda W, a: _product(W, a, _tanh_prime, order="right")),
        Mistake("the Frobenius norm instead of the spectral norm",
                "use np.linalg.norm(J, 2), the largest singular value.",
                lambda W, a: _product(W, a, _tanh_prime, norm="fro")),
        Mistake("W_hh is used untransposed where its transpose belongs, or the other way",
                "∂h_t/∂h_{t-1} = diag(1 - tanh²(a_t)) @ W_hh, with W_hh as given.",
                lambda W, a: _product(W.T, a, _tanh_prime)),
        Mistake("the norms start with ∂h_0/∂h_0 = I, one step late",
                "entry t-1 is the norm after t factors: append after multiplying.",
                lambda W, a: np.concatenate([[np.float64(1.0)],
                                             reference(W, a[:-1])]).astype(W.dtype)),
    ],
)  # fmt: skip

# (label, T, unused, H, spectral scale of W_hh): decaying, single unit, growing
SHAPES = [("decaying", 12, 0, 4, 0.8), ("one unit", 6, 0, 1, 0.9), ("exploding", 20, 0, 5, 3.0)]
HIDDEN = [("decaying", 25, 0, 6, 0.6), ("exploding", 15, 0, 3, 2.5), ("long", 40, 0, 4, 1.0)]


def _arrays(rng, T, _, H, scale):
    W_hh = rng.normal(size=(H, H))
    W_hh *= scale / max(abs(np.linalg.eigvals(W_hh)))  # spectral radius = scale
    return W_hh, rng.normal(size=(T, H)) * 0.5


def cases(hidden: bool):
    return build_cases(_arrays, "numpy", hidden, shapes=HIDDEN if hidden else SHAPES,
                       describe=lambda T, _, H: f"T={T}, H={H}")  # fmt: skip


check_jacobian_norms = Exercise(
    "jacobian_norms", [Part(JACOBIAN_NORMS, cases)],
    doc="Check ``jacobian_norms(W_hh, pre_activations) -> norms (T,)``.")
