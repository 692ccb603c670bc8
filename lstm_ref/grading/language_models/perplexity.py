"""Exercise 5.2: perplexity from a model's logits.

    perplexity(logits, targets) -> a Python float
    logits (L, N, V) float, targets (L, N) int64; targets[t, n] is the symbol after
    inputs[t, n], the one that logits[t, n] scores

H = -(1/(L·N)) Σ_{t,n} ln softmax(logits[t, n])[targets[t, n]] (nats per symbol), and the
perplexity is exp(H): V for a model that spreads its probability evenly, 1 for one that
is always sure and right.
"""

from __future__ import annotations

import math

import torch

from lstm_ref import text

from ..core import Check, Mistake
from ..exercise import Part
from ..torch_cases import torch_cases
from ._common import TextExercise, forbid_text

# (label, L, N, V, scale, right): logits ~ scale·N(0, 1); a share `right` of the targets
# is the argmax (a model that is often right), the others uniform. L, N, V all differ.
SHAPES = [("typical", 6, 3, 11, 1.0, 0.0), ("batch 1", 5, 1, 7, 1.0, 0.0),
          ("length 1", 1, 4, 9, 1.0, 0.0), ("a confident model", 4, 3, 8, 6.0, 0.8)]  # fmt: skip
HIDDEN = [("other sizes", 7, 5, 13, 1.0, 0.0), ("all sizes small", 1, 1, 2, 1.0, 0.0),
          ("wide", 3, 9, 30, 2.0, 0.0), ("a confident model", 5, 2, 6, 8.0, 0.9)]  # fmt: skip


def make_args(seed, L, N, V, scale, right, *, dtype, device):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(L, N, V, generator=generator, dtype=torch.float64) * scale
    targets = torch.randint(0, V, (L, N), generator=generator)
    chosen = torch.rand(L, N, generator=generator, dtype=torch.float64) < right
    targets = torch.where(chosen, logits.argmax(-1), targets)
    return logits.to(device=device, dtype=dtype), targets.to(device)


def cases(hidden: bool):
    return torch_cases(
        make_args, HIDDEN if hidden else SHAPES, hidden, lambda L, N, V, *_: f"L={L}, N={N}, V={V}"
    )


def reference(logits, targets) -> float:
    return text.perplexity(logits, targets)


def runner(perplexity):
    def run(logits, targets):
        with forbid_text(text.perplexity, text.cross_entropy, text.bits_per_char):
            return perplexity(logits, targets)

    return run


def nll(logits, targets, *, dim=-1, log=True):
    """-log p (or -p, with log False) of each target, (L, N); ``dim``: the softmax's axis."""
    p = torch.log_softmax(logits, dim=dim) if log else torch.softmax(logits, dim=dim)
    return -p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def cross_entropy(logits, targets) -> float:
    """H in nats, a float."""
    return nll(logits, targets).mean().item()


def shifted(logits, targets, by: int) -> float:
    """exp(H) of logits[t] scored against targets[t + by]."""
    L = logits.shape[0]
    first, last = max(0, -by), L - max(0, by)
    return math.exp(nll(logits[first:last], targets[first + by : last + by]).mean().item())


WRONG_AXIS = ("the softmax runs over the wrong axis: over time or the batch, not over "
              "the vocabulary", "the probabilities of the next symbol are over V, the "
              "last axis: log_softmax(logits, dim=-1).")  # fmt: skip
EXP_FIRST = ("exp is taken before the mean: the perplexity is exp of the mean "
             "cross-entropy, not a mean of perplexities", "average the -log p over all "
             "L·N symbols first, then take exp once.")  # fmt: skip
BASES = ("the bases disagree: the log and the power must use the same base",
         "perplexity = exp(H) with H in nats (natural log), or 2 ** H with H in bits "
         "(log2); not exp of bits, nor 2 to the power of nats.")  # fmt: skip
SHIFTED = ("the targets are shifted: logits[t] must be scored against targets[t]",
           "targets[t] is already the symbol after inputs[t], the one logits[t] predicts: "
           "compare them as they are, no [1:] or [:-1].")  # fmt: skip
SUMMED = (
    "the cross-entropy is summed instead of averaged",
    "H is the mean of -log p over the L·N symbols (F.cross_entropy's default).",
)
SUMMED_OVER_TIME = (
    "the cross-entropy is summed over time and averaged over the batch only",
    "H is the mean over all L·N symbols, time and batch alike.",
)
PERPLEXITY = Check(
    name="perplexity",
    reference=reference,
    output_names=["perplexity"],
    forbid=False,  # the guard in runner() blocks lstm_ref.text; F.cross_entropy is fine
    arg_names=("logits", "targets"),
    shape_hint="F.cross_entropy takes the classes on dim 1: pass logits.reshape(-1, V) "
               "and targets.reshape(-1), one row per symbol (L·N rows).",
    mistakes=[
        Mistake("the exp is missing: this is the cross-entropy, not the perplexity",
                "the perplexity is exp(H), H the mean cross-entropy in nats.",
                cross_entropy),
        Mistake("bits per character, not the perplexity: H / ln 2 without the power",
                "the perplexity is exp(H) with H in nats (or 2 ** H with H in bits).",
                lambda z, y: cross_entropy(z, y) / math.log(2)),
        Mistake(*WRONG_AXIS, lambda z, y: math.exp(nll(z, y, dim=0).mean().item())),
        Mistake(*WRONG_AXIS, lambda z, y: math.exp(nll(z, y, dim=1).mean().item())),
        Mistake(*BASES, lambda z, y: math.exp(cross_entropy(z, y) / math.log(2))),
        Mistake(*BASES, lambda z, y: 2 ** cross_entropy(z, y)),
        Mistake(*EXP_FIRST, lambda z, y: nll(z, y).exp().mean().item()),
        Mistake(*EXP_FIRST, lambda z, y: nll(z, y).mean(0).exp().mean().item()),
        Mistake(*EXP_FIRST, lambda z, y: nll(z, y).mean(1).exp().mean().item()),
        Mistake(*SUMMED, lambda z, y: math.exp(nll(z, y).sum().item())),
        Mistake(*SUMMED, lambda z, y: nll(z, y).sum().exp().item()),  # inf in float32
        Mistake(*SUMMED_OVER_TIME, lambda z, y: math.exp(nll(z, y).sum(0).mean().item())),
        Mistake(*SUMMED_OVER_TIME, lambda z, y: nll(z, y).sum(0).mean().exp().item()),
        Mistake("the log is missing: the mean probability of the targets is used, not "
                "their mean log-probability", "H = -mean(log p): take log_softmax (or "
                "log of the softmax) before averaging.",
                lambda z, y: math.exp(nll(z, y, log=False).mean().item())),
        Mistake("the logits are used as log-probabilities: the log-softmax is missing",
                "F.nll_loss expects log-probabilities; apply log_softmax over V first, or "
                "use F.cross_entropy on the logits.",
                lambda z, y: math.exp(-z.gather(-1, y.unsqueeze(-1)).mean().item())),
        Mistake(*SHIFTED, lambda z, y: shifted(z, y, 1)),
        Mistake(*SHIFTED, lambda z, y: shifted(z, y, -1)),
    ],
)  # fmt: skip

check_perplexity = TextExercise(
    "perplexity",
    [Part(PERPLEXITY, cases, runner)],
    doc="Check ``perplexity(logits (L, N, V), targets (L, N)) -> float``.",
)
