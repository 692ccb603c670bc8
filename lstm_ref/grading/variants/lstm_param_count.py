"""Exercise 3.5: the parameter count of torch.nn.LSTM, derived from the sizes.

    lstm_param_count(input_size, hidden_size, num_layers, bias, bidirectional) -> int

Per layer and direction: W_ih (4H, m), W_hh (4H, H) and, with bias, b_ih and b_hh (4H,);
m = input_size for layer 0 and D·hidden_size above, D = 2 when bidirectional. Building a
recurrent layer to count it (or calling lstm_ref's counter) is refused. The count must be
an int and exact.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from lstm_ref import params
from lstm_ref.nn.cells import _CellBase
from lstm_ref.nn.recurrent import RNNBase

from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part
from ..guard import forbid
from ..values import Value

ARGS = ("input_size", "hidden_size", "num_layers", "bias", "bidirectional")


def reference(input_size, hidden_size, num_layers, bias, bidirectional) -> int:
    return params.param_count("LSTM", input_size, hidden_size, num_layers=num_layers,
                              bias=bias, bidirectional=bidirectional)  # fmt: skip


def _count(input_size, hidden_size, num_layers, bias, bidirectional, *, blocks=4,
           bias_vectors=2, deeper=None, directions=None):  # fmt: skip
    """The LSTM's parameter count, or one of the mistakes a keyword selects."""
    D = 2 if bidirectional else 1
    H = hidden_size

    def layer(m):  # one layer-direction: W_ih (4H, m), W_hh (4H, H), b_ih, b_hh (4H,)
        return blocks * H * (m + H + (bias_vectors if bias else 0))

    deeper_input = D * H if deeper is None else deeper(input_size, H)
    return (directions or D) * (layer(input_size) + (num_layers - 1) * layer(deeper_input))


def _ignoring(argument: int, value):
    """The count with one argument (by position) ignored: ``value`` used instead."""

    def count(*args):
        args = list(args)
        args[argument] = value
        return _count(*args)

    return count


INTEGERS = {"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


def exact_int(case: Case, got: list[Value], expected: list[Value]) -> str | None:
    """A count is an integer, and exact: no tolerance, no float."""
    g, e = got[0], expected[0]
    if g.dtype not in INTEGERS or g.array.ndim != 0:
        return f"count should be an int, got {g.text or g.dtype} {g.array.tolist()!r:.40}"
    if int(g.array) != int(e.array):
        return f"count is {int(g.array)}, expected {int(e.array)}"
    return None


PARAM_COUNT_CHECK = Check(
    name="lstm_param_count",
    reference=reference,
    output_names=["count"],
    arg_names=ARGS,
    criterion=exact_int,
    mistakes=[
        Mistake("one bias vector per gate (the textbook's 4(d(d+m)+d))",
                "torch keeps two bias vectors per layer and direction, b_ih and b_hh: "
                "4(d(d+m)+2d).", functools.partial(_count, bias_vectors=1)),
        Mistake("3 gate blocks instead of 4 (a GRU's count)",
                "an LSTM has 4 blocks, i, f, g, o, in each weight and bias.",
                functools.partial(_count, blocks=3)),
        Mistake("bias=False ignored", "with bias=False there are no b_ih and b_hh.",
                _ignoring(3, True)),
        Mistake("num_layers ignored (one layer counted)",
                "add num_layers - 1 layers whose input is the layer below's output.",
                _ignoring(2, 1)),
        Mistake("bidirectional ignored",
                "a bidirectional layer has a second direction with its own weights, and "
                "the layers above read D·hidden_size features.", _ignoring(4, False)),
        Mistake("the backward direction not counted (no factor D)",
                "each layer has D = 2 directions when bidirectional, each with its own weights.",
                functools.partial(_count, directions=1)),
        Mistake("layers after the first read input_size features",
                "layer k >= 1 reads layer k-1's output: D·hidden_size features.",
                functools.partial(_count, deeper=lambda I, H: I)),
        Mistake("layers after the first read hidden_size features, not D·hidden_size",
                "a bidirectional layer outputs both directions: D·hidden_size features.",
                functools.partial(_count, deeper=lambda I, H: H)),
    ],
)  # fmt: skip

BUILDERS = [torch.nn.RNNBase, torch.nn.RNNCellBase, RNNBase, _CellBase]
COUNTERS = [params.param_count, params.cell_param_count]


def _no_layer_built():
    """Refuse building a recurrent layer (to count its parameters) or calling lstm_ref's."""
    hint = "This exercise is to derive the count: use arithmetic on the sizes."
    return forbid(methods=[(cls, "__init__") for cls in BUILDERS], functions=COUNTERS, hint=hint)


def runner(student):
    """The student's function, run with no recurrent layer to build and count."""

    def count(*args):
        with _no_layer_built():
            result = student(*args)
        if isinstance(result, torch.Tensor):  # the judge's kind message speaks of floats
            raise GradingError(f"count should be an int, got a tensor of shape "
                               f"{tuple(result.shape)}: return int(...).")  # fmt: skip
        return result

    return count


def cases(hidden: bool = False) -> list[Case]:
    """Configurations (input_size, hidden_size, num_layers, bias, bidirectional).

    Visible: a grid over every argument; hidden: seeded random draws.
    """
    if hidden:
        rng = np.random.default_rng(1000)
        configs = [(int(rng.integers(1, 65)), int(rng.integers(1, 65)), int(rng.integers(1, 5)),
                    bool(rng.integers(2)), bool(rng.integers(2))) for _ in range(40)]  # fmt: skip
    else:
        configs = [(I, H, K, bias, bi) for I in (3, 10) for H in (1, 20) for K in (1, 2, 3)
                   for bias in (True, False) for bi in (False, True)]  # fmt: skip
    return [Case(", ".join(f"{n}={v}" for n, v in zip(ARGS, config)), config)
            for config in configs]  # fmt: skip


param_count_cases = cases

check_lstm_param_count = Exercise(
    "lstm_param_count", [Part(PARAM_COUNT_CHECK, cases, runner)],
    doc="Check ``lstm_param_count(input_size, hidden_size, num_layers, bias, bidirectional)``.")
