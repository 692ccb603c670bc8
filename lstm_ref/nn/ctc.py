"""Connectionist temporal classification: the collapse map and two decoders.

A network reads T frames and emits, at every frame t, a distribution y^t over the K
labels and one extra class, the blank (id `blank`, 0 as in ``torch.nn.CTCLoss``). A
path π is one class per frame; the collapse map B turns it into a label sequence by
merging repeats, then dropping blanks (Graves et al., 2006):

    B(- H H - - L -) = B(H - - L L L L) = H L,      B(H - H) = H H,   B(H H) = H

Training maximises p(l | x) = Σ_{π : B(π) = l} Π_t y^t_{π_t}, which
``torch.nn.CTCLoss`` computes with the forward–backward recursion. This module turns
the outputs back into labels:

    collapse(path)                   B(π)
    alignments(labels, T, classes)   every π of length T with B(π) = labels (brute force)
    best_path(log_probs, lengths)    B(argmax_k y^t_k), frame by frame (greedy)
    prefix_beam_search(log_probs)    the most probable label sequences, kept W at a time
                                     (Hannun et al., 2014, algorithm 1)

Symbols: T frames, N batch, C = labels + 1 classes, W beam width.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from functools import partial

from torch import Tensor

Labels = tuple[int, ...]


def collapse(path: Sequence[int], blank: int = 0) -> Labels:
    """B(π): merge runs of the same class, then drop the blanks.

    A blank between two equal labels keeps them apart: B(H - H) = H H, B(H H) = H.

    Example:
        >>> collapse([0, 1, 1, 0, 0, 2, 0]), collapse([1, 0, 1]), collapse([1, 1])
        ((1, 2), (1, 1), (1,))
    """
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]  # merge repeats
    return tuple(int(k) for k in merged if k != blank)  # then drop blanks


def alignments(labels: Sequence[int], T: int, num_classes: int, blank: int = 0) -> list[Labels]:
    """B⁻¹(l): every path of T frames over num_classes classes that collapses to `labels`.

    Brute force over all C^T paths, so only for tiny T; raises ValueError past 10^6 paths.

    Example:
        >>> alignments([1, 1], T=3, num_classes=2)
        [(1, 0, 1)]
    """
    if num_classes**T > 10**6:
        raise ValueError(f"expected at most 10^6 paths, got {num_classes}^{T}")
    target = tuple(labels)
    paths = itertools.product(range(num_classes), repeat=T)
    return [path for path in paths if collapse(path, blank) == target]


def best_path(log_probs: Tensor, input_lengths: Tensor, blank: int = 0) -> list[Labels]:
    """Best-path (greedy) decoding: B of the most probable class at every frame.

    π*_t = argmax_k y^t_k, output B(π*) (Graves et al., 2006). π* is the single
    most probable path, but B(π*) need not be the most probable label sequence, since
    p(l | x) sums over every path of l.

    Shapes:
        log_probs: (T, N, C), ln y^t_k.  input_lengths: (N,).  Returns N label tuples.
    """
    if log_probs.dim() != 3:
        raise ValueError(f"expected log_probs of shape (T, N, C), got {tuple(log_probs.shape)}")
    path = log_probs.argmax(dim=-1)  # (T, N): π*_t
    return [collapse(path[: int(T_n), n].tolist(), blank) for n, T_n in enumerate(input_lengths)]


def _log_add(a: float, b: float) -> float:
    """ln(e^a + e^b), with -inf for a probability of 0."""
    if a == -math.inf:
        return b
    high, low = max(a, b), min(a, b)
    return high + math.log1p(math.exp(low - high))


def _add(table: dict[Labels, list[float]], prefix: Labels, ends: int, log_p: float) -> None:
    """table[prefix][ends] = ln(e^table[prefix][ends] + e^log_p): add a probability."""
    table[prefix][ends] = _log_add(table[prefix][ends], log_p)


def prefix_beam_search(
    log_probs: Tensor, beam_width: int = 8, blank: int = 0
) -> list[tuple[Labels, float]]:
    """CTC prefix beam search over one sequence (Hannun et al., 2014, algorithm 1).

    Every prefix ℓ in the beam carries two probabilities of the frames read so far:
    p_b(ℓ), of the paths that collapse to ℓ and end in a blank, and p_nb(ℓ), of those
    that end in ℓ's last label. Reading frame t, with y = y^t:

        blank:                 p_b(ℓ)   += y_blank · (p_b(ℓ) + p_nb(ℓ))
        c = last label of ℓ:   p_nb(ℓ)  += y_c · p_nb(ℓ)         (a repeat merges)
                               p_nb(ℓc) += y_c · p_b(ℓ)          (a blank came between)
        any other label c:     p_nb(ℓc) += y_c · (p_b(ℓ) + p_nb(ℓ))

    then keeps the `beam_width` prefixes with the largest p_b + p_nb. With a beam
    that never drops a prefix, p_b(ℓ) + p_nb(ℓ) at the end is p(ℓ | x) exactly.

    Args:
        log_probs: (T, C), ln y^t_k of one sequence (cut to its length).
        beam_width: W, prefixes kept after every frame.
        blank: id of the blank class.

    Returns:
        Up to W pairs (label tuple, ln(p_b + p_nb)), most probable first, none of
        probability 0; the first label tuple is the decoding.
    """
    if log_probs.dim() != 2:
        raise ValueError(f"expected log_probs of shape (T, C), got {tuple(log_probs.shape)}")
    if beam_width < 1:
        raise ValueError(f"expected beam_width >= 1, got {beam_width}")
    NEVER = -math.inf  # ln 0
    B, NB = 0, 1  # where ln p_b and ln p_nb sit in a prefix's pair
    beam: dict[Labels, tuple[float, float]] = {(): (0.0, NEVER)}  # ℓ: (ln p_b, ln p_nb)
    for y in log_probs.double().tolist():  # one frame: ln y_k for every class k
        grown: dict[Labels, list[float]] = defaultdict(lambda: [NEVER, NEVER])
        add = partial(_add, grown)  # add(ℓ, B or NB, ln q): p_b(ℓ) or p_nb(ℓ) += q
        for prefix, (p_b, p_nb) in beam.items():
            p_total = _log_add(p_b, p_nb)  # ln(p_b(ℓ) + p_nb(ℓ))
            for c, y_c in enumerate(y):
                if c == blank:
                    add(prefix, B, y_c + p_total)  # p_b(ℓ) += y_blank (p_b(ℓ) + p_nb(ℓ))
                elif prefix and c == prefix[-1]:
                    add(prefix, NB, y_c + p_nb)  # p_nb(ℓ) += y_c p_nb(ℓ)
                    add(prefix + (c,), NB, y_c + p_b)  # p_nb(ℓc) += y_c p_b(ℓ)
                else:
                    add(prefix + (c,), NB, y_c + p_total)  # p_nb(ℓc) += y_c (p_b + p_nb)
        ranked = sorted(grown.items(), key=lambda item: -_log_add(*item[1]))
        beam = {prefix: (p_b, p_nb) for prefix, (p_b, p_nb) in ranked[:beam_width]}
    scored = [(prefix, _log_add(p_b, p_nb)) for prefix, (p_b, p_nb) in beam.items()]
    return [(prefix, score) for prefix, score in scored if score > NEVER]  # drop p = 0
