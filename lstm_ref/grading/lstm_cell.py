"""Checks for chapter 2's exercises: the LSTM cell, forward in NumPy and torch, backward.

Student functions (N batch, I input size, H hidden size, L sequence length):

    sigmoid(a) -> s                                                 NumPy, any shape
    lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)         NumPy
    lstm_cell_torch(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)         torch
    lstm_forward(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (output, (h_n, c_n))  x (L, N, I)
    lstm_cell_backward(dh_next, dc_next, cache) -> (dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh)
    grad_check_lstm_cell(backward, inputs, dh_next, dc_next) -> GradCheckReport

Each wrong variant is written once, as a keyword of :func:`lstm_cell_variant` (torch),
:func:`lstm_forward_variant` or :func:`lstm_cell_backward_variant` (NumPy); the NumPy
and the torch cell checks share the first.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from lstm_ref.nn.functional import lstm_cell, lstm_step
from lstm_ref.nn.recurrent import scan
from lstm_ref.numpy_ref import GradCheckReport, grad_check, lstm_cell_backward, lstm_cell_forward
from lstm_ref.numpy_ref import sigmoid as sigmoid_reference

from .cases import DTYPES, HIDDEN_SHAPES, VISIBLE_SHAPES, build_cases, cell_arrays
from .core import Case, Check, GradingError, Mistake
from .exercise import run_check

# ---------------------------------------------------------------- exercise 1: sigmoid

# (label, array before the cast to each dtype): extremes, 0-d, several shapes
SIGMOID_ARRAYS = [
    ("±1000, ±100, ±30, ±1, ±0.001, 0",
     lambda rng: np.array([-1000, -100, -30, -1, -1e-3, 0, 1e-3, 1, 30, 100, 1000])),
    ("a 0-d array, -1000", lambda rng: np.array(-1000.0)),
    ("normal × 10, shape (3, 4)", lambda rng: rng.normal(scale=10, size=(3, 4))),
    ("uniform in ±1000, shape (2, 3, 4)", lambda rng: rng.uniform(-1000, 1000, (2, 3, 4))),
]  # fmt: skip
SIGMOID_HIDDEN = [
    ("around exp's overflow: ±88.7, ±88.8, ±709.7, ±710",
     lambda rng: np.array([[-88.8, -88.7, 88.7, 88.8], [-710, -709.7, 709.7, 710]])),
    ("a 0-d array, 1000", lambda rng: np.array(1000.0)),
    ("normal × 40, shape (4, 1, 5)", lambda rng: rng.normal(scale=40, size=(4, 1, 5))),
    ("uniform in ±1000, shape (60,)", lambda rng: rng.uniform(-1000, 1000, 60)),
]  # fmt: skip


def _sigmoid_by_tanh(a):
    """sigmoid(a) = (1 + tanh(a / 2)) / 2: stable, and free to call under the guard."""
    return 0.5 * (1 + np.tanh(a / 2))


SIGMOID = Check(
    name="sigmoid",
    reference=sigmoid_reference,
    output_names=["sigmoid(a)"],
    mistakes=[
        Mistake("sigmoid(-a): the sign of a is flipped (or the two branches swapped)",
                "sigmoid(a) = 1 / (1 + exp(-a)) is near 1 for large positive a; for a >= 0 "
                "use 1 / (1 + z), for a < 0 use z / (1 + z), with z = exp(-|a|).",
                lambda a: _sigmoid_by_tanh(-a)),
        Mistake("1 / (1 + exp(-|a|)) for every a, which is sigmoid(|a|)",
                "that branch is only right for a >= 0; for a < 0 use exp(-|a|) / (1 + exp(-|a|)).",
                lambda a: _sigmoid_by_tanh(np.abs(a))),
        Mistake("0.5 * (1 + tanh(a)), which is sigmoid(2a)",
                "the identity is sigmoid(a) = 0.5 * (1 + tanh(a / 2)): halve a.",
                lambda a: 0.5 * (1 + np.tanh(a))),
    ],
)  # fmt: skip


def _sigmoid_cases(hidden: bool) -> list[Case]:
    rng = np.random.default_rng(1000 if hidden else 0)
    cases = []
    for label, make in SIGMOID_HIDDEN if hidden else SIGMOID_ARRAYS:
        a = make(rng)
        for dtype in DTYPES:
            name = np.dtype(dtype).name
            cases.append(Case(f"{label}, {name}", (a.astype(dtype),), np.dtype(dtype)))
    return cases


def check_sigmoid(sigmoid, hidden: bool = False) -> None:
    """Check ``sigmoid(a)``: any shape, no overflow, float32 and float64."""
    run_check(SIGMOID, sigmoid, _sigmoid_cases(hidden))


# ------------------------------------------------- exercises 2 and 3: the cell forward


def lstm_cell_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, *, order="ifgo", concat="[x, h]",
                      biases="both", split="blocks", gate=torch.sigmoid,
                      candidate=torch.tanh, update="f*c + i*g", output="o*tanh(c_next)",
                      swap=False):  # fmt: skip
    """The LSTM cell in torch: correct with the defaults; each keyword is one mistake.

    order: the gate each stacked block is read as. concat "[h, x]": [h, x] against the
    stacked [W_ih | W_hh]. biases "b_ih" or "none". split "interleaved": gate k taken as
    the columns k::4. gate, candidate: the squashing functions. update, output: how
    c_next and h_next are formed. swap: return (c_next, h_next).
    """
    if concat == "[x, h]":
        a = x @ W_ih.T + h @ W_hh.T  # (N, 4H)
    else:
        a = torch.cat([h, x], dim=1) @ torch.cat([W_ih, W_hh], dim=1).T
    if biases != "none":
        a = a + b_ih + (b_hh if biases == "both" else 0)
    H = h.shape[1]
    blocks = a.chunk(4, dim=1) if split == "blocks" else a.unflatten(1, (H, 4)).unbind(2)
    pre = dict(zip(order, blocks))
    i, f, o, g = gate(pre["i"]), gate(pre["f"]), gate(pre["o"]), candidate(pre["g"])
    if update == "f*c + i*g":
        c_next = f * c + i * g
    elif update == "f*c + g":
        c_next = f * c + g
    else:  # "f*c + (1-f)*g"
        c_next = f * c + (1 - f) * g
    if output == "o*tanh(c_next)":
        h_next = o * torch.tanh(c_next)
    elif output == "o*c_next":
        h_next = o * c_next
    else:  # "o*tanh(c)"
        h_next = o * torch.tanh(c)
    return (c_next, h_next) if swap else (h_next, c_next)


CELL_MISTAKES = [  # (name, hint, keywords of lstm_cell_variant)
    ("the gates read in the order i, f, o, g",
     "torch stacks the blocks i, f, g, o: a[:, 2H:3H] is the candidate g, a[:, 3H:] is o.",
     dict(order="ifog")),
    ("the gates read in the order f, i, g, o",
     "the first block a[:, :H] is the input gate i, the second a[:, H:2H] the forget gate f.",
     dict(order="figo")),
    ("the gates read in the order i, g, f, o (TensorFlow's i, j, f, o)",
     "torch's order is i, f, g, o: the candidate g is the third block, a[:, 2H:3H].",
     dict(order="igfo")),
    ("the gates taken as interleaved columns instead of consecutive blocks",
     "each gate is a block of H consecutive columns: split a into 4 along axis 1.",
     dict(split="interleaved")),
    ("a sigmoid on the candidate g",
     "g = tanh(a_g), so the candidate can be negative; only i, f and o use the sigmoid.",
     dict(candidate=torch.sigmoid)),
    ("sigmoid and tanh swapped: tanh on the gates i, f, o and sigmoid on g",
     "the gates i, f, o use the sigmoid (values in (0, 1)); the candidate g uses tanh.",
     dict(gate=torch.tanh, candidate=torch.sigmoid)),
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
    ("the biases are left out",
     "add b_ih and b_hh to the pre-activations.",
     dict(biases="none")),
    ("only b_ih is added, not b_hh",
     "torch's layout has two bias vectors, b_ih and b_hh; add both.",
     dict(biases="b_ih")),
    ("(c_next, h_next) returned instead of (h_next, c_next)",
     "return h_next first, as torch.nn.LSTMCell does.",
     dict(swap=True)),
]  # fmt: skip


def _on_numpy(fn):
    """``fn``, which takes and returns torch tensors, as a function of NumPy arrays."""

    def wrapped(*arrays):
        return tuple(t.numpy() for t in fn(*(torch.from_numpy(a) for a in arrays)))

    return wrapped


def _with_state(fn):
    """``fn(x, h, c, *weights)`` as ``fn(x, (h, c), *weights)``, the torch signature."""
    return lambda x, state, *weights: fn(x, *state, *weights)


NUMPY_CELL = Check(
    name="lstm_cell_forward",
    reference=lambda *args: lstm_cell_forward(*args)[:2],
    output_names=["h_next", "c_next"],
    mistakes=[Mistake(name, hint, _on_numpy(partial(lstm_cell_variant, **keywords)))
              for name, hint, keywords in CELL_MISTAKES],
)  # fmt: skip

TORCH_CELL = Check(
    name="lstm_cell_torch",
    reference=lstm_cell,
    output_names=["h_next", "c_next"],
    mistakes=[
        Mistake("state unpacked as (c, h)",
                "state is (h, c), hidden state first, as torch.nn.LSTMCell's (h_0, c_0).",
                lambda x, state, *weights: lstm_cell_variant(x, state[1], state[0], *weights)),
        *(Mistake(name, hint, _with_state(partial(lstm_cell_variant, **keywords)))
          for name, hint, keywords in CELL_MISTAKES),
    ],
)  # fmt: skip

GRAD_NAMES = ["x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"]


def _state_cases(cases: list[Case]) -> list[Case]:
    """Torch cases with the arguments (x, (h, c), W_ih, W_hh, b_ih, b_hh)."""
    return [dataclasses.replace(case, args=(case.args[0], case.args[1:3], *case.args[3:]))
            for case in cases]  # fmt: skip


def autograd_gradients(cell):
    """``cell``'s gradients, by autograd, of a fixed weighted sum of h_next and c_next."""

    def gradients(x, state, W_ih, W_hh, b_ih, b_hh):
        leaves = [t.detach().clone().requires_grad_() for t in (x, *state, W_ih, W_hh, b_ih, b_hh)]
        h_next, c_next = cell(leaves[0], tuple(leaves[1:3]), *leaves[3:])
        for name, value in (("h_next", h_next), ("c_next", c_next)):
            if not (isinstance(value, torch.Tensor) and value.requires_grad):
                raise GradingError(
                    f"lstm_cell_torch: autograd cannot reach {name} from the inputs. Build "
                    "it from torch operations on the inputs, without .detach(), .numpy(), "
                    "torch.tensor(...) or torch.no_grad()."
                )
        weight = torch.cos(torch.arange(h_next.numel(), dtype=x.dtype, device=x.device))
        loss = (weight.view_as(h_next) * h_next).sum() + (
            weight.flip(0).view_as(c_next) * c_next
        ).sum()
        loss.backward()
        missing = [name for name, leaf in zip(GRAD_NAMES, leaves) if leaf.grad is None]
        if missing:
            raise GradingError(
                f"lstm_cell_torch: no gradient reaches {', '.join(missing)}. Keep every "
                "input in the autograd graph: no .detach(), .numpy() or torch.no_grad()."
            )
        return tuple(leaf.grad for leaf in leaves)

    return gradients


