"""Exercise 3.2: one peephole LSTM step (Gers & Schmidhuber 2000), in torch.

    peephole_lstm_cell(x, (h, c), W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co) -> (h_next, c_next)
    x (N, I), h, c (N, H), W_ih (4H, I), W_hh (4H, H), b_ih, b_hh (4H,), w_c* (H,)

The input and forget gates add w_ci ⊙ c and w_cf ⊙ c (the old cell state); the output
gate adds w_co ⊙ c_next (the new one). Blocks in torch's LSTM order (i, f, g, o).

Gradients must reach every argument: a ``.detach()`` or ``torch.no_grad()`` fails.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

import lstm_ref.nn.functional as fn

from .. import catalogue
from ..cases import build_cases, cell_arrays
from ..core import Check, Mistake
from ..exercise import Exercise, Part

ARGS = ("x", "state", "W_ih", "W_hh", "b_ih", "b_hh", "w_ci", "w_cf", "w_co")


def reference(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    return fn.peephole_lstm_cell(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co)


def _peephole(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, *, o_sees_old=False,
              drop="", dot=False, no_tanh=False):  # fmt: skip
    """The peephole LSTM cell, or one of the mistakes a flag selects."""
    h, c_prev = state
    blocks = dict(zip("ifgo", (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)))
    peep = {"i": w_ci, "f": w_cf, "o": w_co}
    peep.update({gate: torch.zeros_like(w_ci) for gate in drop})
    if dot:  # one number per sequence: c @ w, broadcast over the units
        look = lambda gate, c: (c @ peep[gate])[:, None]  # noqa: E731
    else:
        look = lambda gate, c: peep[gate] * c  # noqa: E731
    i = torch.sigmoid(blocks["i"] + look("i", c_prev))
    f = torch.sigmoid(blocks["f"] + look("f", c_prev))
    c = f * c_prev + i * torch.tanh(blocks["g"])
    o = torch.sigmoid(blocks["o"] + look("o", c_prev if o_sees_old else c))
    return (o * c if no_tanh else o * torch.tanh(c)), c


def _swapped_peepholes(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    return reference(x, state, W_ih, W_hh, b_ih, b_hh, w_cf, w_ci, w_co)


PEEPHOLE_HINT = ("w_ci, w_cf and w_co are vectors of shape (H,): multiply element-wise,"
                 " w_ci * c (broadcast over the batch), not with @.")  # fmt: skip

PEEPHOLE_CHECK = Check(
    name="peephole_lstm_cell",
    reference=reference,
    output_names=["h_next", "c_next"],
    arg_names=ARGS,
    wrt=tuple(range(len(ARGS))),
    shape_hint=PEEPHOLE_HINT,
    mistakes=[
        Mistake("the output gate peeks at c_{t-1} instead of c_t",
                "compute c_t first; the output gate adds w_co ⊙ c_t, the new cell state.",
                functools.partial(_peephole, o_sees_old=True)),
        Mistake("the input gate has no peephole (w_ci left out)",
                "add w_ci ⊙ c_{t-1} to the input gate's pre-activation.",
                functools.partial(_peephole, drop="i")),
        Mistake("the forget gate has no peephole (w_cf left out)",
                "add w_cf ⊙ c_{t-1} to the forget gate's pre-activation.",
                functools.partial(_peephole, drop="f")),
        Mistake("the output gate has no peephole (w_co left out)",
                "add w_co ⊙ c_t to the output gate's pre-activation.",
                functools.partial(_peephole, drop="o")),
        Mistake("no peepholes at all (a plain LSTM cell)",
                "add w_ci ⊙ c and w_cf ⊙ c to the input and forget gates, w_co ⊙ c_next to "
                "the output gate.", functools.partial(_peephole, drop="ifo")),
        Mistake("w_ci and w_cf swapped",
                "w_ci goes with the input gate, w_cf with the forget gate.", _swapped_peepholes),
        Mistake("the peephole as a dot product c @ w (one number per sequence)",
                "a peephole is diagonal: each unit sees its own cell, w ⊙ c (w * c), shape (N, H).",
                functools.partial(_peephole, dot=True)),
        Mistake("o ⊙ c_t without tanh", "h_t = o_t ⊙ tanh(c_t).",
                functools.partial(_peephole, no_tanh=True)),
        catalogue.swapped_state(reference, 1),
        *catalogue.gate_order(reference, 4, stacked=(2, 3, 4, 5)),
        *catalogue.one_bias(reference, b_ih=4, b_hh=5),
    ],
)  # fmt: skip


def _arrays(rng: np.random.Generator, N: int, I: int, H: int, scale: float):
    """x, h, c, W_ih, W_hh, b_ih, b_hh as for the LSTM, then w_ci, w_cf, w_co (H,)."""
    arrays = cell_arrays(gates=4, with_cell=True)(rng, N, I, H, scale)
    return (*arrays, *rng.uniform(-scale, scale, size=(3, H)))


def cases(hidden: bool):
    found = build_cases(_arrays, "torch", hidden)
    return [dataclasses.replace(case, args=(case.args[0], case.args[1:3], *case.args[3:]))
            for case in found]  # (x, (h, c), W_ih, ...)  # fmt: skip


check_peephole_lstm_cell = Exercise(
    "peephole_lstm_cell", [Part(PEEPHOLE_CHECK, cases)],
    doc="Check ``peephole_lstm_cell(x, (h, c), W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co)``.")
