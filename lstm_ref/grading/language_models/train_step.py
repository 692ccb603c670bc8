"""Exercise 5.4: one step of truncated BPTT, the state carried and detached.

    train_step(model, optimizer, inputs, targets, state) -> loss, (h, c)
    inputs, targets (L, N) int64; state (h, c), each (layers, N, H), or None at the start;
    model(inputs, state) -> logits (L, N, V), (h, c); loss a Python float

zero_grad, forward from ``state``, the mean cross-entropy of the logits against the
targets, backward, step; the loss before the update, and the new state detached from the
graph. Checked on three consecutive windows of a batchified stream, each step starting
from the state the one before returned, with plain SGD on an lstm_ref.text.CharLSTM: the
three losses, the final state, whether that state is still attached to a graph, and every
parameter after the third step (they carry the gradients).
"""

from __future__ import annotations

from functools import partial
from itertools import islice

import torch
import torch.nn.functional as F

from lstm_ref import text

from ..core import Check, GradingError, Mistake
from ..exercise import Part
from ..torch_cases import full_float32, seeded, torch_cases
from ..values import describe
from ._common import KnownError, TextExercise, forbid_text

LR = 0.5  # plain SGD; large enough that every mistake moves the parameters visibly
WINDOWS = 3  # consecutive windows, one step each
# (label, N, V, D, H, layers, bptt)
SHAPES = [("typical", 3, 12, 4, 5, 1, 4), ("batch 1", 1, 10, 3, 4, 1, 5),
          ("two layers", 2, 9, 4, 5, 2, 3)]  # fmt: skip
HIDDEN = [("other sizes", 4, 11, 5, 6, 1, 6), ("windows of 1", 2, 6, 3, 3, 1, 1),
          ("three layers", 2, 8, 3, 4, 3, 4), ("wide batch", 6, 7, 4, 3, 1, 2)]  # fmt: skip


def make_args(seed, N, V, D, H, layers, bptt, *, dtype, device):
    model = seeded(seed, lambda: text.CharLSTM(V, D, H, layers))
    generator = torch.Generator().manual_seed(seed)
    T = N * (WINDOWS * bptt + 1) + N // 2 + 1  # a stream that leaves a tail to drop
    data = text.batchify(torch.randint(0, V, (T,), generator=generator), N).to(device)
    windows = [tuple(w) for w in islice(text.tbptt_batches(data, bptt), WINDOWS)]
    return model.to(device=device, dtype=dtype), windows


def _sizes(N, V, D, H, layers, bptt):
    return f"N={N}, V={V}, H={H}, {layers} layer{'s' * (layers > 1)}, bptt={bptt}"


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden, _sizes)


def _state(result) -> tuple:
    """(loss, (h, c)) from what a train_step returned, or a one-line GradingError."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise GradingError(f"train_step should return (loss, (h, c)), got {describe(result)}")
    loss, state = result
    if not isinstance(state, tuple | list) or len(state) != 2:
        raise GradingError(f"train_step should return the state as the pair (h, c), "
                           f"got {describe(state)}")  # fmt: skip
    return loss, tuple(state)


def windows_in_turn(model, windows, train_step):
    """``train_step`` on each window with one SGD optimiser, the state carried from step
    to step: the losses, the last state, 1.0 if it is attached to a graph, and every
    parameter after the last step, flattened into one vector (any number of layers).

    cuDNN runs in full float32 (no TF32), for the reference and the student alike."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    losses, state = [], None
    with full_float32():
        for inputs, targets in windows:
            loss, state = _state(train_step(model, optimizer, inputs, targets, state))
            losses.append(loss)
    h, c = state
    attached = float(any(isinstance(s, torch.Tensor) and s.requires_grad for s in state))
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return (*losses, h.detach(), c.detach(), attached, weights)


def reference(model, windows):
    return windows_in_turn(model, windows, text.train_step)


def runner(train_step):
    def guarded(model, optimizer, inputs, targets, state):
        with forbid_text(text.train_step, hint="Write the step yourself."):
            return train_step(model, optimizer, inputs, targets, state)

    return partial(windows_in_turn, train_step=guarded)


def _loss(logits, inputs, targets, scored: str, reduction: str):
    """The cross-entropy of the logits against what ``scored`` names."""
    V = logits.shape[-1]
    pairs = {"targets": (logits, targets), "inputs": (logits, inputs),
             "shifted": (logits[:-1], targets[1:]),
             "from inputs": (logits[:-1], inputs[1:])}  # fmt: skip
    z, y = pairs[scored]
    return F.cross_entropy(z.reshape(-1, V), y.reshape(-1), reduction=reduction)


