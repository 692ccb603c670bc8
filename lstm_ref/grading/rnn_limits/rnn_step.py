"""Exercise 1.1: one Elman RNN step, in NumPy.

    rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next
    x (N, I), h (N, H), W_ih (H, I), W_hh (H, H), b_ih, b_hh (H,); h_next (N, H)

h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (Elman 1990, in torch's layout).
"""

from __future__ import annotations

import numpy as np

from lstm_ref.numpy_ref import rnn_cell_forward

from .. import catalogue
from ..cases import build_cases, cell_arrays
from ..core import Check, Mistake
from ..exercise import Exercise, Part

ARGS = ("x", "h", "W_ih", "W_hh", "b_ih", "b_hh")


def reference(x, h, W_ih, W_hh, b_ih, b_hh):
    return rnn_cell_forward(x, h, W_ih, W_hh, b_ih, b_hh)[0]  # (N, H)


def _pre(x, h, W_ih, W_hh, b_ih, b_hh):
    return x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # a_t (N, H)


RNN_STEP = Check(
    name="rnn_step",
    reference=reference,
    output_names=["h_next"],
    arg_names=ARGS,
    shape_hint="in torch's layout W_ih is (H, I) and W_hh is (H, H), so the products are "
               "x @ W_ih.T and h @ W_hh.T.",
    mistakes=[
        *catalogue.one_bias(reference, b_ih=4, b_hh=5),
        Mistake("no nonlinearity", "h_next = tanh(pre-activation), not the pre-activation.",
                _pre),
        Mistake("sigmoid instead of tanh", "the Elman RNN uses tanh, which is zero-centred.",
                lambda *a: 1 / (1 + np.exp(-_pre(*a)))),
        Mistake("relu instead of tanh", "use np.tanh.", lambda *a: np.maximum(_pre(*a), 0)),
        Mistake("the previous state is ignored", "add the recurrent term h @ W_hh.T + b_hh.",
                lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + b_hh)),
        catalogue.transposed_weight(reference, 3, "W_hh"),
    ],
)  # fmt: skip


def cases(hidden: bool):
    return build_cases(cell_arrays(gates=1, with_cell=False), "numpy", hidden)


check_rnn_step = Exercise("rnn_step", [Part(RNN_STEP, cases)],
                          doc="Check ``rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next``.")
