"""A sentence task where word order decides the label, generated in code (chapter 7).

Each sentence is filler words around one sentiment word (positive or negative) and
the label is its sentiment, except that "not" flips the word *right after it*. A third
of the sentences have no "not", a third have "not" just before the sentiment word
(negated) and a third have "not" somewhere else, where it flips nothing:

    the plot was good           positive   kind 0, plain
    the plot was not good       negative   kind 1, negated
    not the plot was good       positive   kind 2, "not" elsewhere

Kinds 1 and 2 contain the same words, so a model that only counts words (a bag of
words) cannot tell them apart, while a recurrent model that reads in order can.

    negation_sentences(batch_size=N, seed=s)    -> Sentences, time-major
    SentenceClassifier("lstm" | "gru")          -> reads the words in order
    BagOfWords()                                -> sees only how often each word occurs
    train_classifier("lstm" | "gru" | "bow", seed=s)  -> model, History
    accuracy_by_kind(model)                     -> accuracy on all sentences and per kind
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from lstm_ref.experiments.ahead import startable
from lstm_ref.experiments.pool import seeded_runs
from lstm_ref.nn import GRU, LSTM
from lstm_ref.train import History, accuracy, train

POSITIVE = ("good", "great", "fine", "lovely", "superb", "clever")
NEGATIVE = ("bad", "awful", "dull", "poor", "clumsy", "boring")
FILLER = ("the", "a", "film", "plot", "cast", "ending", "was", "is", "quite", "really",
          "and", "it", "so", "very", "story", "acting")  # fmt: skip
WORDS = ("<pad>", "not") + POSITIVE + NEGATIVE + FILLER
"""The vocabulary; a word's index is its token id. PAD_ID = 0, NOT_ID = 1."""
PAD_ID, NOT_ID = 0, 1
KINDS = ("plain", "negated", "not elsewhere")
EVAL_SEED = 10**9
"""Held-out sentences are drawn with this seed; training uses seeds below it."""


class Sentences(NamedTuple):
    """A batch of sentences, time-major and PAD-padded to max_len."""

    tokens: Tensor  # (S, N) int64 token ids, S = max_len
    lengths: Tensor  # (N,) int64: words per sentence
    label: Tensor  # (N,) int64: 1 positive, 0 negative
    kind: Tensor  # (N,) int64: index into KINDS


def negation_sentences(
    *, batch_size: int, seed: int, min_len: int = 4, max_len: int = 10
) -> Sentences:
    """Draw `batch_size` sentences of min_len … max_len words (min_len >= 3)."""
    if not 3 <= min_len <= max_len:
        raise ValueError(f"expected 3 <= min_len <= max_len, got {min_len} and {max_len}")
    g = torch.Generator().manual_seed(seed)
    S, N = max_len, batch_size
    first_filler = 2 + len(POSITIVE) + len(NEGATIVE)
    tokens = torch.randint(first_filler, len(WORDS), (S, N), generator=g)  # fillers
    lengths = torch.randint(min_len, max_len + 1, (N,), generator=g)
    kind = torch.randint(0, len(KINDS), (N,), generator=g)
    positive = torch.randint(0, 2, (N,), generator=g)
    word = torch.randint(0, len(POSITIVE), (N,), generator=g)
    column = torch.arange(N)
    where = 1 + (torch.rand(N, generator=g) * (lengths - 1)).long()  # p in 1 … len-1
    tokens[where, column] = torch.where(positive == 1, 2, 2 + len(POSITIVE)) + word
    negated = kind == 1
    tokens[where[negated] - 1, column[negated]] = NOT_ID  # "not" at p - 1
    elsewhere = (torch.rand(N, generator=g) * (lengths - 2)).long()  # r in 0 … len-3
    elsewhere = torch.where(elsewhere < where - 1, elsewhere, elsewhere + 2)  # skip p-1, p
    far = kind == 2
    tokens[elsewhere[far], column[far]] = NOT_ID
    tokens[torch.arange(S).unsqueeze(1) >= lengths] = PAD_ID
    label = positive ^ negated.long()  # "not" right before flips the sentiment
    return Sentences(tokens, lengths, label, kind)


def to_words(tokens: Tensor) -> str:
    """One sentence's token ids (S,) as text, padding dropped."""
    return " ".join(WORDS[int(t)] for t in tokens if int(t) != PAD_ID)


