"""Checks for chapter 3's exercises: the GRU and peephole cells from scratch, a
bidirectional and a stacked LSTM built from a given cell or layer, and the parameter count.

Student functions, in torch (L length, N batch, I input, H hidden, K layers):

    gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next                 x (N, I), h (N, H)
    peephole_lstm_cell(x, (h, c), W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co) -> (h, c)
    bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd) -> (L, N, 2H)
    stacked_lstm(layer, x, (h_0, c_0), layer_params) -> (output, (h_n, c_n))  h_0 (K, N, H)
    lstm_param_count(input_size, hidden_size, num_layers, bias, bidirectional) -> int

``bidirectional`` and ``stacked_lstm`` are handed lstm_ref's cell and a layer looping it
(:func:`given_cell`, :func:`given_layer`). Their checks still refuse torch's and lstm_ref's
recurrent layers; ``lstm_param_count``'s also refuses building one to count its parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types

import numpy as np
import torch
import torch.nn.functional as F

import lstm_ref.nn.functional as fn
from lstm_ref import params
from lstm_ref.nn import GRU, LSTM
from lstm_ref.nn.cells import _CellBase
from lstm_ref.nn.recurrent import RNNBase

from .cases import HIDDEN_SHAPES, VISIBLE_SHAPES, build_cases, cell_arrays
from .core import Case, Check, GradingError, Mistake
from .exercise import run_check
from .guard import Delegated, forbid
from .messages import SHAPE_ERRORS

# ---------------------------------------------------------------- adapters for the checks


def _unguarded(function: types.FunctionType) -> types.FunctionType:
    """A twin of an lstm_ref function that ``forbid_delegation`` leaves callable.

    The guard swaps the code object of lstm_ref's own function; the twin keeps the
    original one, so a check can hand the student lstm_ref's cell while refusing layers.
    """
    return types.FunctionType(function.__code__, function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)  # fmt: skip


_lstm_step, _gru_step = _unguarded(fn.lstm_step), _unguarded(fn.gru_step)


def given_cell(kind: str):
    """lstm_ref's LSTM or GRU cell as ``cell(x_t, state, W_ih, W_hh, b_ih, b_hh) -> state``.

    The state is a tuple, (h, c) for the LSTM and (h,) for the GRU; h is its first entry.
    """
    step = {"LSTM": _lstm_step, "GRU": _gru_step}[kind]

    def cell(x, state, W_ih, W_hh, b_ih=None, b_hh=None):
        return step(F.linear(x, W_ih, b_ih), state, W_hh, b_hh)

    cell.__name__ = cell.__qualname__ = f"{kind.lower()}_cell"
    return cell


LSTM_CELL, GRU_CELL = given_cell("LSTM"), given_cell("GRU")
LAYER_OF = {LSTM_CELL: LSTM, GRU_CELL: GRU}  # the lstm_ref layer each given cell belongs to


def given_layer(x, state, W_ih, W_hh, b_ih=None, b_hh=None):
    """One LSTM layer, lstm_ref's cell looped over time: x (L, N, I) -> (L, N, H), (h, c)."""
    outputs = []
    for x_t in x:  # x_t (N, I)
        state = LSTM_CELL(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state


def _with_shape_hint(name: str, student, hint: str):
    """``student``, whose shape errors are reported with a hint for this exercise."""

    @functools.wraps(student)
    def hinted(*args):
        try:
            return student(*args)
        except (Delegated, GradingError):
            raise
        except Exception as error:
            if not any(marker in str(error) for marker in SHAPE_ERRORS):
                raise
            raise GradingError(
                f"{name} raised {type(error).__name__}: {error}\n  Hint: {hint}"
            ) from None

    return hinted


def _run(check: Check, student, cases: list[Case]) -> None:
    """:func:`run_check` on one CPU thread: tiny tensors gain nothing from a second one,
    and on a busy machine two threads make a check many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_check(check, student, cases)
    finally:
        torch.set_num_threads(threads)


def _regrouped(cases: list[Case], regroup, note: str = "") -> list[Case]:
    """The cases with their flat tensors regrouped into the exercise's arguments."""
    return [dataclasses.replace(case, label=note + case.label, args=regroup(*case.args))
            for case in cases]  # fmt: skip


def _load(layer, weights) -> None:
    """Copy (W_ih, W_hh, b_ih, b_hh) per layer-direction into an lstm_ref layer."""
    with torch.no_grad():
        for params_, values in zip(layer.all_weights, weights, strict=True):
            for param, value in zip(params_, values, strict=True):
                param.copy_(value)


# ---------------------------------------------------------------- exercise 1: GRU cell


def _gru_gates(x, h, W_ih, W_hh, b_ih, b_hh, order="rzn"):
    """The six (N, H) blocks x_r, x_z, x_n, h_r, h_z, h_n, read in ``order``."""
    x_blocks = dict(zip(order, (x @ W_ih.T + b_ih).chunk(3, dim=-1)))
    h_blocks = dict(zip(order, (h @ W_hh.T + b_hh).chunk(3, dim=-1)))
    return [x_blocks[k] for k in "rzn"] + [h_blocks[k] for k in "rzn"]


def _gru(x, h, W_ih, W_hh, b_ih, b_hh, *, order="rzn", reversed_z=False, paper=False,
         b_hn_outside=False, swapped=False):  # fmt: skip
    """The GRU cell, or one of the mistakes a flag selects."""
    x_r, x_z, x_n, h_r, h_z, h_n = _gru_gates(x, h, W_ih, W_hh, b_ih, b_hh, order)
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
    reference=fn.gru_cell,
    output_names=["h_next"],
    mistakes=[
        Mistake("(1 - z) and z reversed: h' = z ⊙ n + (1 - z) ⊙ h",
                "in torch's convention z keeps the old state: h' = (1 - z) ⊙ n + z ⊙ h.",
                functools.partial(_gru, reversed_z=True)),
        Mistake("Cho et al.'s convention instead of torch's: r applied to h before W_hn",
                "torch applies r after the product: n = tanh(x_n + r ⊙ (h @ W_hn.T + b_hn)).",
                functools.partial(_gru, paper=True)),
        Mistake("b_hn added outside the reset gate's product",
                "b_hn belongs inside: r ⊙ (h @ W_hn.T + b_hn), not r ⊙ (h @ W_hn.T) + b_hn.",
                functools.partial(_gru, b_hn_outside=True)),
        Mistake("gate blocks read in the order (z, r, n) instead of torch's (r, z, n)",
                "the rows of W_ih and W_hh are the blocks r, z, n, in that order.",
                functools.partial(_gru, order="zrn")),
        Mistake("sigmoid and tanh swapped",
                "the gates r and z use sigmoid; the candidate n uses tanh.",
                functools.partial(_gru, swapped=True)),
        Mistake("b_hh left out", "torch's GRU adds both bias vectors, b_ih and b_hh.",
                lambda x, h, W_ih, W_hh, b_ih, b_hh: _gru(x, h, W_ih, W_hh, b_ih, 0 * b_hh)),
    ],
)  # fmt: skip


