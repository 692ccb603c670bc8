"""Character n-gram language models with interpolated Kneser–Ney smoothing.

An n-gram model predicts a character from the n - 1 before it, p(w | h) with |h| = n - 1,
from counts in a training text. Raw relative frequencies give probability 0 to anything
unseen, so the counts are smoothed. Interpolated Kneser–Ney (Kneser & Ney 1995, in the
interpolated form Chen & Goodman 1999 found best among the methods they compared)
subtracts a discount D_k from every positive count and gives the mass it frees to the
next shorter context:

    p_k(w | h) = max(c_k(h w) - D_k, 0) / c_k(h •)
                 + D_k · N_k(h •) / c_k(h •) · p_{k-1}(w | h')        h' = h without its
    p_0(w) = 1 / V                                                     first character

where c_k(h •) = Σ_w c_k(h w) and N_k(h •) is the number of distinct w with c_k(h w) > 0;
a context never seen (c_k(h •) = 0) passes p_{k-1} on unchanged. At the top order, c_n
are raw counts. Below it, c_k(g) is the *continuation* count: the number of distinct
characters seen before the k-gram g. A lower order is only consulted when the longer
context is rare, so it should ask "in how many contexts does g occur", not "how often".

The discount of each order and kind of count is Ney's estimate D = n_1 / (n_1 + 2 n_2),
from the numbers n_1, n_2 of k-grams counted once and twice (with n_1 taken as at least
1, so D > 0 and every one of the V characters keeps some probability). One discount per
order rather than the three of Chen & Goodman's "modified" Kneser–Ney: hence "lite".

Order 1 is the unigram model: p(w) = max(c(w) - D, 0) / N + (mass freed) / V.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import torch
from torch import Tensor


class _Table:
    """Counts c_k(h w) grouped by context h, with c_k(h •), N_k(h •) and D_k."""

    def __init__(self, counts: Counter):
        self.next: dict[str, dict[str, int]] = defaultdict(dict)
        for gram, count in counts.items():
            self.next[gram[:-1]][gram[-1]] = count
        self.total = {h: sum(ws.values()) for h, ws in self.next.items()}  # c_k(h •)
        n1 = max(sum(1 for c in counts.values() if c == 1), 1)
        n2 = sum(1 for c in counts.values() if c == 2)
        self.discount = n1 / (n1 + 2 * n2)  # D_k = n_1 / (n_1 + 2 n_2)

    def interpolate(self, h: str, w: str, lower: float) -> float:
        """p_k(w | h) given p_{k-1}(w | h') = `lower`."""
        total = self.total.get(h, 0)
        if total == 0:
            return lower
        ws, D = self.next[h], self.discount
        return (max(ws.get(w, 0) - D, 0) + D * len(ws) * lower) / total


class NGramModel:
    """A character n-gram model of `order` n (1 = unigram), interpolated Kneser–Ney.

    ``fit(text)`` counts every k-gram of the training text for k <= n; ``log_probs`` and
    ``bits_per_char`` then score a text character by character, each from the up to n - 1
    characters before it in that text. Evaluating at a lower order reuses the counts.

    Example:
        >>> model = NGramModel(2).fit("abababab")
        >>> p = model.log_probs("ab").exp()  # p(a), then p(b | a)
        >>> [round(x, 3) for x in p.tolist()]
        [0.5, 0.875]
    """

    def __init__(self, order: int):
        if order < 1:
            raise ValueError(f"expected order >= 1, got {order}")
        self.order = order

    def fit(self, text: str, alphabet: str | None = None) -> NGramModel:
        """Count the k-grams of `text`, k = 1 … order; returns self.

        Args:
            text: the training text, at least `order` characters.
            alphabet: the characters a text may contain (V = how many distinct); None
                means those of `text`. Characters outside it cannot be scored.
        """
        if len(text) < self.order:
            raise ValueError(f"expected at least {self.order} characters, got {len(text)}")
        self.alphabet = frozenset(text if alphabet is None else alphabet) | set(text)
        n = self.order
        raw = {  # c(g) for every k-gram g of the text
            k: Counter(text[i : i + k] for i in range(len(text) - k + 1)) for k in range(1, n + 1)
        }
        self.raw = {k: _Table(raw[k]) for k in raw}  # c_k(h w), the top order's counts
        self.continuation = {}  # c_k(g) = |{x : c(x g) > 0}|, the lower orders' counts
        for k in range(1, n):
            self.continuation[k] = _Table(Counter(gram[1:] for gram in raw[k + 1]))
        return self

    def log_probs(self, text: str, order: int | None = None) -> Tensor:
        """ln p(text[t] | up to order - 1 characters before it), for every t.

        Args:
            text: the text to score; its first characters have shorter contexts.
            order: evaluate as a model of this order <= self.order; None: self.order.

        Returns:
            (len(text),) float64 tensor of natural logarithms.

        Raises:
            KeyError: for a character outside the alphabet the model was fitted with.
        """
        n = self.order if order is None else order
        if not 1 <= n <= self.order:
            raise ValueError(f"expected 1 <= order <= {self.order}, got {order}")
        uniform = 1 / len(self.alphabet)
        tables = [self.continuation[k] for k in range(1, n)] + [self.raw[n]]  # k = 1 … n
        result = []  # a list: a tensor's item assignment costs a microsecond a character
        for t, w in enumerate(text):
            if w not in self.alphabet:
                raise KeyError(f"character {w!r} is not in the model's alphabet")
            h = text[max(0, t - n + 1) : t]  # up to n - 1 characters of context
            p = uniform  # p_0(w) = 1 / V
            for k, table in enumerate(tables, start=1):
                if k - 1 > len(h):
                    break  # near the start: no context this long
                p = table.interpolate(h[len(h) - (k - 1) :], w, p)
            result.append(math.log(p))
        return torch.tensor(result, dtype=torch.float64)

    def size(self, order: int | None = None) -> int:
        """How many counts a model of `order` (None: self.order) consults: the raw
        counts of its top order and the continuation counts below it."""
        n = self.order if order is None else order
        tables = [self.raw[n]] + [self.continuation[k] for k in range(1, n)]
        return sum(len(after) for table in tables for after in table.next.values())

    def bits_per_char(self, text: str, order: int | None = None) -> float:
        """Mean -log2 p over the characters of `text`."""
        return -self.log_probs(text, order).mean().item() / math.log(2)
