"""Exercise 3.3: a bidirectional layer built from a given cell (LSTM or GRU), in torch.

    bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd) -> output
    x (L, N, I); states: tuples of (N, H) tensors, (h, c) or (h,); params: (W_ih, W_hh,
    b_ih, b_hh); output (L, N, 2H), row t = [forward h_t ; backward h_t]

``cell(x_t, state, *params)`` is lstm_ref's (:mod:`.given`); the student's code runs with
torch's and lstm_ref's recurrent layers refused. Gradients must reach x, both states and
both directions' weights: a ``.detach()`` or ``torch.no_grad()`` fails.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from .. import catalogue
from ..cases import HIDDEN_SHAPES, VISIBLE_SHAPES, build_cases, cell_arrays
from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part
from .given import GRU_CELL, LSTM_CELL

ARGS = ("cell", "x", "state_fwd", "state_bwd", "params_fwd", "params_bwd")


def _one_direction(cell, x, state, params, carry=True, pick=0):
    """``cell`` run over x in the order given: outputs (L, N, H) and the final state."""
    outputs, initial = [], state
    for x_t in x:  # x_t (N, I)
        state = cell(x_t, state if carry else initial, *params)
        outputs.append(state[pick])
    return torch.stack(outputs), state


def _bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd, *, rereverse=True,
                   reverse_input=True, backward_first=False, dim=-1, start="state_bwd",
                   shared_params=False, carry=True, pick=0):  # fmt: skip
    """A bidirectional layer, or one of the mistakes a flag selects."""
    forward, final_fwd = _one_direction(cell, x, state_fwd, params_fwd, carry, pick)
    initial = {"state_bwd": state_bwd, "state_fwd": state_fwd, "final_fwd": final_fwd}[start]
    weights = params_fwd if shared_params else params_bwd
    backward, _ = _one_direction(cell, x.flip(0) if reverse_input else x, initial, weights,
                                 carry, pick)  # fmt: skip
    if reverse_input and rereverse:
        backward = backward.flip(0)
    pair = (backward, forward) if backward_first else (forward, backward)
    return torch.cat(pair, dim=dim)


def reference(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    """What torch.nn.LSTM / GRU(bidirectional=True) computes with these weights (the
    tests check it against lstm_ref's layer); differentiable in every tensor."""
    return _bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)


def _bi(**wrong):
    return functools.partial(_bidirectional, **wrong)


def _one_bias_of_two() -> list[Mistake]:
    """:func:`catalogue.one_bias` for both directions: the biases stacked, (2, G*H) each."""

    def flat_reference(cell, x, state_fwd, state_bwd, b_ih, b_hh, W):
        return reference(cell, x, state_fwd, state_bwd, (W[0], W[1], b_ih[0], b_hh[0]),
                         (W[2], W[3], b_ih[1], b_hh[1]))  # fmt: skip

    def flat(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
        (W_f, U_f, b_f, c_f), (W_b, U_b, b_b, c_b) = params_fwd, params_bwd
        return (cell, x, state_fwd, state_bwd, torch.stack([b_f, b_b]),
                torch.stack([c_f, c_b]), (W_f, U_f, W_b, U_b))  # fmt: skip

    return [Mistake(m.name, m.hint, lambda *args, m=m: m.fn(*flat(*args)))
            for m in catalogue.one_bias(flat_reference, b_ih=4, b_hh=5)]  # fmt: skip


BIDIRECTIONAL_CHECK = Check(
    name="bidirectional",
    reference=reference,
    output_names=["output"],
    arg_names=ARGS,
    wrt=(1, 2, 3, 4, 5),
    shape_hint="x is time-major, (L, N, I): x[t] is step t, an (N, I) batch; each "
               "direction's h_t is (N, H), and output is (L, N, 2H).",
    mistakes=[
        Mistake("the backward outputs are not re-reversed before concatenation",
                "flip the backward outputs back, so that row t of both halves is step t.",
                _bi(rereverse=False)),
        Mistake("the backward direction runs over x in forward order",
                "run the backward cell over x.flip(0), then flip its outputs back.",
                _bi(reverse_input=False)),
        Mistake("the backward half comes first in the concatenation",
                "torch's order is [forward, backward] along the last axis.",
                _bi(backward_first=True)),
        Mistake("the backward pass starts from the forward pass's final state",
                "the two directions are independent: start the backward one from state_bwd.",
                _bi(start="final_fwd")),
        Mistake("the backward pass starts from state_fwd",
                "start the backward direction from state_bwd.", _bi(start="state_fwd")),
        Mistake("the backward direction uses params_fwd",
                "each direction has its own weights: use params_bwd going backward.",
                _bi(shared_params=True)),
        Mistake("the state is not carried between steps",
                "feed each step the state the cell returned at the step before.",
                _bi(carry=False)),
        Mistake("the outputs are the LSTM's cell state c (state[-1]), not h (state[0])",
                "the cell returns a state tuple whose first entry is h: output state[0].",
                _bi(pick=-1)),
        Mistake("concatenated along the time axis (dim 0) instead of the features",
                "concatenate along the last axis: (L, N, H) and (L, N, H) give (L, N, 2H).",
                _bi(dim=0)),
        Mistake("concatenated along the batch axis (dim 1) instead of the features",
                "concatenate along the last axis: (L, N, H) and (L, N, H) give (L, N, 2H).",
                _bi(dim=1)),
        *_one_bias_of_two(),
    ],
)  # fmt: skip

UNPACKING = ("values to unpack", "tuple index out of range")


def runner(student):
    """The student's function; an LSTM-only unpacking of a GRU's state (h,) is explained."""

    def run(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
        try:
            return student(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)
        except (ValueError, IndexError) as error:
            if len(state_fwd) != 1 or not any(m in str(error) for m in UNPACKING):
                raise
            raise GradingError(
                f"raised {type(error).__name__} ({error}) with a GRU cell, whose state is (h,)"
                ", one tensor: write it for any cell, pass the state whole, h = state[0]."
            ) from None

    return run


def _arrays(gates: int, with_cell: bool, length: int):
    """x (L, N, I), then the forward direction's state and weights, then the backward's."""
    make = cell_arrays(gates, with_cell, length)

    def arrays(rng: np.random.Generator, N: int, I: int, H: int, scale: float):
        forward = make(rng, N, I, H, scale)
        backward = make(rng, N, I, H, scale)[1:]  # its own state and weights; x is shared
        return (*forward, *backward)

    return arrays


def cases(hidden: bool = False) -> list[Case]:
    """LSTM cases on every standard shape, GRU cases on two: the wrapper is for any cell."""
    length = 7 if hidden else 5
    shapes = HIDDEN_SHAPES if hidden else VISIBLE_SHAPES
    found = []
    for kind, cell, gates, S, kind_shapes in [("LSTM", LSTM_CELL, 4, 2, shapes),
                                              ("GRU", GRU_CELL, 3, 1, shapes[:2])]:  # fmt: skip

        def regroup(x, *a, cell=cell, S=S):  # S state tensors per direction
            return (cell, x, a[:S], a[S + 4 : 2 * S + 4], a[S : S + 4], a[2 * S + 4 :])

        for case in build_cases(_arrays(gates, S == 2, length), "torch", hidden,
                                shapes=kind_shapes):  # fmt: skip
            found.append(dataclasses.replace(case, label=f"{kind} cell, L={length}: "
                                             f"{case.label}", args=regroup(*case.args)))
    return found


check_bidirectional = Exercise(
    "bidirectional", [Part(BIDIRECTIONAL_CHECK, cases, runner)],
    doc="Check ``bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)``.")
