"""What chapter 5's MAIN model has learnt: its samples, and units that track structure.

Word classes split the predicted characters into those inside a name, first of a name
and outside any; samples are drawn from the model with each of :data:`SAMPLERS`; the
unit search correlates every cell unit with the labels of :func:`python_structure`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from lstm_ref.text import generate, lstm_states, python_structure

from .corpus import corpus
from .runs import MAIN, language_model


def is_word_char(ch: str) -> bool:
    """Letters, digits and "_": the characters of a Python name."""
    return ch.isalnum() or ch == "_"


def word_classes(text: str) -> dict[str, Tensor]:
    """Masks over the predicted characters text[1:], each (len(text) - 1,) bool.

    "inside a word": a name character after a name character; "first of a word": a name
    character after anything else; "not in a word": spaces, newlines, punctuation.
    """
    inside, first = [], []
    for previous, ch in zip(text, text[1:]):
        inside.append(is_word_char(ch) and is_word_char(previous))
        first.append(is_word_char(ch) and not is_word_char(previous))
    inside, first = torch.tensor(inside), torch.tensor(first)
    return {"inside a word": inside, "first of a word": first, "not in a word": ~(inside | first)}


SAMPLERS = {
    "greedy": (0.0, None),
    "τ = 0.5": (0.5, None),
    "τ = 1": (1.0, None),
    "τ = 1.5": (1.5, None),
    "τ = 1, top-k = 5": (1.0, 5),
}
"""name -> (temperature, top_k) of each way of drawing from the MAIN model."""
PROMPT = "def "
SAMPLE_LENGTH = 400
SAMPLES_EACH = 8


def samples(seed: int = 0) -> dict[str, list[str]]:
    """SAMPLES_EACH continuations of PROMPT, SAMPLE_LENGTH characters each, from the
    MAIN model for every SAMPLERS entry (all alike for greedy).

    Each sampler draws from its own torch.Generator seeded with `seed` (cached).
    """
    return _samples(seed)


@cache
def _samples(seed: int) -> dict[str, list[str]]:
    c, model = corpus(), language_model(MAIN, seed).model
    return {
        name: generate(model, c.vocab, PROMPT, SAMPLE_LENGTH, temperature, top_k,
                       torch.Generator().manual_seed(seed), num_samples=SAMPLES_EACH)
        for name, (temperature, top_k) in SAMPLERS.items()
    }  # fmt: skip


def tail_period(text: str, tail: int = 100) -> int | None:
    """The smallest p such that the last `tail` characters repeat with period p
    (text[t] == text[t - p] throughout them), or None if there is none below `tail`."""
    for p in range(1, tail):
        if all(text[t] == text[t - p] for t in range(len(text) - tail, len(text))):
            return p
    return None


@cache
def training_words() -> frozenset[str]:
    """Every name (run of name characters) in the training text."""
    return frozenset(re.findall(r"\w+", corpus().train, flags=re.ASCII))


def known_word_share(texts: list[str]) -> float:
    """The share of the names in `texts` (the last of each left out: it may be cut) that
    occur in the training text. 1.0 when there are no names."""
    words = [w for text in texts for w in re.findall(r"\w+", text, flags=re.ASCII)[:-1]]
    return sum(w in training_words() for w in words) / max(len(words), 1)


PROBE_CHARS = 10_000
"""Characters of test text read to look for units that track structure."""


def probe_text() -> str:
    """PROBE_CHARS of test text from its first line that starts a def or a class, so
    that the scanner of :func:`python_structure` starts outside any string."""
    test = corpus().test
    start = re.search(r"^(def|class) ", test, flags=re.MULTILINE)
    if start is None:
        raise ValueError("the test text has no line that starts with 'def ' or 'class '")
    return test[start.start() : start.start() + PROBE_CHARS]


def correlations(states: Tensor, label: Tensor) -> Tensor:
    """Pearson r between each unit's values, states (T, H), and a label (T,); (H,).

    A unit or label that never changes gets r = 0.
    """
    x = states - states.mean(0)  # (T, H)
    y = label - label.mean()  # (T,)
    scale = x.norm(dim=0) * y.norm()  # (H,)
    return torch.where(scale > 0, (x * y[:, None]).sum(0) / scale.clamp_min(1e-12), 0.0)


@dataclass
class UnitSearch:
    """The MAIN model's cell states on the probe text, against the structure labels."""

    text: str
    labels: dict[str, Tensor]  # name -> (T,), from python_structure
    cells: Tensor  # (T, H) c_t after each character
    r: dict[str, Tensor]  # name -> (H,) Pearson r of every unit with the label

    def best(self, name: str) -> tuple[int, float]:
        """The unit whose |r| with label `name` is largest, and its r."""
        unit = self.r[name].abs().argmax().item()
        return unit, self.r[name][unit].item()


def unit_search(seed: int = 0) -> UnitSearch:
    """Read the probe text from zeros with the MAIN model; correlate every cell unit
    with every label of :func:`python_structure` (cached)."""
    return _unit_search(seed)


@cache
def _unit_search(seed: int) -> UnitSearch:
    text, model = probe_text(), language_model(MAIN, seed).model
    _, cells = lstm_states(model, corpus().vocab.encode(text))  # (T, H)
    labels = python_structure(text)
    return UnitSearch(text, labels, cells, {n: correlations(cells, y) for n, y in labels.items()})
