"""The encoder–decoder's fixed-size bottleneck, measured (chapter 6).

A :class:`lstm_ref.nn.Seq2Seq` learns to reverse digit strings of 1 to ``max_len``
digits (:func:`lstm_ref.tasks.toy_translation`), with or without attention, for the
same number of steps on the same batches. Then it decodes held-out strings of each
length greedily, and we count the strings that come out exactly right:

    train_translator(attention, seed=s)     -> model, History
    accuracy_by_length(model, lengths)      -> LengthAccuracy, one entry per length
    length_sweep(variants, seeds)           -> {(name, seed): (model, LengthAccuracy)}
    attention_map(model, length)            -> the weights α (T, S) for one string

Sequences are time-major: src (S, N), tgt_in and tgt_out (S + 1, N) token ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from lstm_ref.experiments.ahead import startable
from lstm_ref.experiments.pool import seeded_runs
from lstm_ref.nn import Seq2Seq
from lstm_ref.tasks import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, decode_digits, toy_translation
from lstm_ref.train import History, train

TRAIN_SEED_STRIDE = 100_000
"""Training batch `step` of run `seed` is drawn with seed ``seed * stride + step``."""
EVAL_SEED = 10**9
"""Held-out strings of length L are drawn with seed ``EVAL_SEED + L``: never trained on."""


def translation_batch(step: int, *, seed: int, batch_size: int, max_len: int):
    """Training batch `step`: ((src, tgt_in, lengths), tgt_out), lengths 1 … max_len."""
    batch = toy_translation(
        batch_size=batch_size, seed=seed * TRAIN_SEED_STRIDE + step, max_len=max_len
    )
    return (batch.src, batch.tgt_in, batch.lengths), batch.tgt_out


def sequence_loss(logits: Tensor, tgt_out: Tensor) -> Tensor:
    """Mean cross-entropy over the real target tokens (PAD ignored).

    Shapes: logits (T, N, V), tgt_out (T, N).
    """
    T, N, V = logits.shape
    flat = logits.reshape(T * N, V)
    return F.cross_entropy(flat, tgt_out.reshape(T * N), ignore_index=PAD_ID)


@startable(whole=True)  # chapter 6 starts its early model before it waits for its sweep
def train_translator(
    attention: str | None = None,
    *,
    seed: int = 0,
    steps: int = 800,
    hidden_size: int = 64,
    embed_size: int = 16,
    batch_size: int = 64,
    max_len: int = 12,
    lr: float = 3e-3,
) -> tuple[Seq2Seq, History]:
    """Train a Seq2Seq (attention None, 'dot' or 'additive') to reverse digit strings.

    Teacher forcing throughout; Adam, gradients clipped to norm 1. A `seed` gives the
    same batches, in the same order, whatever the `attention`. Returns the model in
    eval mode.
    """
    torch.manual_seed(seed)
    model = Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, embed_size, hidden_size, attention=attention)
    make_batch = partial(translation_batch, seed=seed, batch_size=batch_size, max_len=max_len)
    history = train(
        model, make_batch, sequence_loss, steps=steps, lr=lr, clip_grad_norm=1.0,
        seed=seed, progress=False,
    )  # fmt: skip
    return model.eval(), history


@dataclass
class LengthAccuracy:
    """Accuracies on held-out strings, one entry per source length."""

    lengths: list[int]
    sequence: list[float]  # greedy output equals the whole target, EOS included
    token: list[float]  # greedy: fraction of the L digit positions right
    forced_token: list[float]  # teacher forced: the same, given the true prefix


@torch.no_grad()
def accuracy_by_length(
    model: Seq2Seq, lengths: list[int], *, examples: int = 500
) -> LengthAccuracy:
    """Decode `examples` held-out strings of each length, free-running and teacher forced."""
    model.eval()
    result = LengthAccuracy(list(lengths), [], [], [])
    for L in lengths:
        batch = toy_translation(batch_size=examples, seed=EVAL_SEED + L, min_len=L, max_len=L)
        tokens = model.greedy_decode(
            batch.src, BOS_ID, EOS_ID, max_len=L + 1, src_lengths=batch.lengths
        )  # (T, N), T <= L + 1
        output = torch.full_like(batch.tgt_out, PAD_ID)  # (L + 1, N)
        output[: tokens.shape[0]] = tokens
        right = output == batch.tgt_out  # (L + 1, N)
        forced = model(batch.src, batch.tgt_in, batch.lengths).argmax(-1)  # (L + 1, N)
        result.sequence.append(right.all(dim=0).float().mean().item())
        result.token.append(right[:L].float().mean().item())
        result.forced_token.append((forced[:L] == batch.tgt_out[:L]).float().mean().item())
    return result


def parameter_count(model: torch.nn.Module) -> int:
    """sum(p.numel()) over the model's parameters."""
    return sum(p.numel() for p in model.parameters())


