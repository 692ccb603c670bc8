"""Beam search with length normalisation, for any decoder that runs one step at a time.

Greedy decoding keeps the single best prefix at every step. Beam search keeps the K best
(Sutskever et al. 2014 decoded with a left-to-right beam): at step t each of the K
prefixes is extended by every token, and the K best of the K·V candidates survive. A
hypothesis Y = (y_1, …, y_m) is ranked by

    s(Y) = log p(Y | X) / lp(Y),    log p(Y | X) = Σ_t log p(y_t | y_<t, X)
    lp(Y) = ((5 + |Y|) / (5 + 1))^α                 (Wu et al. 2016, GNMT, sec. 7)

With α = 0, lp = 1 and s is the model's log-probability: every token adds a term ≤ 0,
so a shorter hypothesis is favoured for being short. α > 0 divides by a penalty that
grows with the length |Y| (tokens up to and including EOS).

Here a hypothesis that has emitted EOS stays in the beam, extended only by PAD at no cost,
and competes with the unfinished ones on s. Decoding stops when all K hypotheses of every
sequence have finished, or after ``max_len`` steps; a hypothesis still unfinished then
ends there (as greedy decoding does). So with K = 1 this is greedy decoding, token for
token, whatever α (all candidates of a step have the same length); with K at least the
number of candidates nothing is pruned and it is an exhaustive search.

A wider beam is *not* guaranteed to find a hypothesis of higher s: the K = 1 path can be
pruned from a wider beam by prefixes that later go wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

StepFn = Callable[..., tuple[Tensor, tuple[Tensor, ...]]]
"""step(tokens (B,), state, *context) -> (log-probabilities (B, V), new state)."""


class BeamOutput(NamedTuple):
    """The best hypothesis per sequence under s(Y)."""

    tokens: Tensor  # (T, N) int64, PAD after each EOS; T = the longest |Y|
    log_prob: Tensor  # (N,) log p(Y | X), the model score before length normalisation
    length: Tensor  # (N,) int64, |Y|: tokens up to and including EOS


def length_penalty(length: Tensor, alpha: float) -> Tensor:
    """GNMT's lp(Y) = ((5 + |Y|) / (5 + 1))^α (Wu et al. 2016, sec. 7); 1 at |Y| = 1 or α = 0."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_search(
    step: StepFn,
    state: tuple[Tensor, ...],
    context: tuple[Tensor, ...] = (),
    *,
    beam_width: int,
    bos_idx: int,
    eos_idx: int,
    pad_idx: int,
    max_len: int,
    alpha: float = 0.0,
) -> BeamOutput:
    """Find, per sequence, the hypothesis of highest s(Y) that a beam of K finds.

    Args:
        step: one decoder step; called on the K hypotheses of every sequence at once.
        state: tensors with the batch on dim 1, e.g. an LSTM's (h, c), each (layers, N, H);
            they are repeated K times and reordered as the beam moves.
        context: tensors with the batch on dim 1 that do not change as the beam moves
            (encoder outputs (S, N, H), the source mask (S, N)); repeated K times only.
        beam_width: K ≥ 1.  max_len: the most tokens a hypothesis may have.
        alpha: α of the length penalty; 0 ranks by log p(Y | X) alone.

    Returns:
        BeamOutput: tokens (T, N), log p(Y | X) (N,) and |Y| (N,) of each sequence's best
        hypothesis; T ≤ max_len is the longest of the N.

    Raises:
        ValueError: beam_width or max_len below 1, alpha negative, or no state.
    """
    if beam_width < 1 or max_len < 1 or alpha < 0:
        raise ValueError(
            f"expected beam_width ≥ 1, max_len ≥ 1, alpha ≥ 0, got {beam_width}, {max_len}, {alpha}"
        )
    if not state:
        raise ValueError("expected a state of at least one tensor, with the batch on dim 1")
    N, K = state[0].shape[1], beam_width
    device = state[0].device
    state = tuple(s.repeat_interleave(K, dim=1) for s in state)  # (…, N·K, …)
    context = tuple(s.repeat_interleave(K, dim=1) for s in context)
    token = torch.full((N * K,), bos_idx, dtype=torch.long, device=device)
    score = torch.zeros(N, K, device=device)  # log p(y_1 … y_t | X); takes log_probs' dtype
    score[:, 1:] = float("-inf")  # the K beams start as copies of BOS: keep one
    length = torch.zeros(N, K, dtype=torch.long, device=device)
    done = torch.zeros(N, K, dtype=torch.bool, device=device)
    tokens = torch.empty(N, K, 0, dtype=torch.long, device=device)  # (N, K, t)
    first = torch.arange(N, device=device).unsqueeze(1) * K  # (N, 1): beam 0 of each sequence
    for t in range(1, max_len + 1):
        log_probs, state = step(token, state, *context)  # (N·K, V)
        V = log_probs.shape[-1]
        log_probs = log_probs.reshape(N, K, V)
        frozen = torch.full_like(log_probs, float("-inf"))
        frozen[..., pad_idx] = 0.0  # a finished hypothesis extends by PAD, at no cost
        log_probs = torch.where(done.unsqueeze(-1), frozen, log_probs)
        total = score.unsqueeze(-1) + log_probs  # (N, K, V): log p(Y) + log p(y_t | ·)
        new_length = torch.where(done, length, t).unsqueeze(-1).expand(N, K, V)
        ranked = total / length_penalty(new_length, alpha)  # s(Y) = log p / lp
        best = ranked.reshape(N, K * V).topk(K, dim=1).indices  # (N, K) into K·V
        parent, token = best // V, best % V  # which hypothesis it extends, by which token
        score = total.reshape(N, K * V).gather(1, best)
        length = new_length.reshape(N, K * V).gather(1, best)
        done = done.gather(1, parent) | (token == eos_idx) | score.isneginf()
        history = tokens.gather(1, parent.unsqueeze(-1).expand(N, K, t - 1))
        tokens = torch.cat([history, token.unsqueeze(-1)], dim=2)  # (N, K, t)
        order = (first + parent).view(-1)  # (N·K,) rows of the surviving parents
        state = tuple(s.index_select(1, order) for s in state)
        token = token.view(-1)
        if bool(done.all()):
            break
    pick = (score / length_penalty(length, alpha)).argmax(dim=1)  # (N,)
    rows = torch.arange(N, device=device)
    best_length = length[rows, pick]
    return BeamOutput(
        tokens[rows, pick, : int(best_length.max())].T, score[rows, pick], best_length
    )
