"""The mistakes that can happen in many exercises, in one place.

Two kinds:

* **Input-level** builders, which an exercise adds to its own ``mistakes``: the gates
  read in another order, one bias of two, a state pair unpacked as (c, h), a transposed
  weight. Each makes :class:`~lstm_ref.grading.core.Mistake` objects that call the
  exercise's reference on altered arguments, so every natural way of writing the mistake
  gives the same output and is named.
* **Output-level** patterns, which :mod:`.judge` tries on every check by itself: outputs
  returned in the wrong order, a batch-first or transposed output, the wrong dtype or
  device, a NumPy array for a tensor, a cut gradient.

Adding a mistake: if it is a wrong computation inside one exercise, add a ``Mistake`` to
that exercise's module; if it can happen wherever an output or an argument of a kind
appears, add a builder or a pattern here and a test in ``tests/test_grading_catalogue.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from .core import Mistake
from .values import Value

GATES = {4: ("i", "f", "g", "o"), 3: ("r", "z", "n")}  # PyTorch's order: LSTM, GRU
GATE_HINT = {
    4: "PyTorch stacks the gates' rows as i, f, g, o: rows 0:H are i, H:2H f, 2H:3H g "
    "and 3H:4H o, in W_ih, W_hh, b_ih and b_hh alike.",
    3: "PyTorch stacks the GRU's rows as r, z, n: rows 0:H are r, H:2H z, 2H:3H n.",
}


def _blocks(array, gates: int, order: Sequence[int]):
    """The gate blocks of a stacked weight or bias (first axis G*H) in another order."""
    if array is None:
        return None
    H = array.shape[0] // gates
    parts = [array[k * H : (k + 1) * H] for k in order]
    return torch.cat(parts) if isinstance(array, torch.Tensor) else np.concatenate(parts)


def _replace(args: tuple, changes: dict[int, object]) -> tuple:
    return tuple(changes.get(i, a) for i, a in enumerate(args))


def gate_order(reference: Callable, gates: int, stacked: Sequence[int]) -> list[Mistake]:
    """Every other order in which the stacked gate blocks can be read.

    ``stacked``: positions of the arguments whose first axis stacks the gates (W_ih,
    W_hh, b_ih, b_hh). A student who writes ``i, f, o, g = np.split(z, 4, axis=1)`` reads
    the blocks in the order i, f, o, g; so does one who slices rows 2H:3H for o.
    """
    names = GATES[gates]
    mistakes = []
    for order in itertools.permutations(names):
        if order == names:
            continue
        perm = [order.index(name) for name in names]  # block feeding each true gate

        def fn(*args, perm=perm):
            return reference(*_replace(args, {i: _blocks(args[i], gates, perm) for i in stacked}))

        mistakes.append(Mistake(
            f"the gate blocks are read in the order {', '.join(order)}, not "
            f"PyTorch's {', '.join(names)}", GATE_HINT[gates], fn))  # fmt: skip
    return mistakes


def one_bias(reference: Callable, b_ih: int, b_hh: int) -> list[Mistake]:
    """Only one of the two bias vectors added (either one), or neither."""

    def zero(*positions):
        def fn(*args):
            return reference(*_replace(args, {i: args[i] * 0 for i in positions}))

        return fn

    hint = "torch's layout has two bias vectors, b_ih and b_hh; add both."
    return [
        Mistake("only one of the two biases is added", hint, zero(b_hh)),
        Mistake("only one of the two biases is added", hint, zero(b_ih)),
        Mistake("the biases are left out", hint, zero(b_ih, b_hh)),
    ]


def swapped_state(reference: Callable, position: int) -> Mistake:
    """The state pair at ``position`` unpacked as (c, h) instead of (h, c)."""

    def fn(*args):
        if len(args[position]) != 2:  # a GRU's (h,): nothing to swap
            return reference(*args)
        h, c = args[position]
        return reference(*_replace(args, {position: (c, h)}))

    return Mistake("the state is unpacked as (c, h); it is (h, c)",
                   "state is (h, c), hidden state first, as in torch.nn.LSTM.", fn)


def transposed_weight(reference: Callable, position: int, name: str) -> Mistake:
    """``x @ W`` where ``x @ W.T`` belongs (only distinguishable for a square W)."""

    def fn(*args):
        W = args[position]
        return reference(*_replace(args, {position: W.T if W.ndim == 2 else W}))

    return Mistake(f"{name} is used untransposed", f"in torch's layout the product is x @ {name}.T "
                   f"({name} is (out_features, in_features)).", fn)  # fmt: skip


# ---------------------------------------------------------------- output-level patterns


def _same(a: Value, b: Value, rtol: float, atol: float) -> bool:
    if a.array is None or b.array is None:
        return a.array is None and b.array is None
    if a.array.shape != b.array.shape:
        return False
    try:
        return bool(np.allclose(a.array, b.array, rtol=rtol, atol=atol, equal_nan=True))
    except TypeError:
        return False


def _with_array(value: Value, array: np.ndarray) -> Value:
    return Value(value.kind, array, value.dtype, value.device, value.requires_grad, value.text)


def output_patterns(names: Sequence[str]) -> Iterator[tuple[str, str, Callable]]:
    """(name, hint, transform): a transform maps the expected values to what a student
    making that mistake returns, or None where it does not apply."""
    for i, j in itertools.combinations(range(len(names)), 2):
        def swap(values, i=i, j=j):
            if values[i].array is None or values[j].array is None:
                return None
            if values[i].array.shape != values[j].array.shape:
                return None
            out = list(values)
            out[i], out[j] = values[j], values[i]
            return out

        yield (f"{names[i]} and {names[j]} are returned in each other's place",
               f"return them in the order ({', '.join(names)}).", swap)  # fmt: skip
    for k, name in enumerate(names):
        def batch_first(values, k=k):
            array = values[k].array
            if array is None or array.ndim < 3:
                return None
            return [*values[:k], _with_array(values[k], array.swapaxes(0, 1)), *values[k + 1:]]

        def transposed(values, k=k):
            array = values[k].array
            if array is None or array.ndim != 2:
                return None
            return [*values[:k], _with_array(values[k], array.T), *values[k + 1:]]

        yield (f"{name} is batch-first, (N, L, ...); the exercise is time-major, (L, N, ...)",
               "keep time as the first axis: stack the steps along dim 0.", batch_first)
        yield (f"{name} is transposed", f"{name} should have the shape the instructions give; "
               "check which side of each product the weights go.", transposed)  # fmt: skip


def matches_pattern(transform: Callable, got: list[list[Value]], expected: list[list[Value]],
                    tolerances: list[tuple[float, float]]) -> bool:  # fmt: skip
    """Whether the student's values equal ``transform(expected)`` on every case."""
    for g, e, (rtol, atol) in zip(got, expected, tolerances):
        altered = transform(e)
        if altered is None or len(altered) != len(g):
            return False
        if not all(_same(a, b, rtol, atol) for a, b in zip(g, altered)):
            return False
    return True


DTYPE = ("the outputs are not in the inputs' dtype",
         "compute in the inputs' dtype: np.zeros(..., dtype=x.dtype) or torch.zeros_like(x); "
         "a float64 constant, .astype(np.float64) or .double() changes it.")  # fmt: skip
DEVICE = ("the outputs are not on the inputs' device",
          "make new tensors on the inputs' device: torch.zeros_like(h), or device=x.device.")
CUT_GRADIENT = ("the gradient is cut",
                "build the outputs from torch operations on the inputs: no .detach(), "
                ".numpy(), .item(), torch.tensor(...) or torch.no_grad() on the way.")  # fmt: skip
NOT_A_TENSOR = ("a NumPy array (or number) is returned where a torch.Tensor belongs",
                "stay in torch: use torch operations on the input tensors and return a tensor.")
NOT_AN_ARRAY = ("a torch.Tensor is returned where a NumPy array belongs",
                "use NumPy operations on the input arrays and return an np.ndarray.")
NOT_A_FLOAT = ("a tensor is returned where a Python float belongs",
               "return a number: loss.item().")
