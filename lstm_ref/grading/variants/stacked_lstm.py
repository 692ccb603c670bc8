"""Exercise 3.4: K LSTM layers stacked, built from a given layer, in torch.

    stacked_lstm(layer, x, (h_0, c_0), layer_params) -> (output, (h_n, c_n))
    x (L, N, I); h_0, c_0, h_n, c_n (K, N, H); layer_params: K tuples (W_ih, W_hh, b_ih,
    b_hh), W_ih (4H, I) in layer 0 and (4H, H) above; output (L, N, H)

Layer k reads layer k-1's outputs and starts from (h_0[k], c_0[k]). ``layer`` is
:func:`.given.given_layer`, lstm_ref's cell looped over time; torch's and lstm_ref's
recurrent layers are refused. Gradients must reach x, the initial state and every
layer's weights: a ``.detach()`` or ``torch.no_grad()`` fails.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from .. import catalogue
from ..cases import build_cases
from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part
from ..values import describe
from .given import given_layer

ARGS = ("layer", "x", "state", "layer_params")


def _stacked(layer, x, state, layer_params, *, first_output=False, reversed_finals=False,
             same_start=False, zeros=False, last_only=False):  # fmt: skip
    """A stacked LSTM as (output, h_n, c_n), or one of the mistakes a flag selects."""
    h_0, c_0 = state  # each (K, N, H)
    outputs, finals = [], []
    for k, weights in enumerate(layer_params):
        start = (h_0[0], c_0[0]) if same_start else (h_0[k], c_0[k])
        if zeros:
            start = tuple(torch.zeros_like(s) for s in start)
        x, final = layer(x, start, *weights)  # layer k reads layer k-1's outputs
        outputs.append(x)
        finals.append(final)
    if reversed_finals:
        finals = finals[::-1]
    if last_only:
        return outputs[-1], *finals[-1]
    h_n, c_n = (torch.stack(part) for part in zip(*finals))  # each (K, N, H)
    return outputs[0] if first_output else outputs[-1], h_n, c_n


def reference(layer, x, state, layer_params):
    """torch.nn.LSTM(num_layers=K)'s (output, h_n, c_n) with these weights (the tests check
    it against lstm_ref's layer); differentiable in every tensor."""
    return _stacked(layer, x, state, layer_params)


def _st(**wrong):
    return functools.partial(_stacked, **wrong)


def _every_layer(builder, *options) -> list[Mistake]:
    """A catalogue builder's mistakes made in every layer at once, for a student who writes
    the cell: each layer's weights joined along columns, biases as columns, (4H, ·)."""

    def flat_reference(layer, x, state, W_ih, W_hh, b_ih, b_hh):
        H, K = state[0].shape[-1], b_ih.shape[1]
        W_ih = W_ih.split([x.shape[-1]] + [H] * (K - 1), dim=1)
        W_hh = W_hh.split(H, dim=1)
        params = [(W_ih[k], W_hh[k], b_ih[:, k], b_hh[:, k]) for k in range(K)]
        return reference(layer, x, state, params)

    def flat(layer, x, state, layer_params):
        W_ih, W_hh, b_ih, b_hh = zip(*layer_params)
        return (layer, x, state, torch.cat(W_ih, dim=1), torch.cat(W_hh, dim=1),
                torch.stack(b_ih, dim=1), torch.stack(b_hh, dim=1))  # fmt: skip

    return [Mistake(m.name, m.hint, lambda *args, m=m: m.fn(*flat(*args)))
            for m in builder(flat_reference, *options)]  # fmt: skip


# A student given the layer reads no gates; one who writes a cell anyway most likely
# uses another library's order. Each mistake reruns K layers on every case, so only these.
COMMON_ORDERS = ("i, f, o, g", "i, g, f, o", "i, o, f, g", "f, i, g, o")

STACKED_HINT = ("layer k >= 1 reads layer k-1's outputs, (L, N, H), not x: its W_ih is"
                " (4H, H).")  # fmt: skip

STACKED_CHECK = Check(
    name="stacked_lstm",
    reference=reference,
    output_names=["output", "h_n", "c_n"],
    arg_names=ARGS,
    wrt=(1, 2, 3),
    shape_hint=STACKED_HINT,
    mistakes=[
        Mistake("the first layer's outputs returned instead of the last layer's",
                "output is what the top layer, layer K-1, emits at every step.",
                _st(first_output=True)),
        Mistake("h_n and c_n stacked last layer first",
                "row k of h_n and c_n is layer k's final state, layer 0 first.",
                _st(reversed_finals=True)),
        Mistake("h_n and c_n hold only the last layer's final state",
                "stack every layer's final state: h_n and c_n are (K, N, H).",
                _st(last_only=True)),
        Mistake("every layer starts from h_0[0], c_0[0]",
                "layer k starts from its own initial state, (h_0[k], c_0[k]).",
                _st(same_start=True)),
        Mistake("the initial states are ignored (every layer starts from zeros)",
                "layer k starts from (h_0[k], c_0[k]), not from zeros.", _st(zeros=True)),
        catalogue.swapped_state(reference, 2),
        *_every_layer(catalogue.one_bias, 5, 6),
        *[m for m in _every_layer(catalogue.gate_order, 4, (3, 4, 5, 6))
          if any(f"order {order}," in m.name for order in COMMON_ORDERS)],
    ],
)  # fmt: skip


def runner(student):
    """The student's function, its (output, (h_n, c_n)) as three outputs for the check."""

    def run(*args):
        result = student(*args)
        if not (isinstance(result, tuple | list) and len(result) == 2
                and isinstance(result[1], tuple | list) and len(result[1]) == 2):  # fmt: skip
            raise GradingError(f"stacked_lstm should return (output, (h_n, c_n)), got "
                               f"{describe(result)}")  # fmt: skip
        return result[0], *result[1]

    return run


def _arrays(num_layers: int, length: int):
    """x (L, N, I), h_0 and c_0 (K, N, H), then (W_ih, W_hh, b_ih, b_hh) per layer."""

    def arrays(rng: np.random.Generator, N: int, I: int, H: int, scale: float):
        bound = scale / np.sqrt(H)
        x = rng.normal(size=(length, N, I))
        h_0, c_0 = rng.normal(size=(2, num_layers, N, H))
        weights = []
        for k in range(num_layers):
            inputs = I if k == 0 else H  # layer k >= 1 reads layer k-1's h_t
            shapes = [(4 * H, inputs), (4 * H, H), (4 * H,), (4 * H,)]
            weights += [rng.uniform(-bound, bound, size=shape) for shape in shapes]
        return (x, h_0, c_0, *weights)

    return arrays


def _regroup(x, h_0, c_0, *weights):
    layer_params = [tuple(weights[k : k + 4]) for k in range(0, len(weights), 4)]
    return (given_layer, x, (h_0, c_0), layer_params)


def cases(hidden: bool = False) -> list[Case]:
    num_layers, length = (4, 6) if hidden else (3, 5)
    found = build_cases(_arrays(num_layers, length), "torch", hidden)
    return [dataclasses.replace(case, label=f"K={num_layers} layers, L={length}: {case.label}",
                                args=_regroup(*case.args)) for case in found]  # fmt: skip


check_stacked_lstm = Exercise(
    "stacked_lstm", [Part(STACKED_CHECK, cases, runner)],
    doc="Check ``stacked_lstm(layer, x, (h_0, c_0), layer_params) -> (output, (h_n, c_n))``.")
