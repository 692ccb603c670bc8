"""Exercise 4.2: set the effective forget bias of an LSTM, in place.

    init_forget_bias(lstm, value) -> None
    lstm: torch.nn.LSTM or lstm_ref.nn.LSTM, any num_layers, bidirectional or not

For every layer and direction: bias_ih[H:2H] = value, bias_hh[H:2H] = 0, nothing else
changed. A case is a :class:`Module` (which LSTM, which seed) and the value; the runner
builds the module, calls the student's function on it and returns what it holds after:
the biases and the weights, as plain tensors. The reference and every mistake do the
same with their own function.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import lstm_ref.nn as ref_nn

from .. import catalogue
from ..cases import DTYPES, devices
from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part


@dataclass(frozen=True)
class Module:
    """A freshly initialised LSTM, built the same way wherever the case is made."""

    library: str  # "torch" or "lstm_ref"
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"

    def build(self) -> torch.nn.Module:
        layer = torch.nn.LSTM if self.library == "torch" else ref_nn.LSTM
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            lstm = layer(self.input_size, self.hidden_size, num_layers=self.num_layers,
                         bidirectional=self.bidirectional, dtype=getattr(torch, self.dtype))
        return lstm.to(self.device)

    def __str__(self) -> str:
        extra = "".join(f", {key}={getattr(self, key)}" for key in ("num_layers", "bidirectional")
                        if getattr(self, key) != Module.__dataclass_fields__[key].default)
        return f"{self.library}.nn.LSTM({self.input_size}, {self.hidden_size}{extra})"


def read_back(lstm: torch.nn.Module, names: list[str]):
    """b_ih and b_hh stacked over layers and directions (LD, 4H), the weights flattened."""
    params = dict(lstm.named_parameters())
    if list(params) != names:
        raise GradingError(f"the module's parameters were {names}, now {list(params)}")

    def stacked(prefix):
        return torch.stack([p.detach() for n, p in params.items() if n.startswith(prefix)])

    weights = [p.detach().flatten() for n, p in params.items() if n.startswith("weight")]
    return stacked("bias_ih"), stacked("bias_hh"), torch.cat(weights)


def after(init: Callable) -> Callable:
    """A function of a case's args: build the module, ``init(lstm, value)``, read it back."""

    def run(module: Module, value: float):
        lstm = module.build()
        names = [name for name, _ in lstm.named_parameters()]
        try:
            init(lstm, value)
        except RuntimeError as error:
            if "leaf Variable" not in str(error):
                raise
            raise GradingError("an in-place change to a parameter that requires grad; "
                               "do it inside `with torch.no_grad():`.") from None  # fmt: skip
        return read_back(lstm, names)

    run.init = init  # what changes the module (for the tests)
    return run


def runner(student):
    if not callable(student):
        raise GradingError(f"expected a function, got {type(student).__name__}")
    return after(student)


def init_forget_bias_reference(lstm, value: float) -> None:
    """b_ih[H:2H] = value and b_hh[H:2H] = 0 in every layer and direction (gates i, f, g, o)."""
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = value  # b_if = value
            elif name.startswith("bias_hh"):
                parameter[H : 2 * H] = 0.0  # b_hf = 0, so b_if + b_hf = value


def forget_bias_variant(lstm, value, *, block=1, b_ih=None, b_hh=0.0, first_layer_only=False,
                        forward_only=False, zero_others=False, size=None, whole=False,
                        zero_weights=False) -> None:  # fmt: skip
    """The reference with knobs for the catalogue: ``b_ih``, ``b_hh`` go into the blocks
    ("value" for value; b_ih=None means value, b_hh=None leaves b_hh alone); ``size``:
    "input" sizes the blocks by input_size."""
    H = lstm.input_size if size == "input" else lstm.hidden_size
    rows = slice(None) if whole else slice(block * H, (block + 1) * H)
    fills = {"bias_ih": value if b_ih in (None, "value") else b_ih,
             "bias_hh": value if b_hh == "value" else b_hh}
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            layer = int(name.split("_l")[1].split("_")[0])  # bias_ih_l1_reverse -> 1
            if (first_layer_only and layer > 0) or (forward_only and "reverse" in name):
                continue
            if name.startswith("weight"):
                if zero_weights:
                    parameter.zero_()
                continue
            fill = fills[name[:7]]
            if fill is not None:
                if zero_others:
                    parameter.zero_()
                parameter[rows] = fill


def _mistake(name: str, hint: str, **knobs) -> Mistake:
    return Mistake(name, hint, after(lambda m, v: forget_bias_variant(m, v, **knobs)))