class SentenceClassifier(nn.Module):
    """Embedding, an LSTM or GRU from lstm_ref.nn, and a linear layer on the last state.

    The final hidden state is taken at each sentence's own last word (packed input).
    forward(tokens (S, N), lengths (N,)) -> logits (N, 2).
    """

    def __init__(self, cell: str = "lstm", embed_size: int = 16, hidden_size: int = 32):
        super().__init__()
        layers = {"lstm": LSTM, "gru": GRU}
        if cell not in layers:
            raise ValueError(f"expected cell 'lstm' or 'gru', got {cell!r}")
        self.embed = nn.Embedding(len(WORDS), embed_size, padding_idx=PAD_ID)
        self.rnn = layers[cell](embed_size, hidden_size)
        self.out = nn.Linear(hidden_size, 2)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(self.embed(tokens), lengths.cpu(), enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM (h, c), GRU h
        return self.out(h_n[-1])  # (N, H) -> (N, 2)


class BagOfWords(nn.Module):
    """Word counts through a one-hidden-layer MLP: order-blind by construction.

    forward(tokens (S, N), lengths (N,)) -> logits (N, 2); lengths is unused.
    """

    def __init__(self, hidden_size: int = 32):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(len(WORDS) - 1, hidden_size), nn.ReLU(), nn.Linear(hidden_size, 2)
        )

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        counts = F.one_hot(tokens, len(WORDS)).sum(dim=0)[:, 1:]  # (N, V - 1), PAD dropped
        return self.mlp(counts.float())


def sentence_batch(step: int, *, seed: int, batch_size: int = 64):
    """Training batch `step`: ((tokens, lengths), label)."""
    batch = negation_sentences(batch_size=batch_size, seed=seed * 100_000 + step)
    return (batch.tokens, batch.lengths), batch.label


def train_classifier(
    name: str, *, seed: int = 0, steps: int = 300, lr: float = 3e-3
) -> tuple[nn.Module, History]:
    """Build model `name` ("lstm", "gru" or "bow") from `seed` and train it.

    Cross-entropy on `steps` fresh batches of 64 sentences, Adam. The same seed gives
    every model the same batches. Returns the model, in eval mode, and its History.
    """
    if name not in ("lstm", "gru", "bow"):
        raise ValueError(f"expected name 'lstm', 'gru' or 'bow', got {name!r}")
    torch.manual_seed(seed)
    model = BagOfWords() if name == "bow" else SentenceClassifier(name)
    history = train(
        model, lambda step: sentence_batch(step, seed=seed), F.cross_entropy,
        steps=steps, lr=lr, seed=seed, progress=False,
    )  # fmt: skip
    return model.eval(), history


@torch.no_grad()
def accuracy_by_kind(model: nn.Module, *, examples: int = 3000) -> dict[str, float]:
    """Accuracy on held-out sentences: "all", each of KINDS, and "with not" (kinds 1, 2)."""
    batch = negation_sentences(batch_size=examples, seed=EVAL_SEED)
    logits = model.eval()(batch.tokens, batch.lengths)
    scores = {"all": accuracy(logits, batch.label)}
    for index, name in enumerate(KINDS):
        chosen = batch.kind == index
        scores[name] = accuracy(logits[chosen], batch.label[chosen])
    with_not = batch.kind > 0  # the same bags of words, labels flipped half the time
    scores["with not"] = accuracy(logits[with_not], batch.label[with_not])
    return scores


def classifier_run(name: str, seed: int) -> tuple[nn.Module, dict[str, float]]:
    """Train model `name` ("bow", "lstm" or "gru") from `seed`; return it and its
    :func:`accuracy_by_kind`."""
    model, _ = train_classifier(name, seed=seed)
    return model, accuracy_by_kind(model)


@startable
def classifier_runs(
    names: tuple[str, ...] = ("bow", "lstm", "gru"),
    seeds: tuple[int, ...] = (0, 1),
    *,
    workers: int | None = None,
) -> dict[tuple[str, int], tuple[nn.Module, dict[str, float]]]:
    """:func:`classifier_run` for every name and seed, spread over `workers` processes
    (:func:`lstm_ref.experiments.pool.seeded_runs`; the time taken changes, not a result)."""
    return seeded_runs(classifier_run, names, seeds, workers=workers)