def step_variant(model, optimizer, inputs, targets, state, *, carry=True, detach="output",
                 zero_grad=True, scored="targets", reduction="mean", update=True,
                 report="before", swap=False):  # fmt: skip
    """One step written out; the keywords make the mistakes.

    detach: "output" detaches the state returned, "input" the state received (returning
    the new one attached to this window's graph).
    """
    if detach == "input" and state is not None:
        state = tuple(s.detach() for s in state)
    if zero_grad:
        optimizer.zero_grad()
    logits, (h, c) = model(inputs, state if carry else None)  # (L, N, V)
    loss = _loss(logits, inputs, targets, scored, reduction)
    loss.backward()
    if update:
        optimizer.step()
    if report == "after":
        with torch.no_grad():
            loss = _loss(model(inputs, state if carry else None)[0], inputs, targets, scored,
                         reduction)  # fmt: skip
    if detach == "output":
        h, c = h.detach(), c.detach()
    return loss.item(), ((c, h) if swap else (h, c))


def _mistake(name: str, hint: str, **flags) -> Mistake:
    """A mistake whose ``fn.keywords["train_step"]`` is the mistaken train_step itself."""
    return Mistake(name, hint, partial(windows_in_turn, train_step=partial(step_variant, **flags)))


NOT_DETACHED = ("the state is not detached", "return (h.detach(), c.detach()): the values "
                "carry on to the next window, this window's graph does not.")  # fmt: skip
TRAIN_STEP = Check(
    name="train_step",
    reference=reference,
    output_names=[*(f"loss of window {k + 1}" for k in range(WINDOWS)),
                  f"h after window {WINDOWS}", f"c after window {WINDOWS}",
                  "the state returned is attached to a graph (1) or detached (0)",
                  f"the parameters after {WINDOWS} steps (flattened)"],  # fmt: skip
    forbid=False,  # the model is built on nn.LSTM; the guard in runner() blocks the rest
    arg_names=("model", "windows"),
    shape_hint="F.cross_entropy takes logits (L·N, V) and targets (L·N,): reshape both.",
    mistakes=[
        _mistake("the state is reset to zeros at every window instead of carried",
                 "start from the state you were given: model(inputs, state); it is None only "
                 "for the first window.", carry=False),
        _mistake(*NOT_DETACHED, detach="input"),
        _mistake("optimizer.zero_grad() is missing: gradients pile up from step to step",
                 "call optimizer.zero_grad() before loss.backward().", zero_grad=False),
        _mistake("the logits are scored against the inputs, not the next symbols",
                 "logits[t] predicts targets[t], the symbol after inputs[t].",
                 scored="inputs"),
        _mistake("the targets are shifted once more: logits[t] is scored against "
                 "targets[t + 1]", "targets are already the next symbols: compare "
                 "logits[t] with targets[t], no [1:] or [:-1].", scored="shifted"),
        _mistake("the targets are made from the inputs (inputs[1:]), so the last symbol of "
                 "each window is never predicted", "use the targets you are given: "
                 "targets[t] follows inputs[t], also at the window's last step.",
                 scored="from inputs"),
        _mistake("the loss is summed instead of averaged",
                 "average over the L·N symbols (F.cross_entropy's default reduction).",
                 reduction="sum"),
        _mistake("the parameters are not updated",
                 "call optimizer.step() after loss.backward(), zero_grad() before backward.",
                 update=False),
        _mistake("the loss returned is computed after the update",
                 "return the loss you backpropagated, before optimizer.step() changed the "
                 "weights.", report="after"),
        _mistake("the state is returned as (c, h); it is (h, c)",
                 "return the state as the model gives it, (h, c), hidden state first.",
                 swap=True),
    ],
)  # fmt: skip


def _graph_error(case, kind: str, error: str) -> bool:
    return ("backward through the graph a second time" in error
            or "modified by an inplace operation" in error)  # fmt: skip


check_train_step = TextExercise(
    "train_step", [Part(TRAIN_STEP, cases, runner)],
    errors=[KnownError(*NOT_DETACHED, _graph_error)],
    doc="Check ``train_step(model, optimizer, inputs, targets, state) -> (loss, state)`` "
        "on three consecutive windows.")  # fmt: skip
