"""Exercise 5.3: one teacher-forced training step.

    train_step(model, optimizer, src, tgt_in, tgt_out) -> loss, a Python float

zero_grad, logits = model(src, tgt_in) (T, N, V), the mean cross-entropy against tgt_out
over the real tokens (PAD ignored), backward, step; the loss before the update. Checked
on two steps of plain SGD on an lstm_ref.nn.Seq2Seq: the two losses, then every
parameter after the second step (those carry the gradients).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lstm_ref.experiments.seq2seq import sequence_loss
from lstm_ref.nn import Seq2Seq
from lstm_ref.tasks import PAD_ID, VOCAB_SIZE, toy_translation
from lstm_ref.train import train

from ..core import TOLERANCE, Check, Mistake
from ..exercise import Part
from ..judge import difference
from ..torch_cases import TorchExercise, seeded, torch_cases
from ._common import forbid

LR = 0.5  # plain SGD; large enough that every mistake moves the parameters visibly
# (label, N, E, H, max_len): two batches of toy translation, one SGD step on each
SHAPES = [("typical", 4, 4, 5, 5), ("batch 1", 1, 3, 4, 4), ("longer strings", 3, 3, 4, 7)]
HIDDEN = [("other sizes", 5, 5, 6, 6), ("all sizes 1", 1, 1, 1, 2), ("wide batch", 8, 4, 3, 5)]
PARAMETERS = [name for name, _ in seeded(0, lambda: Seq2Seq(1, 1, 1, 1)).named_parameters()]


def make_args(seed, N, E, H, max_len, *, dtype, device):
    model = seeded(seed, lambda: Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, E, H))
    batches = []
    for step in range(2):
        batch = toy_translation(batch_size=N, seed=2 * seed + step, max_len=max_len)
        batches.append(tuple(t.to(device) for t in batch[:3]))  # src, tgt_in, tgt_out
    return model.to(device=device, dtype=dtype), batches


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden,
                       lambda N, E, H, max_len: f"N={N}, E={E}, H={H}, S={max_len}")


def reference(model, batches):
    """Two steps of the course's training loop, lstm_ref.train.train, with plain SGD."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    history = train(
        model, lambda step: (batches[step][:2], batches[step][2]), sequence_loss, steps=2,
        optimizer=optimizer, seed=None, progress=False,
    )  # fmt: skip
    return (*history.loss, *[p.detach() for p in model.parameters()])


def two_steps(model, batches, train_step):
    """``train_step`` on each batch with one SGD optimiser: the losses, then the weights."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    losses = [train_step(model, optimizer, *batch) for batch in batches]
    return (*losses, *[p.detach() for p in model.parameters()])


def runner(train_step):
    def guarded(model, optimizer, src, tgt_in, tgt_out):
        with forbid(functions=[train, sequence_loss], hint="Write the step yourself."):
            return train_step(model, optimizer, src, tgt_in, tgt_out)

    return partial(two_steps, train_step=guarded)


def compare(case, got, expected) -> str | None:
    """The judge's comparison, output by output, with the losses (Python floats, 0-d
    arrays) compared here: judge.difference cannot report a 0-d difference (it assigns
    into ``np.abs`` of two 0-d arrays, a NumPy scalar)."""
    for name, g, e in zip(TRAIN_STEP.output_names, got, expected):
        if e.kind == "number" and g.numeric and g.array.ndim == 0:
            value, right = float(g.array), float(e.array)
            rtol, atol = TOLERANCE.get(np.dtype(case.dtype), TOLERANCE[np.dtype("float64")])
            if not np.isclose(value, right, rtol=rtol, atol=atol):
                return f"{name} differs: got {value:.6g}, expected {right:.6g}"
            continue
        problem = difference(name, g, e, case.dtype)
        if problem is not None:
            return problem[0]
    return None


def _loss(logits, target, loss: str) -> Tensor:
    """The mean cross-entropy over real tokens, or one of its wrong cousins."""
    flat, ids = logits.reshape(-1, logits.shape[-1]), target.reshape(-1)  # (T·N, V), (T·N,)
    if loss == "with PAD":
        return F.cross_entropy(flat, ids)
    total = F.cross_entropy(flat, ids, ignore_index=PAD_ID, reduction="sum")
    count = {"mean": (ids != PAD_ID).sum(), "sum": 1, "over all positions": ids.numel()}[loss]
    return total / count


def train_step_variant(
    model, optimizer, src, tgt_in, tgt_out, *, feed="tgt_in", target="tgt_out", loss="mean",
    zero_grad=True, step=True, report="before",
) -> float:  # fmt: skip
    """One training step written out; the keywords make the mistakes."""
    batch = {"tgt_in": tgt_in, "tgt_out": tgt_out}
    if zero_grad:
        optimizer.zero_grad()
    logits = model(src, batch[feed])  # (T, N, V)
    value = _loss(logits, batch[target], loss)
    value.backward()
    if step:
        optimizer.step()
    if report == "after":
        with torch.no_grad():
            value = _loss(model(src, batch[feed]), batch[target], loss)
    return value.item()


def _mistake(name: str, hint: str, **flags) -> Mistake:
    """A mistake whose ``fn.keywords["train_step"]`` is the mistaken train_step itself."""
    return Mistake(name, hint, partial(two_steps, train_step=partial(train_step_variant, **flags)))


TRAIN_STEP = Check(
    name="train_step",
    reference=reference,
    output_names=["loss of step 1", "loss of step 2", *[f"{p} after 2 steps" for p in PARAMETERS]],
    forbid=False,
    criterion=compare,
    shape_hint="F.cross_entropy takes logits (T·N, V) and targets (T·N,): reshape both.",
    mistakes=[
        _mistake("teacher forcing off by one: tgt_out is fed to the decoder",
                 "feed tgt_in = [BOS, y_1, ...] and score against tgt_out = [y_1, ..., EOS].",
                 feed="tgt_out"),
        _mistake("the logits are compared with tgt_in instead of tgt_out",
                 "the decoder reading y_{t-1} predicts y_t: the targets are tgt_out.",
                 target="tgt_in"),
        _mistake("PAD is not ignored in the loss",
                 "F.cross_entropy(..., ignore_index=PAD_ID) leaves padding out of the loss.",
                 loss="with PAD"),
        _mistake("the loss is summed instead of averaged",
                 "average over the real target tokens (cross_entropy's default reduction).",
                 loss="sum"),
        _mistake("the loss is divided by every position, PAD included",
                 "divide by the number of real target tokens, not by T·N.",
                 loss="over all positions"),
        _mistake("optimizer.zero_grad() is missing: gradients pile up from step to step",
                 "call optimizer.zero_grad() before loss.backward().", zero_grad=False),
        _mistake("the parameters are not updated",
                 "call optimizer.step() after loss.backward(), zero_grad() before backward.",
                 step=False),
        _mistake("the loss returned is computed after the update",
                 "return the loss you backpropagated, before optimizer.step() changed the "
                 "weights.", report="after"),
    ],
)  # fmt: skip

check_train_step = TorchExercise(
    "train_step", [Part(TRAIN_STEP, cases, runner)],
    doc="Check ``train_step(model, optimizer, src, tgt_in, tgt_out) -> float`` on two steps.")