def _other_blocks() -> list[Mistake]:
    """The forget value written to another gate's block (the gates read in another order)."""
    rows = ["rows 0:H", "rows H:2H", "rows 2H:3H", "rows 3H:4H"]
    return [_mistake(f"the forget bias is written to {rows[k]}, the {gate} gate's block, "
                     "not rows H:2H", catalogue.GATE_HINT[4], block=k)
            for k, gate in enumerate(catalogue.GATES[4]) if gate != "f"]  # fmt: skip


def _copied(lstm, value):
    forget_bias_variant(copy.deepcopy(lstm), value)


INIT_FORGET_BIAS = Check(
    name="init_forget_bias",
    reference=after(init_forget_bias_reference),
    output_names=["bias_ih (rows: l0, l0_reverse, l1, ...)",
                  "bias_hh (rows: l0, l0_reverse, l1, ...)", "the weights, flattened"],
    arg_names=("lstm", "value"),
    shape_hint="each bias is (4H,) with H = lstm.hidden_size: the forget block is rows "
               "H:2H of bias_ih_l{k} and bias_hh_l{k}.",
    mistakes=[
        *_other_blocks(),
        _mistake("bias_hh's forget block is set to value too (effective forget bias "
                 "2·value)", "the LSTM adds b_ih + b_hh: set b_ih[H:2H] = value and "
                 "b_hh[H:2H] = 0.", b_hh="value"),
        _mistake("bias_hh's forget block is left as it was (effective forget bias "
                 "value + b_hh)", "also set b_hh[H:2H] = 0, so that b_ih + b_hh = value.",
                 b_hh=None),
        _mistake("value is put in bias_hh's forget block and 0 in bias_ih's",
                 "the other way round: bias_ih[H:2H] = value, bias_hh[H:2H] = 0.",
                 b_ih=0.0, b_hh="value"),
        _mistake("only layer 0 is changed", "loop over every layer: bias_ih_l0, "
                 "bias_ih_l1, ... (there are lstm.num_layers).", first_layer_only=True),
        _mistake("only the forward direction is changed", "a bidirectional LSTM also "
                 "has bias_ih_l0_reverse, ...: set those too (named_parameters() "
                 "lists them all).", forward_only=True),
        _mistake("the other gates' biases are zeroed", "change only rows H:2H; leave "
                 "the other three gates' biases as they were.", zero_others=True),
        _mistake("the whole bias is set, not only the forget gate's block", "write only "
                 "rows H:2H (the forget gate); the other gates keep their biases.",
                 whole=True),
        _mistake("the block size is taken from input_size instead of hidden_size",
                 "each gate has H = lstm.hidden_size rows; the biases have 4·H.",
                 size="input"),
        *(_mistake("the weights are zeroed too", "change only the biases' forget blocks; "
                   "every weight and every other bias stays as it was.", zero_weights=True,
                   zero_others=others) for others in (False, True)),
        Mistake("the module passed in is left unchanged (a copy was modified)",
                "change lstm's own parameters in place, e.g. "
                "lstm.bias_ih_l0[H:2*H] = value inside torch.no_grad().", after(_copied)),
    ],
    forbid=False,  # the exercise is about the module itself
)  # fmt: skip

# (label, library, input_size, hidden_size, num_layers, bidirectional, value): what the
# instructions describe, torch's and lstm_ref's LSTM, any layers, either direction;
# input_size != hidden_size, so a block sized by the wrong one shows
CONFIGS = {
    False: [("1 layer", "torch", 3, 4, 1, False, 1.0),
            ("2 layers, bidirectional", "torch", 2, 5, 2, True, 3.0),
            ("3 layers", "lstm_ref", 3, 4, 3, False, 1.0)],
    True: [("bidirectional", "torch", 4, 3, 1, True, 2.0),
           ("2 layers, bidirectional", "lstm_ref", 2, 6, 2, True, -1.0),
           ("hidden size 1, 2 layers", "torch", 2, 1, 2, False, 5.0),
           ("1 layer", "lstm_ref", 5, 2, 1, False, 0.5)],
}  # fmt: skip


def forget_bias_cases(hidden: bool = False) -> list[Case]:
    """Freshly initialised LSTMs (torch's and lstm_ref's), every dtype and device."""
    cases = []
    for k, (label, library, I, H, layers, bidirectional, value) in enumerate(CONFIGS[hidden]):
        for dtype in DTYPES:
            for device in devices("torch"):
                module = Module(library, I, H, layers, bidirectional, k + 1000 * hidden,
                                np.dtype(dtype).name, device)  # fmt: skip
                text = f"{label}: {module}, value={value}, {np.dtype(dtype).name}, {device}"
                cases.append(Case(text, (module, value), np.dtype(dtype), device))
    return cases


check_init_forget_bias = Exercise(
    "init_forget_bias", [Part(INIT_FORGET_BIAS, forget_bias_cases, runner)],
    doc="Check ``init_forget_bias(lstm, value)`` on several LSTMs, torch's and lstm_ref's.")
