"""Exercise 2.1: a logistic sigmoid that never overflows, in NumPy.

    sigmoid(a) -> s          a: any shape, 0-d included, float32 or float64; s like a

NumPy overflow raises while the student's code runs (:func:`~lstm_ref.grading.run.call`),
so the textbook ``1 / (1 + np.exp(-a))`` fails on a = -1000 with a hint, not a warning.
"""

from __future__ import annotations

import numpy as np

from lstm_ref.numpy_ref import sigmoid as reference

from ..cases import DTYPES
from ..core import Case, Check, Mistake
from ..exercise import Exercise, Part
from ._shared import function_runner

# (label, array before the cast to each dtype): extremes, 0-d, several shapes
VISIBLE = [
    ("±1000, ±100, ±30, ±1, ±0.001, 0",
     lambda rng: np.array([-1000, -100, -30, -1, -1e-3, 0, 1e-3, 1, 30, 100, 1000])),
    ("a 0-d array, -1000", lambda rng: np.array(-1000.0)),
    ("normal × 10, shape (3, 4)", lambda rng: rng.normal(scale=10, size=(3, 4))),
    ("uniform in ±1000, shape (2, 3, 4)", lambda rng: rng.uniform(-1000, 1000, (2, 3, 4))),
]  # fmt: skip
HIDDEN = [
    ("around exp's overflow: ±88.7, ±88.8, ±709.7, ±710",
     lambda rng: np.array([[-88.8, -88.7, 88.7, 88.8], [-710, -709.7, 709.7, 710]])),
    ("a 0-d array, 1000", lambda rng: np.array(1000.0)),
    ("normal × 40, shape (4, 1, 5)", lambda rng: rng.normal(scale=40, size=(4, 1, 5))),
    ("uniform in ±1000, shape (60,)", lambda rng: rng.uniform(-1000, 1000, 60)),
]  # fmt: skip


def at_least_1d(fn):
    """``fn`` with a 0-d result (NumPy's, or a float) given shape (1,); others unchanged.

    Works around the judge's report of a difference between two 0-d arrays (see the
    chapter's report): ``np.abs`` of 0-d arrays is a scalar, which it cannot index.
    Applied alike to the reference, the mistakes and the student, so shapes still count.
    """

    def wrapped(a):
        out = fn(a)
        if isinstance(out, np.ndarray | np.generic | float) and np.ndim(out) == 0:
            return np.reshape(out, (1,))  # a Python float becomes float64
        return out

    return wrapped


def _by_tanh(a):
    """sigmoid(a) = (1 + tanh(a / 2)) / 2: stable, in the dtype of a."""
    return 0.5 * (1 + np.tanh(a / 2))


SIGMOID = Check(
    name="sigmoid",
    reference=at_least_1d(reference),
    output_names=["sigmoid(a)"],
    arg_names=("a",),
    mistakes=[
        Mistake("sigmoid(-a): the sign of a is flipped (or the two branches swapped)",
                "sigmoid(a) = 1 / (1 + exp(-a)) is near 1 for large positive a; for a >= 0 "
                "use 1 / (1 + z), for a < 0 use z / (1 + z), with z = exp(-|a|).",
                at_least_1d(lambda a: _by_tanh(-a))),
        Mistake("1 / (1 + exp(-|a|)) for every a, which is sigmoid(|a|)",
                "that branch is only right for a >= 0; for a < 0 use exp(-|a|) / (1 + exp(-|a|)).",
                at_least_1d(lambda a: _by_tanh(np.abs(a)))),
        Mistake("0.5 * (1 + tanh(a)), which is sigmoid(2a)",
                "the identity is sigmoid(a) = 0.5 * (1 + tanh(a / 2)): halve a.",
                at_least_1d(lambda a: 0.5 * (1 + np.tanh(a)))),
        Mistake("exp(-|a|) / (1 + exp(-|a|)) for every a, which is sigmoid(-|a|)",
                "that branch is only right for a < 0; for a >= 0 use 1 / (1 + exp(-|a|)).",
                at_least_1d(lambda a: _by_tanh(-np.abs(a)))),
    ],
)  # fmt: skip


def cases(hidden: bool) -> list[Case]:
    rng = np.random.default_rng(1000 if hidden else 0)
    out = []
    for label, make in HIDDEN if hidden else VISIBLE:
        a = make(rng)
        for dtype in DTYPES:
            name = np.dtype(dtype).name
            out.append(Case(f"{label}, {name}", (a.astype(dtype),), np.dtype(dtype)))
    return out


check_sigmoid = Exercise("sigmoid", [Part(SIGMOID, cases, function_runner("sigmoid", at_least_1d))],
                         doc="Check ``sigmoid(a)``: any shape, no overflow, float32 and float64.")
