"""Exercise 2.6: gradient-check a backward pass with central differences, in NumPy.

    grad_check_lstm_cell(backward, inputs, dh_next, dc_next) -> GradCheckReport
    inputs: dict x, h, c, W_ih, W_hh, b_ih, b_hh (float64, shapes of exercise 2.2)

The loss is L = Σ dh_next ⊙ h_next + Σ dc_next ⊙ c_next, computed with lstm_ref's
forward (the instructions say so, and allow lstm_ref here), so that this exercise does
not depend on exercise 2.2. What is compared is the report's number of failing entries
for each of the seven inputs, on a correct backward and on two wrong ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lstm_ref.numpy_ref import GradCheckReport, grad_check, lstm_cell_forward

from ..cases import build_cases, cell_arrays
from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part
from ..values import describe
from ._shared import function_runner
from .cell_backward import reference as correct_backward
from .cell_backward import variant as backward_variant

NAMES = ("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh")


def failing_entries(report) -> tuple[np.ndarray, ...]:
    """The report's number of failing entries for each input: the check's outputs.

    Each is an array of shape (1,), not a number: the judge cannot yet report a
    difference between two 0-d values (see the chapter's report).
    """
    if not isinstance(report, GradCheckReport):
        raise GradingError("expected the GradCheckReport that numpy_ref.grad_check returns, "
                           f"got {describe(report)}")  # fmt: skip
    missing = [name for name in NAMES if name not in report.per_input]
    if missing:
        raise GradingError(f"the report checks no gradient for {', '.join(missing)}: pass "
                           "all seven (x, h, c, W_ih, W_hh, b_ih, b_hh) in `analytic`")
    return tuple(np.array([report.per_input[name][1]], dtype=np.float64) for name in NAMES)


def variant(backward, inputs, dh_next, dc_next, *, loss="weighted", call="dh, dc",
            names=NAMES):  # fmt: skip
    """The grad check's report, correct with the defaults; each keyword is one mistake.

    loss: "weighted" Σ dh⊙h' + Σ dc⊙c'; "unweighted" Σ h' + Σ c'; "mean"; "without c";
    "swapped" Σ dc⊙h' + Σ dh⊙c'; "constant" (the loss ignores its arguments). call:
    "dc, dh" passes the upstream gradients to backward swapped. names: the names the
    seven gradients are given in ``analytic``.
    """
    w_h, w_c = (dc_next, dh_next) if loss == "swapped" else (dh_next, dc_next)
    total = {"mean": np.mean}.get(loss, np.sum)

    def scalar_loss(x, h, c, W_ih, W_hh, b_ih, b_hh):
        if loss == "constant":
            x, h, c, W_ih, W_hh, b_ih, b_hh = (inputs[name] for name in NAMES)
        h_next, c_next, _ = lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
        if loss == "unweighted":
            return np.sum(h_next) + np.sum(c_next)
        return total(w_h * h_next) + (0 if loss == "without c" else total(w_c * c_next))

    cache = lstm_cell_forward(**inputs)[2]
    upstream = (dh_next, dc_next) if call == "dh, dc" else (dc_next, dh_next)
    analytic = dict(zip(names, backward(*upstream, cache)))
    return grad_check(scalar_loss, inputs, analytic)


def reference(backward, inputs, dh_next, dc_next):
    return failing_entries(variant(backward, inputs, dh_next, dc_next))


LOSS_HINT = ("use L = np.sum(dh_next * h_next) + np.sum(dc_next * c_next): its gradients "
             "with respect to (h_next, c_next) are (dh_next, dc_next), those backward is given.")
SWAPPED = "dh_next and dc_next swapped, in the loss or in the call to backward"
SWAP_HINT = ("call backward(dh_next, dc_next, cache), and weight h_next by dh_next, "
             "c_next by dc_next.")
MISTAKES = [  # (name, hint, keywords of variant)
    ("the loss sums h_next and c_next without the weights dh_next and dc_next", LOSS_HINT,
     dict(loss="unweighted")),
    ("the loss leaves out c_next",
     "backward was given dc_next too: add np.sum(dc_next * c_next) to the loss.",
     dict(loss="without c")),
    ("the loss averages (np.mean) where it should sum", LOSS_HINT, dict(loss="mean")),
    (SWAPPED, SWAP_HINT, dict(loss="swapped")),
    (SWAPPED, SWAP_HINT, dict(call="dc, dh")),
    ("the loss ignores its arguments: it does not change when grad_check nudges an input",
     "grad_check calls f(**inputs) with one entry nudged: compute the forward from f's own "
     "arguments, not from `inputs`.", dict(loss="constant")),
    ("the gradients dh and dc are given to grad_check under each other's names",
     "backward returns (dx, dh, dc, ...): analytic['h'] is dh, analytic['c'] is dc.",
     dict(names=("x", "c", "h", "W_ih", "W_hh", "b_ih", "b_hh"))),
]  # fmt: skip
GRAD_CHECK = Check(
    name="grad_check_lstm_cell",
    reference=reference,
    output_names=[f"the report's failing entries for {name}" for name in NAMES],
    arg_names=("backward", "inputs", "dh_next", "dc_next"),
    shape_hint="every array in `analytic` has the shape of the input of the same name; "
               "backward returns (dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh) in that order.",
    mistakes=[Mistake(name, hint, lambda *args, k=keywords: failing_entries(variant(*args, **k)))
              for name, hint, keywords in MISTAKES],
    forbid=False,  # the exercise is to use lstm_ref's forward and grad_check
    shared_mistakes=False,  # the outputs are counts: no output pattern applies
)  # fmt: skip

# the backward functions each case checks: the right one, and two of the known mistakes
BACKWARDS = [
    ("a correct backward", correct_backward),
    ("a backward that leaves out dc_next", lambda *a: backward_variant(*a, through_c=False)),
    ("a backward with sigmoid' taken as s", lambda *a: backward_variant(*a, sigmoid_grad="s")),
]  # fmt: skip
# (label, N, I, H, weight scale): small, since central differences run the cell twice per entry
VISIBLE = [("typical", 3, 3, 2, 1.0), ("batch 1", 1, 2, 3, 1.0),
           ("large pre-activations", 2, 3, 2, 20.0)]  # fmt: skip
HIDDEN = [("other sizes", 2, 2, 3, 1.0), ("all sizes 1", 1, 1, 1, 1.0),
          ("large pre-activations", 3, 2, 2, 25.0)]  # fmt: skip


def _with_upstream(rng, N, I, H, scale):
    arrays = cell_arrays(gates=4, with_cell=True)(rng, N, I, H, scale)
    return (*arrays, rng.normal(size=(N, H)), rng.normal(size=(N, H)))


def cases(hidden: bool) -> list[Case]:
    """Cases (backward, inputs, dh_next, dc_next) in float64, one per backward and shape."""
    out = []
    for case in build_cases(_with_upstream, "numpy", hidden, shapes=HIDDEN if hidden else VISIBLE):
        if case.dtype != np.float64:
            continue  # central differences need float64
        *arrays, dh_next, dc_next = case.args
        inputs = dict(zip(NAMES, arrays))
        for label, backward in BACKWARDS:
            args = (backward, inputs, dh_next, dc_next)
            out.append(dataclasses.replace(case, label=f"{label}; {case.label}", args=args))
    return out


def _counts(grad_check_lstm_cell):
    return lambda *args: failing_entries(grad_check_lstm_cell(*args))


check_grad_check_lstm_cell = Exercise(
    "grad_check_lstm_cell",
    [Part(GRAD_CHECK, cases, function_runner("grad_check_lstm_cell", _counts))],
    doc="Check ``grad_check_lstm_cell(backward, inputs, dh_next, dc_next)`` -> a report.")
