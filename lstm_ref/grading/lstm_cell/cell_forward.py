"""Exercise 2.2: one LSTM step in NumPy.

    lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)
    x (N, I), h and c (N, H), W_ih (4H, I), W_hh (4H, H), b_ih, b_hh (4H,)

a = x W_ih^T + b_ih + h W_hh^T + b_hh = [a_i | a_f | a_g | a_o];
c_next = σ(a_f) c + σ(a_i) tanh(a_g); h_next = σ(a_o) tanh(c_next) (torch's layout).
"""

from __future__ import annotations

from lstm_ref.numpy_ref import lstm_cell_forward

from .. import catalogue
from ..cases import HIDDEN_SHAPES, VISIBLE_SHAPES, build_cases, cell_arrays
from ..core import Case, Check
from ..exercise import Exercise, Part
from ._shared import CELL_SHAPE_HINT, cell_mistakes, function_runner

ARGS = ("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh")


def reference(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """(h_next, c_next) from lstm_ref's NumPy cell, in the inputs' dtype."""
    return lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)[:2]


NUMPY_CELL = Check(
    name="lstm_cell_forward",
    reference=reference,
    output_names=["h_next", "c_next"],
    arg_names=ARGS,
    shape_hint=CELL_SHAPE_HINT,
    mistakes=[
        *catalogue.gate_order(reference, 4, stacked=(3, 4, 5, 6)),
        *catalogue.one_bias(reference, b_ih=5, b_hh=6),
        *cell_mistakes(lambda step: step),
    ],
)  # fmt: skip

# pre-activations in the hundreds: exp(-a) overflows float32, so a naive sigmoid fails
SATURATED = {False: ("saturated gates", 2, 3, 4, 300.0), True: ("saturated gates", 3, 2, 3, 400.0)}


def cases(hidden: bool) -> list[Case]:
    shapes = [*(HIDDEN_SHAPES if hidden else VISIBLE_SHAPES), SATURATED[hidden]]
    return build_cases(cell_arrays(gates=4, with_cell=True), "numpy", hidden, shapes=shapes)


check_lstm_cell_forward = Exercise(
    "lstm_cell_forward", [Part(NUMPY_CELL, cases, function_runner("lstm_cell_forward"))],
    doc="Check the NumPy ``lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)``.")