def check_gru_cell(gru_cell, hidden: bool = False) -> None:
    """Check ``gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next`` against lstm_ref's."""
    cases = build_cases(cell_arrays(gates=3, with_cell=False), "torch", hidden)
    _run(GRU_CELL_CHECK, gru_cell, cases)


# ---------------------------------------------------------------- exercise 2: peephole cell


def _peephole(x, state, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, *, order="ifgo",
              o_sees_old=False, drop="", dot=False, no_tanh=False):  # fmt: skip
    """The peephole LSTM cell, or one of the mistakes a flag selects."""
    h, c_prev = state
    blocks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)))
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
    return _peephole(x, state, W_ih, W_hh, b_ih, b_hh, w_cf, w_ci, w_co)


PEEPHOLE_CHECK = Check(
    name="peephole_lstm_cell",
    reference=fn.peephole_lstm_cell,
    output_names=["h_next", "c_next"],
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
        Mistake("w_ci and w_cf swapped",
                "w_ci goes with the input gate, w_cf with the forget gate.", _swapped_peepholes),
        Mistake("the peephole as a dot product c @ w (one number per sequence)",
                "a peephole is diagonal: each unit sees its own cell, w ⊙ c (w * c), shape (N, H).",
                functools.partial(_peephole, dot=True)),
        Mistake("gate blocks read in the order (i, f, o, g) instead of torch's (i, f, g, o)",
                "the rows of W_ih and W_hh are the blocks i, f, g, o, in that order.",
                functools.partial(_peephole, order="ifog")),
        Mistake("o ⊙ c_t without tanh", "h_t = o_t ⊙ tanh(c_t).",
                functools.partial(_peephole, no_tanh=True)),
    ],
)  # fmt: skip

PEEPHOLE_HINT = ("w_ci, w_cf and w_co are vectors of shape (H,): multiply element-wise,"
                 " w_ci * c (broadcast over the batch), not with @.")  # fmt: skip


def _peephole_arrays(rng: np.random.Generator, N: int, I: int, H: int, scale: float):
    """x, h, c, W_ih, W_hh, b_ih, b_hh as for the LSTM, then w_ci, w_cf, w_co (H,)."""
    arrays = cell_arrays(gates=4, with_cell=True)(rng, N, I, H, scale)
    return (*arrays, *rng.uniform(-scale, scale, size=(3, H)))


