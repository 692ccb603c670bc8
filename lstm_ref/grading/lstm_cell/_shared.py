"""What chapter 2's checks share: the cell written with each of its known mistakes, the
cases in torch's (x, (h, c), ...) signature, and a runner that refuses a non-function.

:func:`cell_variant` is the LSTM step in NumPy or torch (whichever the inputs are),
correct with the defaults; each keyword is one mistake. The NumPy cell, the torch cell
and the sequence take their mistakes from :data:`CELL_MISTAKES`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from lstm_ref.numpy_ref import sigmoid as numpy_sigmoid

from ..core import Case, GradingError, Mistake

GATES = "ifgo"  # torch's order of the stacked blocks
CELL_SHAPE_HINT = ("in torch's layout W_ih is (4H, I) and W_hh is (4H, H): the products are "
                   "x @ W_ih.T and h @ W_hh.T, each (N, 4H), split into 4 blocks of H columns.")


def _ops(x):
    """(sigmoid, tanh, concatenate along the last axis) for NumPy arrays or tensors."""
    if isinstance(x, torch.Tensor):
        return torch.sigmoid, torch.tanh, lambda parts: torch.cat(parts, dim=-1)
    return numpy_sigmoid, np.tanh, lambda parts: np.concatenate(parts, axis=-1)


def cell_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, *, concat="[x, h]", split="blocks",
                 gate="sigmoid", candidate="tanh", update="f*c + i*g",
                 output="o*tanh(c_next)"):  # fmt: skip
    """One LSTM step, NumPy or torch; correct with the defaults.

    concat "[h, x]": [h, x] against the stacked [W_ih | W_hh]. split "interleaved": gate
    k taken as the columns k::4. gate, candidate: "sigmoid" or "tanh". update, output:
    how c_next and h_next are formed.
    """
    sigmoid, tanh, cat = _ops(x)
    squash = {"sigmoid": sigmoid, "tanh": tanh}
    if concat == "[x, h]":
        a = x @ W_ih.T + h @ W_hh.T
    else:
        a = cat([h, x]) @ cat([W_ih, W_hh]).T
    a = a + b_ih + b_hh  # (N, 4H)
    H = h.shape[-1]
    if split == "blocks":
        blocks = [a[..., k * H : (k + 1) * H] for k in range(4)]
    else:
        blocks = [a[..., k::4] for k in range(4)]
    pre = dict(zip(GATES, blocks))
    i, f, o = (squash[gate](pre[name]) for name in "ifo")
    g = squash[candidate](pre["g"])
    c_next = {"f*c + i*g": lambda: f * c + i * g, "f*c + g": lambda: f * c + g,
              "f*c + (1-f)*g": lambda: f * c + (1 - f) * g}[update]()  # fmt: skip
    source = c_next if output != "o*tanh(c)" else c
    h_next = o * (source if output == "o*c_next" else tanh(source))
    return h_next, c_next


CELL_MISTAKES = [  # (name, hint, keywords of cell_variant)
    ("the gates taken as interleaved columns instead of consecutive blocks",
     "each gate is a block of H consecutive columns: split a into 4 along axis 1.",
     dict(split="interleaved")),
    ("a sigmoid on the candidate g",
     "g = tanh(a_g), so the candidate can be negative; only i, f and o use the sigmoid.",
     dict(candidate="sigmoid")),
    ("sigmoid and tanh swapped: tanh on the gates i, f, o and sigmoid on g",
     "the gates i, f, o use the sigmoid (values in (0, 1)); the candidate g uses tanh.",
     dict(gate="tanh", candidate="sigmoid")),
    ("h_next = o * c_next, without the tanh",
     "h_next = o * tanh(c_next): the cell state is squashed before the output gate.",
     dict(output="o*c_next")),
    ("h_next computed from the old cell state c instead of c_next",
     "compute c_next first, then h_next = o * tanh(c_next).",
     dict(output="o*tanh(c)")),
    ("c_next = f * c + g: the input gate is left out",
     "the input gate scales what is written: c_next = f * c + i * g.",
     dict(update="f*c + g")),
    ("c_next = f * c + (1 - f) * g: the input gate tied to the forget gate",
     "the LSTM has its own input gate: c_next = f * c + i * g.",
     dict(update="f*c + (1-f)*g")),
    ("[h, x] concatenated against the stacked [W_ih | W_hh]",
     "W_ih's columns multiply x and W_hh's multiply h: concatenate [x, h] in that order.",
     dict(concat="[h, x]")),
]  # fmt: skip


def cell_mistakes(adapt) -> list[Mistake]:
    """:data:`CELL_MISTAKES` for a check whose arguments ``adapt`` maps to a cell's:
    ``adapt(step)`` is a function of the check's arguments that calls ``step(x, h, c,
    W_ih, W_hh, b_ih, b_hh)`` wherever the check's function steps the cell."""

    def variant(keywords):
        return adapt(lambda *args: cell_variant(*args, **keywords))

    return [Mistake(name, hint, variant(keywords)) for name, hint, keywords in CELL_MISTAKES]


def with_state(cases: list[Case]) -> list[Case]:
    """Cases (x, h, c, W_ih, ...) as (x, (h, c), W_ih, ...), torch.nn.LSTMCell's signature."""
    return [dataclasses.replace(case, args=(case.args[0], case.args[1:3], *case.args[3:]))
            for case in cases]  # fmt: skip


def function_runner(name: str, adapt=None):
    """A runner for a function exercise: refuses anything else, then ``adapt(student)``."""

    def runner(student):
        if not callable(student):
            raise GradingError(f"expected a function {name}(...), got {type(student).__name__}")
        return student if adapt is None else adapt(student)

    return runner