def matching_hidden_size(attention: str = "additive", hidden_size: int = 64) -> int:
    """The largest H at which a plain Seq2Seq has no more parameters than `attention`'s."""
    budget = parameter_count(Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, 16, hidden_size, attention=attention))
    H = hidden_size
    while parameter_count(Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, 16, H + 1)) <= budget:
        H += 1
    return H


def bottleneck_variants(hidden_size: int = 64) -> dict[str, dict]:
    """The three models the chapter compares: name -> keyword arguments of train_translator.

    "plain" and "attention" share the hidden size; "plain, wider" is plain with as many
    parameters as "attention" (a wider state, so a wider bottleneck too).
    """
    return {
        "plain": {"attention": None, "hidden_size": hidden_size},
        "attention": {"attention": "additive", "hidden_size": hidden_size},
        "plain, wider": {
            "attention": None,
            "hidden_size": matching_hidden_size(hidden_size=hidden_size),
        },
    }


def length_run(
    name: str, seed: int, variants: dict[str, dict], lengths: tuple[int, ...], **train_kwargs
) -> tuple[Seq2Seq, LengthAccuracy]:
    """Train variant `name` from `seed` and measure it at every length."""
    model, _ = train_translator(seed=seed, **variants[name], **train_kwargs)
    return model, accuracy_by_length(model, list(lengths))


@startable
def length_sweep(
    variants: dict[str, dict],
    seeds: tuple[int, ...] | dict[str, tuple[int, ...]] = (0, 1),
    lengths: tuple[int, ...] = tuple(range(1, 13)),
    *,
    workers: int | None = None,
    **train_kwargs,
) -> dict[tuple[str, int], tuple[Seq2Seq, LengthAccuracy]]:
    """Train one model per (variant, seed) and measure it at every length.

    `variants` maps a name to keyword arguments of :func:`train_translator`;
    `train_kwargs` (steps, batch_size, …) apply to all of them. `seeds` are the same
    for every variant, or a dict name -> seeds that picks the variants run and their
    order. The runs are independent and seeded, so `workers` (see
    :func:`lstm_ref.experiments.pool.starmap`) changes only the time taken.

    Raises:
        ValueError: a name in `seeds` that is not in `variants`.
    """
    run = partial(length_run, variants=variants, lengths=tuple(lengths), **train_kwargs)
    return seeded_runs(run, list(variants), seeds, workers=workers)


@torch.no_grad()
def attention_map(model: Seq2Seq, length: int, *, seed: int = EVAL_SEED - 1):
    """Greedy-decode one held-out string; return (source, output, weights α (T, S)).

    source and output are digit strings; row t of the weights is the distribution
    over the source positions that the decoder used for output token t (EOS included).
    """
    batch = toy_translation(batch_size=1, seed=seed, min_len=length, max_len=length)
    tokens, weights = model.eval().greedy_decode(
        batch.src, BOS_ID, EOS_ID, max_len=length + 1, return_attention=True
    )  # tokens (T, 1), weights (T, 1, S)
    if weights is None:
        raise ValueError("expected a model with attention, got attention=None")
    return decode_digits(batch.src[:, 0]), decode_digits(tokens[:, 0]), weights[:, 0]
