"""Recurrent dropout measured: a small character model that overfits, five ways (chapter 3).

The data: a short stretch of the standard library's source (:func:`stdlib_corpus`),
characters ``OFFSET`` onwards, cut into a small training text and the validation text
that follows it. The model reads windows of the training text from a zero state:

    e_t = E[x_t] -> RecurrentDropoutLSTM(method, p) -> z_t = W h_t + b, logits over V

With a few thousand training characters and 96 units the unregularised model
memorises them: its loss on the training text keeps falling while its loss on the
validation text turns up. Every method of :mod:`lstm_ref.nn.dropout` is trained with
the same size, data, steps and seeds; only the dropout differs.

Losses are bits per character, measured in evaluation mode (masks off, zoneout at its
expectation) on every non-overlapping window of `seq_len` + 1 characters, each read from
a zero state, at every `eval_every` training steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_ref.nn.dropout import METHODS, RecurrentDropoutLSTM
from lstm_ref.text import CharVocab, random_windows, stdlib_corpus, stdlib_files

from .ahead import startable
from .models import single_thread
from .pool import starmap

OFFSET = 45_000
"""Where the text starts in the standard library's stream: inside argparse.py on the
Python of this course, so the training and validation text are the same kind of code."""


@dataclass(frozen=True)
class Setup:
    """Everything a run depends on apart from the method, the rate and the seed."""

    train_chars: int = 2_500
    valid_chars: int = 4_000
    embedding_dim: int = 16
    hidden_size: int = 96
    seq_len: int = 16  # L, the window length
    batch_size: int = 32  # N windows per step
    steps: int = 120
    lr: float = 2e-2  # Adam
    clip: float = 1.0  # gradient norm
    eval_every: int = 20


@dataclass
class DropoutRun:
    """One training run: losses in bits per character after each `eval_every` steps."""

    method: str
    p: float
    seed: int
    steps: list[int] = field(default_factory=list)
    train_bits: list[float] = field(default_factory=list)
    valid_bits: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0

    @property
    def gap(self) -> float:
        """Final validation loss minus final training loss: how much was memorised."""
        return self.valid_bits[-1] - self.train_bits[-1]


class DropoutCharModel(nn.Module):
    """Embedding -> RecurrentDropoutLSTM -> linear: (L, N) int64 -> logits (L, N, V)."""

    def __init__(self, vocab_size: int, setup: Setup, method: str, p: float):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, setup.embedding_dim)
        self.lstm = RecurrentDropoutLSTM(setup.embedding_dim, setup.hidden_size, method, p)
        self.out = nn.Linear(setup.hidden_size, vocab_size)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.out(self.lstm(self.embedding(inputs))[0])  # (L, N, V)


@cache
def texts(setup: Setup = Setup()) -> tuple[CharVocab, Tensor, Tensor]:
    """(vocabulary, training ids (T_train,), validation ids (T_valid,)), contiguous."""
    text = stdlib_corpus(OFFSET + setup.train_chars + setup.valid_chars)[OFFSET:]
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    return vocab, ids[: setup.train_chars], ids[setup.train_chars :]


def source_files(setup: Setup = Setup()) -> list[str]:
    """The names of the standard library modules that the text of :func:`texts` is from."""
    end, start, names = OFFSET + setup.train_chars + setup.valid_chars, 0, []
    for path in stdlib_files():
        length = len(path.read_text(encoding="utf-8", errors="replace"))  # as stdlib_corpus
        if start < end and OFFSET < start + length:
            names.append(path.name)
        start += length
        if start >= end:
            return names
    raise ValueError(f"the standard library holds fewer than {end} characters")


@torch.no_grad()
def bits_per_char(model: nn.Module, ids: Tensor, seq_len: int) -> float:
    """Mean -log2 p of every character but the first, in windows of `seq_len` from zero."""
    was_training = model.training
    model.eval()
    W = (ids.shape[0] - 1) // seq_len  # windows
    offsets = torch.arange(W)[None, :] * seq_len + torch.arange(seq_len)[:, None]  # (L, W)
    logits = model(ids[offsets])  # (L, W, V)
    loss = F.cross_entropy(logits.flatten(0, 1), ids[offsets + 1].flatten())
    model.train(was_training)
    return loss.item() / math.log(2)


def train_run(method: str, p: float, seed: int, setup: Setup = Setup()) -> DropoutRun:
    """Train one DropoutCharModel from `seed` (weights, masks and batches); one thread."""
    vocab, train_ids, valid_ids = texts(setup)
    with single_thread():
        torch.manual_seed(seed)
        model = DropoutCharModel(len(vocab), setup, method, p)
        optimizer = torch.optim.Adam(model.parameters(), lr=setup.lr)
        batches = torch.Generator().manual_seed(seed)
        run, start = DropoutRun(method, p, seed), time.process_time()
        for step in range(1, setup.steps + 1):
            inputs, targets = random_windows(train_ids, setup.batch_size, setup.seq_len, batches)
            loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), setup.clip)
            optimizer.step()
            if step % setup.eval_every == 0:
                run.steps.append(step)
                run.train_bits.append(bits_per_char(model, train_ids, setup.seq_len))
                run.valid_bits.append(bits_per_char(model, valid_ids, setup.seq_len))
        run.cpu_seconds = time.process_time() - start
    return run


@startable
def compare_methods(
    methods=METHODS, p: float = 0.25, seeds=(0, 1), setup: Setup = Setup(), *,
    workers: int | None = None,
) -> list[DropoutRun]:
    """One run per (method, seed), the same `p` for every method (none ignores it).

    The runs are independent and seeded, so `workers` (see
    :func:`lstm_ref.experiments.pool.starmap`) changes only the time taken.
    """
    jobs = [(m, 0.0 if m == "none" else p, s, setup) for m in methods for s in seeds]
    return starmap(train_run, jobs, workers=workers)


MASKED = {
    "none": "nothing",
    "naive": "$x_t$ and $h_{t-1}$, a fresh mask every step",
    "variational": "$x_t$ and $h_{t-1}$, one mask per sequence",
    "weight_drop": "entries of $W_{hh}$, one mask per batch",
    "zoneout": "$c_t$ and $h_t$ keep their old value, fresh every step",
}
"""What each method of :data:`METHODS` masks, in words and MyST math (the chapter's table)."""


@dataclass(frozen=True)
class Summary:
    """One method's runs, averaged over seeds (bits per character)."""

    method: str
    train: float  # final loss on the training text
    valid: float  # final loss on the validation text
    best_valid: float  # the lowest validation loss at any evaluation
    best_step: float  # the step of that lowest loss (mean over seeds)
    gap: float  # valid - train at the end
    valid_low: float  # the best seed's final validation loss
    valid_high: float  # the worst seed's


def summarise(runs: list[DropoutRun]) -> dict[str, Summary]:
    """Mean over seeds of each method's final and best losses, in the runs' order."""
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    result = {}
    for method in dict.fromkeys(r.method for r in runs):
        mine = [r for r in runs if r.method == method]
        best = [min(range(len(r.steps)), key=r.valid_bits.__getitem__) for r in mine]
        result[method] = Summary(
            method,
            train=mean([r.train_bits[-1] for r in mine]),
            valid=mean([r.valid_bits[-1] for r in mine]),
            best_valid=mean([r.valid_bits[k] for r, k in zip(mine, best)]),
            best_step=mean([r.steps[k] for r, k in zip(mine, best)]),
            gap=mean([r.gap for r in mine]),
            valid_low=min(r.valid_bits[-1] for r in mine),
            valid_high=max(r.valid_bits[-1] for r in mine),
        )
    return result
