"""Exercise 5.5: Luong's dot-product attention, from tensor operations.

    dot_attention(queries, keys, mask) -> context (T, N, H), weights (T, N, S)
    queries (T, N, H), keys (S, N, H), mask (S, N) bool, True at real source tokens

e_{t,j} = s_t · h_j (unscaled), α = softmax over the real j, a_t = Σ_j α_{t,j} h_j.
Gradients must reach the queries and the keys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import lstm_ref.nn.attention as ref_attention
from lstm_ref.nn import DotAttention

from ..core import Check, Mistake
from ..exercise import Part
from ..torch_cases import TorchExercise, torch_cases
from ._common import forbid

# (label, T, N, S, H, scale): every string has padding or not, each has >= 1 real token
SHAPES = [("typical", 3, 4, 5, 4, 1.0), ("batch 1", 2, 1, 4, 3, 1.0),
          ("one query", 1, 3, 5, 4, 1.0), ("large scores", 4, 2, 6, 5, 40.0)]  # fmt: skip
HIDDEN = [("other sizes", 5, 3, 4, 6, 1.0), ("H = 1", 2, 2, 3, 1, 1.0),
          ("long source", 2, 3, 12, 4, 1.0), ("large scores", 3, 4, 7, 3, 50.0)]  # fmt: skip
FORBIDDEN = dict(
    methods=[(DotAttention, "forward"), (ref_attention.AdditiveAttention, "forward"),
             (nn.MultiheadAttention, "forward")],
    functions=[ref_attention._attend],
    attributes=[(F, "scaled_dot_product_attention"), (F, "multi_head_attention_forward")],
)  # fmt: skip


def make_args(seed, T, N, S, H, scale, *, dtype, device):
    generator = torch.Generator().manual_seed(seed)
    queries = torch.randn(T, N, H, generator=generator, dtype=torch.float64) * scale
    keys = torch.randn(S, N, H, generator=generator, dtype=torch.float64)
    lengths = torch.randint(1, S + 1, (N,), generator=generator)
    lengths[0] = max(1, S - 2)  # the first string is always padded
    mask = torch.arange(S).unsqueeze(1) < lengths  # (S, N)
    return (queries.to(device=device, dtype=dtype), keys.to(device=device, dtype=dtype),
            mask.to(device))  # fmt: skip


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden,
                       lambda T, N, S, H, _: f"T={T}, N={N}, S={S}, H={H}")


def reference(queries, keys, mask):
    return DotAttention(queries.shape[-1])(queries, keys, mask)


def runner(dot_attention):
    def run(queries, keys, mask):
        with forbid(**FORBIDDEN, hint="Use tensor operations (einsum, softmax, ...)."):
            return dot_attention(queries, keys, mask)

    return run


def attention_variant(queries, keys, mask, *, scale=1.0, fill=-torch.inf, axis=-1,
                      renormalise=True, hide="padding"):  # fmt: skip
    """Dot attention written out; the keywords make the mistakes (fill None: no mask)."""
    scores = torch.einsum("tnh,snh->tns", queries, keys) * scale  # (T, N, S)
    hidden = ~mask.T.unsqueeze(0) if hide == "padding" else mask.T.unsqueeze(0)  # (1, N, S)
    if fill is not None and renormalise:
        scores = scores.masked_fill(hidden, fill)
    weights = torch.softmax(scores, dim=axis)  # α
    if fill is not None and not renormalise:
        weights = weights.masked_fill(hidden, 0.0)
    return torch.einsum("tns,snh->tnh", weights, keys), weights  # Σ_j α_tj h_j


def naive_exp(queries, keys, mask, *, multiply=False):
    """exp of the raw scores, normalised by their sum: overflows for large scores."""
    scores = torch.einsum("tnh,snh->tns", queries, keys)
    real = mask.T.unsqueeze(0)  # (1, N, S)
    e = torch.exp(scores) * real if multiply else torch.exp(scores.masked_fill(~real, -torch.inf))
    weights = e / e.sum(dim=-1, keepdim=True)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def both_batch_first(queries, keys, mask):
    """Both outputs left batch-first, (N, T, ...), as bmm on (N, ·, ·) batches gives them."""
    context, weights = attention_variant(queries, keys, mask)
    return context.transpose(0, 1), weights.transpose(0, 1)


AXIS = ("the softmax runs over the queries (axis T), not over the source positions",
        "normalise over j, the last axis of the (T, N, S) scores: each row sums to 1.")
OVERFLOW = ("exp() of large scores overflows: a softmax written by hand",
            "use torch.softmax, which subtracts the largest score before exp().")
DOT_ATTENTION = Check(
    name="dot_attention",
    reference=reference,
    output_names=["context", "weights"],
    forbid=False,
    wrt=(0, 1),
    arg_names=("queries", "keys", "mask"),
    shape_hint="scores[t, n, j] = queries[t, n] · keys[j, n]: "
               "torch.einsum('tnh,snh->tns', queries, keys) is (T, N, S), and mask.T is (N, S).",
    mistakes=[
        Mistake(*AXIS, lambda q, k, m: attention_variant(q, k, m, fill=-1e9, axis=0)),
        Mistake(*AXIS, lambda q, k, m: attention_variant(q, k, m, axis=0)),
        Mistake("the mask is not applied: padding gets weight",
                "fill the scores at padding (mask False) with -inf before the softmax.",
                lambda q, k, m: attention_variant(q, k, m, fill=None)),
        Mistake("the mask is inverted: the real tokens are hidden instead of the padding",
                "mask is True at real tokens: fill where ~mask, not where mask.",
                lambda q, k, m: attention_variant(q, k, m, hide="real")),
        Mistake("padding is scored 0 instead of -inf",
                "a score of 0 still gets weight exp(0); use masked_fill(..., float('-inf')).",
                lambda q, k, m: attention_variant(q, k, m, fill=0.0)),
        Mistake("the weights at padding are zeroed after the softmax without renormalising",
                "mask the scores before the softmax, so the real tokens' weights sum to 1.",
                lambda q, k, m: attention_variant(q, k, m, renormalise=False)),
        Mistake("the scores are scaled by 1/√H",
                "this exercise asks for Luong's unscaled dot product, score = s_t · h_j.",
                lambda q, k, m: attention_variant(q, k, m, scale=q.shape[-1] ** -0.5)),
        Mistake("context and weights are batch-first, (N, T, ...); the exercise is "
                "time-major, (T, N, ...)", "transpose bmm's (N, T, ...) results back: "
                ".transpose(0, 1), or use einsum('tnh,snh->tns', ...).", both_batch_first),
        Mistake(*OVERFLOW, naive_exp),
        Mistake(*OVERFLOW, lambda q, k, m: naive_exp(q, k, m, multiply=True)),
    ],
)  # fmt: skip

check_dot_attention = TorchExercise(
    "dot_attention", [Part(DOT_ATTENTION, cases, runner)],
    doc="Check ``dot_attention(queries, keys, mask) -> (context, weights)``, from scratch.")
