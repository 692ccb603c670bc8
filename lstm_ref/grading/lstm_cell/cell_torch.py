"""Exercise 2.3: one LSTM step in torch, in torch.nn.LSTMCell's signature.

    lstm_cell_torch(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)
    shapes as in exercise 2.2; on the inputs' device and in their dtype

Besides the values, the gradients of a fixed weighted sum of (h_next, c_next) must reach
x, the state (h, c) and the four parameters, and equal the reference's: a ``.detach()``,
a NumPy round trip or ``torch.no_grad()`` is named "the gradient is cut".
"""

from __future__ import annotations

from lstm_ref.nn.functional import lstm_cell

from .. import catalogue
from ..cases import build_cases, cell_arrays
from ..core import Case, Check
from ..exercise import Exercise, Part
from ._shared import CELL_SHAPE_HINT, cell_mistakes, function_runner, with_state

ARGS = ("x", "state (h, c)", "W_ih", "W_hh", "b_ih", "b_hh")


def reference(x, state, W_ih, W_hh, b_ih, b_hh):
    """lstm_ref's torch cell: (h_next, c_next), differentiable, in the inputs' dtype."""
    return lstm_cell(x, state, W_ih, W_hh, b_ih, b_hh)


def _unpacked(step):
    """``step(x, h, c, ...)`` as a function of (x, (h, c), ...)."""
    return lambda x, state, *weights: step(x, *state, *weights)


TORCH_CELL = Check(
    name="lstm_cell_torch",
    reference=reference,
    output_names=["h_next", "c_next"],
    arg_names=ARGS,
    wrt=(0, 1, 2, 3, 4, 5),
    shape_hint=CELL_SHAPE_HINT,
    mistakes=[
        catalogue.swapped_state(reference, 1),
        *catalogue.gate_order(reference, 4, stacked=(2, 3, 4, 5)),
        *catalogue.one_bias(reference, b_ih=4, b_hh=5),
        *cell_mistakes(_unpacked),
    ],
)  # fmt: skip


def cases(hidden: bool) -> list[Case]:
    return with_state(build_cases(cell_arrays(gates=4, with_cell=True), "torch", hidden))


check_lstm_cell_torch = Exercise(
    "lstm_cell_torch", [Part(TORCH_CELL, cases, function_runner("lstm_cell_torch"))],
    doc="Check ``lstm_cell_torch(x, (h, c), W_ih, W_hh, b_ih, b_hh)``: values and gradients.")