def check_peephole_lstm_cell(peephole_lstm_cell, hidden: bool = False) -> None:
    """Check ``peephole_lstm_cell(x, (h, c), W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co)``."""
    cases = build_cases(_peephole_arrays, "torch", hidden)
    cases = _regrouped(cases, lambda x, h, c, *weights: (x, (h, c), *weights))
    student = _with_shape_hint(PEEPHOLE_CHECK.name, peephole_lstm_cell, PEEPHOLE_HINT)
    _run(PEEPHOLE_CHECK, student, cases)


# ---------------------------------------------------------------- exercise 3: bidirectional


def _one_direction(cell, x, state, params_, carry=True):
    """``cell`` run over x in the order given: outputs (L, N, H) and the final state."""
    outputs, initial = [], state
    for x_t in x:  # x_t (N, I)
        state = cell(x_t, state if carry else initial, *params_)
        outputs.append(state[0])
    return torch.stack(outputs), state


def _bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd, *, rereverse=True,
                   reverse_input=True, backward_first=False, dim=-1, start="state_bwd",
                   shared_params=False, carry=True):  # fmt: skip
    """A bidirectional layer, or one of the mistakes a flag selects."""
    forward, final_fwd = _one_direction(cell, x, state_fwd, params_fwd, carry)
    initial = {"state_bwd": state_bwd, "state_fwd": state_fwd, "final_fwd": final_fwd}[start]
    weights = params_fwd if shared_params else params_bwd
    if reverse_input:
        backward, _ = _one_direction(cell, x.flip(0), initial, weights, carry)
        backward = backward.flip(0) if rereverse else backward
    else:
        backward, _ = _one_direction(cell, x, initial, weights, carry)
    pair = (backward, forward) if backward_first else (forward, backward)
    return torch.cat(pair, dim=dim)


def bidirectional_reference(cell, x, state_fwd, state_bwd, params_fwd, params_bwd):
    """lstm_ref's bidirectional layer (LSTM or GRU, as ``cell`` is) with these weights."""
    L, N, I = x.shape
    H = state_fwd[0].shape[-1]
    layer = LAYER_OF[cell](I, H, bidirectional=True, dtype=x.dtype, device=x.device)
    _load(layer, [params_fwd, params_bwd])
    hx = tuple(torch.stack(pair) for pair in zip(state_fwd, state_bwd))  # each (2, N, H)
    with torch.no_grad():
        return layer(x, hx if len(hx) == 2 else hx[0])[0]  # (L, N, 2H)


def _bi(**wrong):
    return functools.partial(_bidirectional, **wrong)


BIDIRECTIONAL_CHECK = Check(
    name="bidirectional",
    reference=bidirectional_reference,
    output_names=["output"],
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
        Mistake("concatenated along the time axis (dim 0) instead of the features",
                "concatenate along the last axis: (L, N, H) and (L, N, H) give (L, N, 2H).",
                _bi(dim=0)),
        Mistake("concatenated along the batch axis (dim 1) instead of the features",
                "concatenate along the last axis: (L, N, H) and (L, N, H) give (L, N, 2H).",
                _bi(dim=1)),
    ],
)  # fmt: skip


def _bidirectional_arrays(gates: int, with_cell: bool, length: int):
    """x (L, N, I), then the forward direction's state and weights, then the backward's."""
    make = cell_arrays(gates, with_cell, length)

    def arrays(rng: np.random.Generator, N: int, I: int, H: int, scale: float):
        forward = make(rng, N, I, H, scale)
        backward = make(rng, N, I, H, scale)[1:]  # its own state and weights; x is shared
        return (*forward, *backward)

    return arrays


def bidirectional_cases(hidden: bool = False) -> list[Case]:
    """LSTM cases on every standard shape, GRU cases on two: the wrapper is for any cell."""
    length = 7 if hidden else 5
    shapes = HIDDEN_SHAPES if hidden else VISIBLE_SHAPES
    cases = []
    for kind, cell, gates, S, kind_shapes in [("LSTM", LSTM_CELL, 4, 2, shapes),
                                              ("GRU", GRU_CELL, 3, 1, shapes[:2])]:  # fmt: skip

        def regroup(x, *a, cell=cell, S=S):  # S state tensors per direction
            return (cell, x, a[:S], a[S + 4 : 2 * S + 4], a[S : S + 4], a[2 * S + 4 :])

        make = _bidirectional_arrays(gates, S == 2, length)
        found = build_cases(make, "torch", hidden, shapes=kind_shapes)
        cases += _regrouped(found, regroup, f"{kind} cell, L={length}: ")
    return cases


