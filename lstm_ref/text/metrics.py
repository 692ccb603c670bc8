"""How well a model predicts the next symbol: cross-entropy, perplexity, bits per char.

For a model that gives probability p(x_{t+1} | x_1 … x_t) to each next symbol of a text
of T predictions,

    cross-entropy   H = -(1/T) Σ_t ln p(x_{t+1} | x_≤t)      nats per symbol
    perplexity      exp(H)                    the effective number of choices per symbol
    bits per char   H / ln 2                  the same in bits (log base 2)

A model that spreads its probability evenly over a vocabulary of V symbols has
perplexity V and log2(V) bits per char; a model that is always sure and right has 1
and 0.

Shapes: logits (L, N, V), targets (L, N); any leading shape works if they agree.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy in nats per symbol, -mean ln softmax(logits)[target].

    Args:
        logits: (L, N, V) unnormalised scores over the vocabulary, last axis.
        targets: (L, N) integer ids of the symbols that came next.

    Returns:
        A scalar tensor that backpropagates into `logits`.

    Raises:
        ValueError: if ``logits.shape[:-1] != targets.shape``.

    Example:
        >>> import torch
        >>> logits = torch.zeros(2, 3, 4)  # uniform over V = 4
        >>> round(cross_entropy(logits, torch.zeros(2, 3, dtype=torch.long)).item(), 4)
        1.3863
    """
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"expected targets of shape {tuple(logits.shape[:-1])} to match logits "
            f"{tuple(logits.shape)}, got {tuple(targets.shape)}"
        )
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def perplexity(logits: Tensor, targets: Tensor) -> float:
    """exp(mean cross-entropy): 1 for a certain, correct model; V for a uniform one."""
    return math.exp(cross_entropy(logits, targets).item())


def bits_per_char(logits: Tensor, targets: Tensor) -> float:
    """Mean cross-entropy in bits per symbol, H / ln 2 = log2(perplexity)."""
    return cross_entropy(logits, targets).item() / math.log(2)
