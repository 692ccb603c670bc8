"""Chapter 5's text and its n-gram baselines: the standard library's source, split.

The corpus is read at run time (:func:`lstm_ref.text.stdlib_corpus`) and split into
contiguous training, validation and test text; the n-grams (:class:`NGramModel`,
interpolated Kneser–Ney) are fitted on the training text and score the held-out text in
bits per character (:func:`bits`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from torch import Tensor

from lstm_ref.text import CharVocab, NGramModel, split_text, stdlib_corpus, stdlib_files

CORPUS_CHARS = 1_000_000
"""Characters read from the standard library (its first public modules, by name)."""
VALID_FRACTION = TEST_FRACTION = 0.05
MAX_ORDER = 8
"""Highest n-gram order fitted; the chapter picks the order on validation text."""


@dataclass(frozen=True)
class Corpus:
    """The text, its contiguous split, the vocabulary and the parts as id streams."""

    text: str
    train: str
    valid: str
    test: str
    vocab: CharVocab
    train_ids: Tensor  # (T_train,) int64
    valid_ids: Tensor
    test_ids: Tensor


@cache
def corpus() -> Corpus:
    """The chapter's corpus: CORPUS_CHARS characters, 90 / 5 / 5 split in that order."""
    text = stdlib_corpus(CORPUS_CHARS)
    train, valid, test = split_text(text, VALID_FRACTION, TEST_FRACTION)
    vocab = CharVocab(text)  # the alphabet of the whole text; no counts leak from it
    return Corpus(
        text, train, valid, test, vocab,
        vocab.encode(train), vocab.encode(valid), vocab.encode(test),
    )  # fmt: skip


def files_of(part: str) -> list[str]:
    """The names of the standard-library files that the 'train', 'valid' or 'test' text,
    or the whole 'text', comes from, in order (a file cut by the split counts for both)."""
    c = corpus()
    start = {"text": 0, "train": 0, "valid": len(c.train), "test": len(c.train) + len(c.valid)}
    start = start[part]
    end = start + len(getattr(c, part))
    names, offset = [], 0
    for path in stdlib_files():
        size = len(path.read_text(encoding="utf-8", errors="replace"))
        if offset < end and offset + size > start:
            names.append(path.name)
        offset += size
        if offset >= end:
            return names
    return names


def replaced_chars() -> int:
    """How many characters of the corpus the loader replaced by "?" (not ASCII)."""
    raw, total = [], 0
    for path in stdlib_files():
        raw.append(path.read_text(encoding="utf-8", errors="replace"))
        total += len(raw[-1])
        if total >= CORPUS_CHARS:
            break
    text = "".join(raw)[:CORPUS_CHARS]
    return sum(a != b for a, b in zip(text, corpus().text))


@cache
def ngram_model() -> NGramModel:
    """An n-gram of order MAX_ORDER (lower orders come with it) on the training text."""
    c = corpus()
    return NGramModel(MAX_ORDER).fit(c.train, alphabet=c.text)


def ngram_log_probs(order: int, part: str = "valid") -> Tensor:
    """ln p of characters 1 … T - 1 of the 'valid' or 'test' text, (T - 1,) float64.

    Character 0 is left out, as for the LSTM, which has nothing to read before it.
    """
    return _ngram_log_probs(order, part)


@cache  # behind a wrapper, so that f(x) and f(x, default) share one entry
def _ngram_log_probs(order: int, part: str) -> Tensor:
    return ngram_model().log_probs(getattr(corpus(), part), order)[1:]


def bits(log_probs: Tensor, mask: Tensor | None = None) -> float:
    """Bits per char, -mean log2 p, over all positions or those where `mask` is True."""
    chosen = log_probs if mask is None else log_probs[mask]
    return -chosen.mean().item() / math.log(2)