TORCH_CELL_GRADIENTS = Check(
    name="lstm_cell_torch (gradients)",
    reference=autograd_gradients(lstm_cell),
    output_names=[f"d{name}" for name in GRAD_NAMES],
)


# pre-activations in the hundreds: exp(-a) overflows float32, so a naive sigmoid fails
SATURATED = {False: ("saturated gates", 2, 3, 4, 300.0), True: ("saturated gates", 3, 2, 3, 400.0)}


def check_lstm_cell_forward(lstm_cell_forward, hidden: bool = False) -> None:
    """Check the NumPy ``lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)``."""
    shapes = [*(HIDDEN_SHAPES if hidden else VISIBLE_SHAPES), SATURATED[hidden]]
    cases = build_cases(cell_arrays(gates=4, with_cell=True), "numpy", hidden, shapes=shapes)
    run_check(NUMPY_CELL, lstm_cell_forward, cases)


def check_lstm_cell_torch(lstm_cell_torch, hidden: bool = False) -> None:
    """Check ``lstm_cell_torch(x, (h, c), W_ih, W_hh, b_ih, b_hh)``: values, then gradients."""
    cases = _state_cases(build_cases(cell_arrays(gates=4, with_cell=True), "torch", hidden))
    run_check(TORCH_CELL, lstm_cell_torch, cases)
    run_check(TORCH_CELL_GRADIENTS, autograd_gradients(lstm_cell_torch), cases)


