"""Exercise 2.4: the LSTM over a whole sequence, in torch.

    lstm_forward(x, (h_0, c_0), W_ih, W_hh, b_ih, b_hh, cell=...) -> (output, (h_n, c_n))
    x (L, N, I), time first; output (L, N, H), the states h_1..h_L; h_n, c_n (N, H)

The test passes ``cell=course_cell``, the course's own step, so a mistake in exercise
2.3 does not cost this exercise as well. Gradients must reach x, the initial state and
the parameters through every step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstm_ref.nn.functional import lstm_step
from lstm_ref.nn.recurrent import scan

from .. import catalogue
from ..cases import build_cases, cell_arrays
from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part
from ..values import describe
from ._shared import CELL_SHAPE_HINT, cell_mistakes, cell_variant, function_runner, with_state

ARGS = ("x", "state (h_0, c_0)", "W_ih", "W_hh", "b_ih", "b_hh")


def course_cell(x, state, W_ih, W_hh, b_ih, b_hh):
    """The course's LSTM step, ``lstm_cell_torch``'s signature; the test passes it as
    ``cell`` (written here with torch operations, so the delegation guard allows it)."""
    return cell_variant(x, *state, W_ih, W_hh, b_ih, b_hh)


def reference(x, state, W_ih, W_hh, b_ih, b_hh):
    """lstm_ref's loop over time, flat: output (L, N, H), h_n, c_n."""
    output, (h_n, c_n) = scan(lstm_step, F.linear(x, W_ih, b_ih), state, (W_hh, b_hh))
    return output, h_n, c_n


def loop_variant(x, state, W_ih, W_hh, b_ih, b_hh, *, carry="h, c", collect="h_t",
                 reverse=False, step=cell_variant):  # fmt: skip
    """The loop over time, flat, correct with the defaults; each keyword is one mistake.

    carry: what is passed to the next step ("h, c"; "h", with c reset; "nothing": every
    step starts from the initial state). collect: "h_t", "c_t" or "h_{t-1}". reverse:
    run from x[L-1] down to x[0]. step: the cell, ``step(x, h, c, W_ih, ...)``.
    """
    h, c = state
    outputs = []
    for x_t in x.flip(0) if reverse else x:
        h_t, c_t = step(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        outputs.append({"h_t": h_t, "c_t": c_t, "h_{t-1}": h}[collect])
        h = h_t if carry != "nothing" else state[0]
        c = c_t if carry == "h, c" else state[1]
    return torch.stack(outputs), h_t, c_t


SEQUENCE_MISTAKES = [  # (name, hint, keywords of loop_variant)
    ("the state is not carried between steps: every step starts from the initial state",
     "after each step pass the new (h, c) on: state = cell(x[t], state, W_ih, ...).",
     dict(carry="nothing")),
    ("the cell state c is not carried between steps",
     "carry both states: the next step gets the new c as well as the new h.",
     dict(carry="h")),
    ("output collects c_t instead of h_t",
     "the output at step t is the hidden state h_t, the first of (h_t, c_t).",
     dict(collect="c_t")),
    ("output[t] holds h_{t-1}: the state is recorded before the step",
     "run the step first, then append the new h_t: output[0] is h_1, not h_0.",
     dict(collect="h_{t-1}")),
    ("the steps run backwards in time",
     "process x[0], x[1], ..., x[L-1] in that order: x is (L, N, I), time first.",
     dict(reverse=True)),
]  # fmt: skip


def _loop(step):
    return lambda *args: loop_variant(*args, step=step)


SEQUENCE = Check(
    name="lstm_forward",
    reference=reference,
    output_names=["output", "h_n", "c_n"],
    arg_names=ARGS,
    wrt=(0, 1, 2, 3, 4, 5),
    shape_hint=CELL_SHAPE_HINT + " x is (L, N, I): step t reads x[t], (N, I).",
    mistakes=[
        *(Mistake(name, hint, lambda *a, k=keywords: loop_variant(*a, **k))
          for name, hint, keywords in SEQUENCE_MISTAKES),
        catalogue.swapped_state(reference, 1),
        *catalogue.gate_order(reference, 4, stacked=(2, 3, 4, 5)),
        *catalogue.one_bias(reference, b_ih=4, b_hh=5),
        *cell_mistakes(_loop),
    ],
)  # fmt: skip


def _flat(lstm_forward):
    """The student's (output, (h_n, c_n)), with the course's cell passed in, as 3 outputs."""

    def flat(*args):
        result = lstm_forward(*args, cell=course_cell)
        try:
            output, (h_n, c_n) = result
        except (TypeError, ValueError):
            raise GradingError(f"expected (output, (h_n, c_n)), got {describe(result)}") from None
        return output, h_n, c_n

    return flat


LENGTH = {False: 6, True: 9}  # visible, hidden
LENGTH_ONE = [("length 1", 2, 3, 4, 1.0)]  # (label, N, I, H, weight scale)


def cases(hidden: bool) -> list[Case]:
    L = LENGTH[hidden]
    make = cell_arrays(gates=4, with_cell=True, length=L)
    out = build_cases(make, "torch", hidden, describe=lambda N, I, H: f"L={L}, N={N}, I={I}, H={H}")
    one = cell_arrays(gates=4, with_cell=True, length=1)
    out += build_cases(one, "torch", hidden, shapes=LENGTH_ONE,
                       describe=lambda N, I, H: f"L=1, N={N}, I={I}, H={H}")  # fmt: skip
    return with_state(out)


check_lstm_forward = Exercise(
    "lstm_forward", [Part(SEQUENCE, cases, function_runner("lstm_forward", _flat))],
    doc="Check ``lstm_forward(x, (h, c), W_ih, W_hh, b_ih, b_hh, cell)`` -> "
        "``(output, (h_n, c_n))``.")  # fmt: skip
