"""Exercise 3.1: one GRU step in PyTorch's convention, in torch.

    gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next
    x (N, I), h (N, H), W_ih (3H, I), W_hh (3H, H), b_ih, b_hh (3H,); h_next (N, H)

r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ (h W_hn^T + b_hn)),
h_next = (1 - z) ⊙ n + z ⊙ h, with the blocks stacked as (r, z, n) (Cho et al. 2014,
arXiv v1: r applied after the product, as torch and cuDNN do).

Gradients must reach every argument: a ``.detach()`` or ``torch.no_grad()`` fails.
"""

from __future__ import annotations

import functools

import torch

import lstm_ref.nn.functional as fn

from .. import catalogue
from ..cases import build_cases, cell_arrays
from ..core import Check, Mistake
from ..exercise import Exercise, Part

ARGS = ("x", "h", "W_ih", "W_hh", "b_ih", "b_hh")


def reference(x, h, W_ih, W_hh, b_ih, b_hh):
    return fn.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)  # (N, H), the inputs' dtype


def _gru(x, h, W_ih, W_hh, b_ih, b_hh, *, reversed_z=False, paper=False,
         b_hn_outside=False, swapped=False):  # fmt: skip
    """The GRU cell, or one of the mistakes a flag selects."""
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)  # each (N, H)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    gate, squash = (torch.tanh, torch.sigmoid) if swapped else (torch.sigmoid, torch.tanh)
    r, z = gate(x_r + h_r), gate(x_z + h_z)
    b_hn = b_hh.chunk(3)[2]
    if paper:
        recurrent = (r * h) @ W_hh.chunk(3)[2].T + b_hn  # W_hn (r ⊙ h) + b_hn
    elif b_hn_outside:
        recurrent = r * (h_n - b_hn) + b_hn
    else:
        recurrent = r * h_n  # r ⊙ (W_hn h + b_hn)
    n = squash(x_n + recurrent)
    return z * n + (1 - z) * h if reversed_z else (1 - z) * n + z * h


GRU_CELL_CHECK = Check(
    name="gru_cell",
    reference=reference,
    output_names=["h_next"],
    arg_names=ARGS,
    wrt=(0, 1, 2, 3, 4, 5),
    shape_hint="in torch's layout W_ih is (3H, I) and W_hh is (3H, H): x @ W_ih.T and "
               "h @ W_hh.T are (N, 3H), the blocks r, z, n; split them with .chunk(3, dim=1).",
    mistakes=[
        Mistake("(1 - z) and z reversed: h' = z ⊙ n + (1 - z) ⊙ h",
                "in torch's convention z keeps the old state: h' = (1 - z) ⊙ n + z ⊙ h.",
                functools.partial(_gru, reversed_z=True)),
        Mistake("the published paper's convention instead of torch's: r applied to h before W_hn",
                "torch applies r after the product: n = tanh(x_n + r ⊙ (h @ W_hn.T + b_hn)).",
                functools.partial(_gru, paper=True)),
        Mistake("b_hn added outside the reset gate's product",
                "b_hn belongs inside: r ⊙ (h @ W_hn.T + b_hn), not r ⊙ (h @ W_hn.T) + b_hn.",
                functools.partial(_gru, b_hn_outside=True)),
        Mistake("sigmoid and tanh swapped",
                "the gates r and z use sigmoid; the candidate n uses tanh.",
                functools.partial(_gru, swapped=True)),
        *catalogue.gate_order(reference, 3, stacked=(2, 3, 4, 5)),
        *catalogue.one_bias(reference, b_ih=4, b_hh=5),
    ],
)  # fmt: skip


def cases(hidden: bool):
    return build_cases(cell_arrays(gates=3, with_cell=False), "torch", hidden)


check_gru_cell = Exercise("gru_cell", [Part(GRU_CELL_CHECK, cases)],
                          doc="Check ``gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next``.")