# ------------------------------------------------------ exercise 4: the whole sequence


def lstm_forward_reference(x, state, W_ih, W_hh, b_ih, b_hh):
    """lstm_ref's loop over time: the input projection of every step, then the steps."""
    return scan(lstm_step, F.linear(x, W_ih, b_ih), state, (W_hh, b_hh))  # (L, N, H), (h, c)


def lstm_forward_variant(x, state, W_ih, W_hh, b_ih, b_hh, *, carry="h, c", collect="h_t",
                         reverse=False, stack_dim=0):  # fmt: skip
    """The loop over time, correct with the defaults; each keyword is one mistake.

    carry: what is passed to the next step ("h, c", "h" with c reset, "nothing": every step
    starts from the initial state). collect: "h_t", "c_t" or "h_{t-1}". reverse: run the
    steps from x[L-1] down to x[0]. stack_dim: the axis the outputs are stacked along.
    """
    steps = x.flip(0) if reverse else x
    h, c = state
    outputs = []
    for x_t in steps:
        h_prev = h
        h_t, c_t = lstm_cell_variant(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        outputs.append({"h_t": h_t, "c_t": c_t, "h_{t-1}": h_prev}[collect])
        h = h_t if carry != "nothing" else state[0]
        c = c_t if carry == "h, c" else state[1]
    return torch.stack(outputs, dim=stack_dim), (h_t, c_t)


SEQUENCE_MISTAKES = [  # (name, hint, keywords of lstm_forward_variant)
    ("the state is not carried between steps: every step starts from the initial state",
     "after each step, pass the new (h, c) to the next: state = lstm_cell_torch(x[t], state, ...).",
     dict(carry="nothing")),
    ("the cell state c is not carried between steps",
     "carry both states: the next step gets the new c as well as the new h.",
     dict(carry="h")),
    ("output collects c_t instead of h_t",
     "the output at step t is the hidden state h_t, the first of (h_t, c_t).",
     dict(collect="c_t")),
    ("output[t] holds h_{t-1}: the state is recorded before the step",
     "run the step first, then append the new h_t: output[0] is h_1, not h_0.",
     dict(collect="h_{t-1}")),
    ("the steps run backwards in time",
     "process x[0], x[1], ..., x[L-1] in that order: x is (L, N, I), time first.",
     dict(reverse=True)),
    ("output stacked along dim 1, (N, L, H)",
     "stack the L outputs along dim 0: output has shape (L, N, H), time first like x.",
     dict(stack_dim=1)),
]  # fmt: skip


def _flat_sequence(lstm_forward):
    """``lstm_forward``'s (output, (h_n, c_n)) as three outputs, with a clear error."""

    def flat(*args):
        result = lstm_forward(*args)
        try:
            output, (h_n, c_n) = result
        except (TypeError, ValueError):
            raise GradingError(
                f"lstm_forward: expected (output, (h_n, c_n)), got {result!r:.80}"
            ) from None
        return output, h_n, c_n

    return flat


SEQUENCE = Check(
    name="lstm_forward",
    reference=_flat_sequence(lstm_forward_reference),
    output_names=["output", "h_n", "c_n"],
    mistakes=[Mistake(name, hint, _flat_sequence(partial(lstm_forward_variant, **keywords)))
              for name, hint, keywords in SEQUENCE_MISTAKES],
)  # fmt: skip

SEQUENCE_LENGTH = {False: 6, True: 9}  # visible, hidden
LENGTH_ONE = [("length 1", 2, 3, 4, 1.0)]  # (label, N, I, H, weight scale)


def check_lstm_forward(lstm_forward, hidden: bool = False) -> None:
    """Check ``lstm_forward(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (output, (h_n, c_n))``."""
    make = cell_arrays(gates=4, with_cell=True, length=SEQUENCE_LENGTH[hidden])
    cases = _state_cases(build_cases(make, "torch", hidden))
    one_step = cell_arrays(gates=4, with_cell=True, length=1)  # a sequence of length 1
    cases += _state_cases(build_cases(one_step, "torch", hidden, shapes=LENGTH_ONE))
    if not callable(lstm_forward):
        raise GradingError(f"lstm_forward: expected a function, got {type(lstm_forward).__name__}")
    run_check(SEQUENCE, _flat_sequence(lstm_forward), cases)


# ---------------------------------------------------- exercise 5: the cell's backward


def lstm_cell_backward_reference(dh_next, dc_next, cache):
    """lstm_ref's backward, its parameter gradients unpacked in GRAD_NAMES' order."""
    dx, dh, dc, grads = lstm_cell_backward(dh_next, dc_next, cache)
    return dx, dh, dc, grads["W_ih"], grads["W_hh"], grads["b_ih"], grads["b_hh"]


def lstm_cell_backward_variant(dh_next, dc_next, cache, *, through_h=True, through_c=True,
                               sigmoid_grad=lambda s: s * (1 - s),
                               candidate_grad=lambda g: 1 - g * g, tanh_factor=True,
                               times_f=True, order="ifgo", dW="da.T @ x", db="sum"):  # fmt: skip
    """The cell's backward, correct with the defaults; each keyword is one mistake."""
    x, h, W_ih, W_hh, b_ih, b_hh = cache["affine_inputs"]
    i, f, g, o = cache["gates"]
    c, tanh_c_next = cache["c"], cache["tanh_c_next"]
    dc_total = np.zeros_like(c)  # dL/dc_next, both paths
    if through_c:
        dc_total = dc_total + dc_next
    if through_h:
        dc_total = dc_total + dh_next * o * (1 - tanh_c_next**2)
    da = {
        "i": dc_total * g * sigmoid_grad(i),
        "f": dc_total * c * sigmoid_grad(f),
        "g": dc_total * i * candidate_grad(g),
        "o": dh_next * (tanh_c_next if tanh_factor else 1) * sigmoid_grad(o),
    }
    da = np.concatenate([da[gate] for gate in order], axis=1)  # (N, 4H)
    dc = dc_total * f if times_f else dc_total
    dW_ih, dW_hh = (da.T @ x, da.T @ h) if dW == "da.T @ x" else (x.T @ da, h.T @ da)
    db = {"sum": da.sum(axis=0), "mean": da.mean(axis=0), "none": da}[db]
    return da @ W_ih, da @ W_hh, dc, dW_ih, dW_hh, db, db.copy()


BACKWARD_MISTAKES = [  # (name, hint, keywords of lstm_cell_backward_variant)
    ("the path from h_next through tanh(c_next) is missing from dc_total",
     "h_next = o * tanh(c_next) depends on c_next too: "
     "dc_total = dc_next + dh_next * o * (1 - tanh(c_next)**2).",
     dict(through_h=False)),
    ("the incoming dc_next is left out of dc_total",
     "c_next also feeds the next step: dc_total = dc_next + dh_next * o * (1 - tanh(c_next)**2).",
     dict(through_c=False)),
    ("sigmoid' taken as s instead of s * (1 - s)",
     "for s = sigmoid(a), ds/da = s * (1 - s); use it for i, f and o.",
     dict(sigmoid_grad=lambda s: s)),
    ("the candidate's derivative taken as g * (1 - g), a sigmoid's",
     "g = tanh(a_g), so dg/da_g = 1 - g**2.",
     dict(candidate_grad=lambda g: g * (1 - g))),
    ("da_o is missing the factor tanh(c_next)",
     "h_next = o * tanh(c_next), so da_o = dh_next * tanh(c_next) * o * (1 - o).",
     dict(tanh_factor=False)),
    ("dc is missing the factor f",
     "c_next = f * c + i * g, so dc = dc_total * f.",
     dict(times_f=False)),
    ("the gate gradients stacked in the order i, f, o, g",
     "stack da in the forward's order i, f, g, o, so that its blocks line up with W_ih's rows.",
     dict(order="ifog")),
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

BACKWARD = Check(
    name="lstm_cell_backward",
    reference=lstm_cell_backward_reference,
    output_names=[f"d{name}" for name in GRAD_NAMES],
    mistakes=[Mistake(name, hint, partial(lstm_cell_backward_variant, **keywords))
              for name, hint, keywords in BACKWARD_MISTAKES],
)  # fmt: skip


def _with_upstream(rng, N, I, H, scale):
    """A cell's arrays, then dh_next and dc_next (N, H)."""
    arrays = cell_arrays(gates=4, with_cell=True)(rng, N, I, H, scale)
    return (*arrays, rng.normal(size=(N, H)), rng.normal(size=(N, H)))


def backward_cases(hidden: bool) -> list[Case]:
    """Cases (dh_next, dc_next, cache), the cache from lstm_ref's forward in each dtype."""
    cases = []
    for case in build_cases(_with_upstream, "numpy", hidden):
        *inputs, dh_next, dc_next = case.args
        _, _, cache = lstm_cell_forward(*inputs)
        cases.append(dataclasses.replace(case, args=(dh_next, dc_next, cache)))
    return cases


def check_lstm_cell_backward(lstm_cell_backward, hidden: bool = False) -> None:
    """Check ``lstm_cell_backward(dh_next, dc_next, cache)`` -> the seven gradients."""
    run_check(BACKWARD, lstm_cell_backward, backward_cases(hidden))


# --------------------------------------------- exercise 6: gradient-check the backward


def grad_check_lstm_cell_reference(backward, inputs, dh_next, dc_next, *, loss="weighted"):
    """Gradient-check ``backward`` at ``inputs``; ``loss`` other than "weighted" is a mistake.

    The loss L = sum(dh_next * h_next) + sum(dc_next * c_next) has dL/dh_next = dh_next
    and dL/dc_next = dc_next, the upstream gradients the backward is given.
    """
    weight_h = 1.0 if loss == "unweighted" else dh_next
    weight_c = 0.0 if loss == "without c_next" else 1.0 if loss == "unweighted" else dc_next

    def scalar_loss(x, h, c, W_ih, W_hh, b_ih, b_hh):
        h_next, c_next, _ = lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
        return np.sum(weight_h * h_next) + np.sum(weight_c * c_next)

    _, _, cache = lstm_cell_forward(**inputs)
    analytic = dict(zip(GRAD_NAMES, backward(dh_next, dc_next, cache)))
    return grad_check(scalar_loss, inputs, analytic)


def _verdicts(grad_check_lstm_cell):
    """The report's pass (1) or fail (0) for each of the seven gradients."""

    def verdicts(backward, inputs, dh_next, dc_next):
        report = grad_check_lstm_cell(backward, inputs, dh_next, dc_next)
        if not isinstance(report, GradCheckReport):
            raise GradingError(
                "grad_check_lstm_cell: expected the GradCheckReport that grad_check returns, "
                f"got {type(report).__name__}"
            )
        missing = [name for name in GRAD_NAMES if name not in report.per_input]
        if missing:
            raise GradingError(
                f"grad_check_lstm_cell: the report checks no gradient for {', '.join(missing)}."
                " Pass all seven (x, h, c, W_ih, W_hh, b_ih, b_hh) in `analytic`."
            )
        return tuple(float(report.per_input[name][1] == 0) for name in GRAD_NAMES)

    return verdicts


GRAD_CHECK_MISTAKES = [  # (name, hint, a wrong grad_check_lstm_cell)
    ("the loss sums h_next and c_next without the weights dh_next and dc_next",
     "use L = np.sum(dh_next * h_next) + np.sum(dc_next * c_next): its gradient with "
     "respect to h_next is dh_next, the one the backward was given.",
     partial(grad_check_lstm_cell_reference, loss="unweighted")),
    ("the loss leaves out c_next",
     "the backward was given dc_next too: add np.sum(dc_next * c_next) to the loss.",
     partial(grad_check_lstm_cell_reference, loss="without c_next")),
]  # fmt: skip

GRAD_CHECK = Check(
    name="grad_check_lstm_cell",
    reference=_verdicts(grad_check_lstm_cell_reference),
    output_names=[f"the report's verdict on {name} (1 passes, 0 fails)" for name in GRAD_NAMES],
    mistakes=[Mistake(name, hint, _verdicts(function))
              for name, hint, function in GRAD_CHECK_MISTAKES],
    forbid=False,  # the exercise is to use lstm_ref's forward and grad_check
)  # fmt: skip

# the backward functions each case checks: the right one, and two of the known mistakes
CHECKED_BACKWARDS = [
    ("the correct backward", lstm_cell_backward_reference),
    ("a backward that leaves out dc_next", partial(lstm_cell_backward_variant, through_c=False)),
    ("a backward with sigmoid' taken as s", partial(lstm_cell_backward_variant,
                                                   sigmoid_grad=lambda s: s)),
]  # fmt: skip


# (label, N, I, H, weight scale): small, since central differences run the cell twice per entry
GRAD_CHECK_SHAPES = [("typical", 3, 3, 2, 1.0), ("batch 1", 1, 2, 3, 1.0),
                     ("large pre-activations", 2, 3, 2, 20.0)]  # fmt: skip
GRAD_CHECK_HIDDEN = [("other sizes", 2, 2, 3, 1.0), ("all sizes 1", 1, 1, 1, 1.0),
                     ("large pre-activations", 3, 2, 2, 25.0)]  # fmt: skip


def grad_check_cases(hidden: bool) -> list[Case]:
    """Cases (backward, inputs, dh_next, dc_next) in float64, one per backward and shape."""
    shapes = GRAD_CHECK_HIDDEN if hidden else GRAD_CHECK_SHAPES
    cases = []
    for case in build_cases(_with_upstream, "numpy", hidden, shapes=shapes):
        if case.dtype != np.float64:
            continue  # central differences need float64
        *arrays, dh_next, dc_next = case.args
        inputs = dict(zip(GRAD_NAMES, arrays))
        for label, backward in CHECKED_BACKWARDS:
            args = (backward, inputs, dh_next, dc_next)
            cases.append(dataclasses.replace(case, label=f"{label}; {case.label}", args=args))
    return cases


def check_grad_check_lstm_cell(grad_check_lstm_cell, hidden: bool = False) -> None:
    """Check ``grad_check_lstm_cell(backward, inputs, dh_next, dc_next)`` -> a report."""
    if not callable(grad_check_lstm_cell):
        name = type(grad_check_lstm_cell).__name__
        raise GradingError(f"grad_check_lstm_cell: expected a function, got {name}")
    run_check(GRAD_CHECK, _verdicts(grad_check_lstm_cell), grad_check_cases(hidden))