def check_bidirectional(bidirectional, hidden: bool = False) -> None:
    """Check ``bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd)``."""
    _run(BIDIRECTIONAL_CHECK, bidirectional, bidirectional_cases(hidden))


# ---------------------------------------------------------------- exercise 4: stacked LSTM


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


def stacked_reference(layer, x, state, layer_params):
    """lstm_ref's LSTM with ``num_layers = len(layer_params)``, as (output, h_n, c_n)."""
    L, N, I = x.shape
    K, _, H = state[0].shape
    lstm = LSTM(I, H, num_layers=K, dtype=x.dtype, device=x.device)
    _load(lstm, layer_params)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(x, tuple(state))
    return output, h_n, c_n


def _st(**wrong):
    return functools.partial(_stacked, **wrong)


STACKED_CHECK = Check(
    name="stacked_lstm",
    reference=stacked_reference,
    output_names=["output", "h_n", "c_n"],
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
    ],
)  # fmt: skip

STACKED_HINT = ("layer k >= 1 reads layer k-1's outputs, (L, N, H), not x: its W_ih is"
                " (4H, H).")  # fmt: skip


def _stacked_arrays(num_layers: int, length: int):
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


def _regroup_stacked(x, h_0, c_0, *weights):
    layer_params = [tuple(weights[k : k + 4]) for k in range(0, len(weights), 4)]
    return (given_layer, x, (h_0, c_0), layer_params)


def _flat_stacked(student):
    """``student``, returning (output, h_n, c_n) for the check, or explaining its result."""

    @functools.wraps(student)
    def flat(*args):
        result = student(*args)
        if not (isinstance(result, tuple | list) and len(result) == 2
                and isinstance(result[1], tuple | list) and len(result[1]) == 2):  # fmt: skip
            raise GradingError(
                f"stacked_lstm should return (output, (h_n, c_n)), got {type(result).__name__}"
                f" {result!r:.60}"
            )
        return result[0], *result[1]

    return flat


def check_stacked_lstm(stacked_lstm, hidden: bool = False) -> None:
    """Check ``stacked_lstm(layer, x, (h_0, c_0), layer_params) -> (output, (h_n, c_n))``."""
    num_layers, length = (4, 6) if hidden else (3, 5)
    make = _stacked_arrays(num_layers, length)
    cases = _regrouped(build_cases(make, "torch", hidden), _regroup_stacked,
                       f"K={num_layers} layers, L={length}: ")  # fmt: skip
    student = _with_shape_hint(STACKED_CHECK.name, _flat_stacked(stacked_lstm), STACKED_HINT)
    _run(STACKED_CHECK, student, cases)


# ---------------------------------------------------------------- exercise 5: parameter count


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


PARAM_COUNT_CHECK = Check(
    name="lstm_param_count",
    reference=lambda I, H, K, bias, bidirectional: params.param_count(
        "LSTM", I, H, num_layers=K, bias=bias, bidirectional=bidirectional
    ),
    output_names=["count"],
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


def _counting(student):
    """``student`` run without layers to count, its result required to be an int."""

    @functools.wraps(student)
    def count(*args):
        with _no_layer_built():
            result = student(*args)
        if isinstance(result, bool) or not isinstance(result, numbers.Integral):
            raise GradingError(
                f"lstm_param_count should return an int, got {type(result).__name__} {result!r:.40}"
            )
        return int(result)

    return count


def param_count_cases(hidden: bool = False) -> list[Case]:
    """Configurations (input_size, hidden_size, num_layers, bias, bidirectional).

    Visible: a grid over every argument; hidden: seeded random draws. Counts stay far
    below 1e7, so float64's relative tolerance of 1e-7 cannot hide a difference of 1.
    """
    if hidden:
        rng = np.random.default_rng(1000)
        configs = [(int(rng.integers(1, 65)), int(rng.integers(1, 65)), int(rng.integers(1, 5)),
                    bool(rng.integers(2)), bool(rng.integers(2))) for _ in range(40)]  # fmt: skip
    else:
        configs = [(I, H, K, bias, bi) for I in (3, 10) for H in (1, 20) for K in (1, 2, 3)
                   for bias in (True, False) for bi in (False, True)]  # fmt: skip
    names = ("input_size", "hidden_size", "num_layers", "bias", "bidirectional")
    return [Case(", ".join(f"{n}={v}" for n, v in zip(names, config)), config)
            for config in configs]  # fmt: skip


def check_lstm_param_count(lstm_param_count, hidden: bool = False) -> None:
    """Check ``lstm_param_count(input_size, hidden_size, num_layers, bias, bidirectional)``."""
    _run(PARAM_COUNT_CHECK, _counting(lstm_param_count), param_count_cases(hidden))
