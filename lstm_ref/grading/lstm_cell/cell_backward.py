"""Exercise 2.5: the LSTM step's backward pass, by hand, in NumPy.

    lstm_cell_backward(dh_next, dc_next, cache) -> (dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh)
    cache: the dict lstm_ref.numpy_ref.lstm_cell_forward returns (affine_inputs, c,
    gates (i, f, g, o), tanh_c_next); every gradient in the inputs' dtype

The cases build the cache with lstm_ref's forward, so this exercise stands alone.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from lstm_ref.numpy_ref import lstm_cell_backward, lstm_cell_forward

from ..cases import build_cases, cell_arrays
from ..core import Case, Check, Mistake
from ..exercise import Exercise, Part
from ._shared import GATES, function_runner

OUTPUTS = ["dx", "dh", "dc", "dW_ih", "dW_hh", "db_ih", "db_hh"]


def reference(dh_next, dc_next, cache):
    """lstm_ref's backward, its parameter gradients unpacked in OUTPUTS' order."""
    dx, dh, dc, grads = lstm_cell_backward(dh_next, dc_next, cache)
    return dx, dh, dc, grads["W_ih"], grads["W_hh"], grads["b_ih"], grads["b_hh"]


def variant(dh_next, dc_next, cache, *, through_h=True, through_c=True, sigmoid_grad="s(1-s)",
            candidate_grad="1-g²", tanh_factor=True, times_f=True, stack=GATES, unpack=GATES,
            dW="da.T @ x", db="sum"):  # fmt: skip
    """The backward, correct with the defaults; each keyword is one mistake.

    stack: the order the gate gradients are concatenated in; unpack: the names given to
    cache["gates"] (i, f, g, o) in order, "ifog" calls the cached g "o".
    """
    x, h, W_ih, W_hh, b_ih, b_hh = cache["affine_inputs"]
    gate = dict(zip(unpack, cache["gates"]))
    i, f, g, o = (gate[name] for name in GATES)
    c, tanh_c_next = cache["c"], cache["tanh_c_next"]
    ds = {"s(1-s)": lambda s: s * (1 - s), "s": lambda s: s}[sigmoid_grad]
    dg = {"1-g²": lambda t: 1 - t * t, "g(1-g)": lambda t: t * (1 - t)}[candidate_grad]
    dc_total = (dc_next if through_c else 0) + (
        dh_next * o * (1 - tanh_c_next**2) if through_h else 0)
    da = {"i": dc_total * g * ds(i), "f": dc_total * c * ds(f), "g": dc_total * i * dg(g),
          "o": dh_next * (tanh_c_next if tanh_factor else 1) * ds(o)}  # fmt: skip
    da = np.concatenate([da[name] for name in stack], axis=1)  # (N, 4H)
    dc = dc_total * f if times_f else dc_total
    dW_ih, dW_hh = (da.T @ x, da.T @ h) if dW == "da.T @ x" else (x.T @ da, h.T @ da)
    bias = {"sum": da.sum(axis=0), "mean": da.mean(axis=0), "none": da}[db]
    return da @ W_ih, da @ W_hh, dc, dW_ih, dW_hh, bias, bias.copy()


MISTAKES = [  # (name, hint, keywords of variant)
    ("the path from h_next through tanh(c_next) is missing from dc_total",
     "h_next = o * tanh(c_next) depends on c_next too: "
     "dc_total = dc_next + dh_next * o * (1 - tanh(c_next)**2).",
     dict(through_h=False)),
    ("the incoming dc_next is left out of dc_total",
     "c_next also feeds the next step: dc_total = dc_next + dh_next * o * (1 - tanh(c_next)**2).",
     dict(through_c=False)),
    ("sigmoid' taken as s instead of s * (1 - s)",
     "for s = sigmoid(a), ds/da = s * (1 - s); use it for i, f and o.",
     dict(sigmoid_grad="s")),
    ("the candidate's derivative taken as g * (1 - g), a sigmoid's",
     "g = tanh(a_g), so dg/da_g = 1 - g**2.",
     dict(candidate_grad="g(1-g)")),
    ("da_o is missing the factor tanh(c_next)",
     "h_next = o * tanh(c_next), so da_o = dh_next * tanh(c_next) * o * (1 - o).",
     dict(tanh_factor=False)),
    ("dc is missing the factor f",
     "c_next = f * c + i * g, so dc = dc_total * f.",
     dict(times_f=False)),
    ("dW_ih and dW_hh transposed",
     "dW_ih = da.T @ x has W_ih's shape (4H, I), and dW_hh = da.T @ h has shape (4H, H).",
     dict(dW="x.T @ da")),
    ("the bias gradients not summed over the batch",
     "every row of the batch uses the same bias: db_ih = db_hh = da.sum(axis=0), shape (4H,).",
     dict(db="none")),
    ("the bias gradients averaged over the batch",
     "the loss adds the rows' contributions, so sum them: db_ih = db_hh = da.sum(axis=0).",
     dict(db="mean")),
]  # fmt: skip
ORDERS = ["".join(p) for p in itertools.permutations(GATES) if "".join(p) != GATES]
STACK_HINT = ("stack da = [da_i | da_f | da_g | da_o], the forward's order i, f, g, o, so "
              "that its blocks line up with W_ih's rows.")
UNPACK_HINT = 'cache["gates"] is the tuple (i, f, g, o): unpack it as i, f, g, o = ...'


def _mistake(name, hint, keywords):
    return Mistake(name, hint, lambda *args: variant(*args, **keywords))


BACKWARD = Check(
    name="lstm_cell_backward",
    reference=reference,
    output_names=OUTPUTS,
    arg_names=("dh_next", "dc_next", "cache"),
    shape_hint="da is (N, 4H): dx = da @ W_ih is (N, I), dW_ih = da.T @ x is (4H, I), "
               "db = da.sum(axis=0) is (4H,).",
    mistakes=[
        *(_mistake(name, hint, keywords) for name, hint, keywords in MISTAKES),
        Mistake("dh_next and dc_next used in each other's place",
                "the arguments are (dh_next, dc_next, cache): dh_next is ∂L/∂h_next.",
                lambda dh_next, dc_next, cache: reference(dc_next, dh_next, cache)),
        *(_mistake(f"the gate gradients stacked in the order {', '.join(order)}, not "
                   "i, f, g, o", STACK_HINT, dict(stack=order)) for order in ORDERS),
        *(_mistake(f'cache["gates"] unpacked as {", ".join(order)}; it holds i, f, g, o',
                   UNPACK_HINT, dict(unpack=order)) for order in ORDERS),
    ],
)  # fmt: skip


def _with_upstream(rng, N, I, H, scale):
    """A cell's arrays, then dh_next and dc_next (N, H)."""
    arrays = cell_arrays(gates=4, with_cell=True)(rng, N, I, H, scale)
    return (*arrays, rng.normal(size=(N, H)), rng.normal(size=(N, H)))


def cases(hidden: bool) -> list[Case]:
    """Cases (dh_next, dc_next, cache), the cache from lstm_ref's forward in each dtype."""
    out = []
    for case in build_cases(_with_upstream, "numpy", hidden):
        *inputs, dh_next, dc_next = case.args
        cache = lstm_cell_forward(*inputs)[2]
        out.append(dataclasses.replace(case, args=(dh_next, dc_next, cache)))
    return out


check_lstm_cell_backward = Exercise(
    "lstm_cell_backward",
    [Part(BACKWARD, cases, function_runner("lstm_cell_backward"))],
    doc="Check ``lstm_cell_backward(dh_next, dc_next, cache)`` -> the seven gradients.")
