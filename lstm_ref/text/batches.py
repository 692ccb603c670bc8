"""Batches for truncated backpropagation through time, and random windows to compare.

A character stream of length T is cut into N contiguous stretches laid side by side as
the columns of a (T // N, N) matrix (``batchify``). Reading that matrix downwards in
windows of ``bptt`` rows (``tbptt_batches``) gives batches that continue each other:
column n of window k + 1 starts where column n of window k ended, so the hidden state
left by one batch is the right state to start the next one from.

    stream   a b c d e f g h i j k l m n o p q r s t u v w x y z
    batchify(stream, 2)  ->  a n        tbptt_batches(data, 3):
                             b o           inputs  rows 0..2, targets rows 1..3
                             c p           inputs  rows 3..5, targets rows 4..6
                             ...           ...

``random_windows`` is the alternative without continuity: N windows drawn at random
positions, each to be read from a zero state.

Symbols: T stream length, N batch size (parallel streams), L window length (<= bptt).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """Lay a stream of symbol ids out as `batch_size` parallel contiguous streams.

    Column n holds ``ids[n * S : (n + 1) * S]`` with ``S = T // batch_size``; the last
    ``T - S * batch_size`` symbols are dropped. Row t + 1 continues row t in every column.

    Args:
        ids: (T,) integer tensor, the stream.
        batch_size: N, the number of parallel streams.

    Returns:
        (T // N, N) tensor of the same dtype, a contiguous copy.

    Raises:
        ValueError: if `ids` is not 1-D, if ``batch_size < 1`` or if ``T < batch_size``.

    Example:
        >>> batchify(torch.arange(10), 3)
        tensor([[0, 3, 6],
                [1, 4, 7],
                [2, 5, 8]])
    """
    if ids.dim() != 1:
        raise ValueError(f"expected ids of shape (T,), got {tuple(ids.shape)}")
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, got {batch_size}")
    T = ids.shape[0]
    if T < batch_size:
        raise ValueError(f"expected at least batch_size = {batch_size} symbols, got {T}")
    S = T // batch_size  # symbols per stream
    return ids[: S * batch_size].view(batch_size, S).t().contiguous()  # (S, N)


def tbptt_batches(data: Tensor, bptt: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Windows of at most `bptt` rows of batchified data, each with its next symbols.

    Window k has ``inputs = data[i : i + L]`` and ``targets = data[i + 1 : i + 1 + L]``
    with ``i = k * bptt`` and ``L = min(bptt, S - 1 - i)``: the target of each symbol is
    the one after it in the same column. Consecutive windows continue each other, and
    together they predict every row but the first exactly once.

    Args:
        data: (S, N) from :func:`batchify`.
        bptt: the truncation length, the most rows per window.

    Yields:
        (inputs, targets), each (L, N), views into `data`.

    Raises:
        ValueError: if `data` is not 2-D or ``bptt < 1``.

    Example:
        >>> data = batchify(torch.arange(10), 2)  # columns 0..4 and 5..9
        >>> [tuple(x[:, 0].tolist()) for x, _ in tbptt_batches(data, 3)]
        [(0, 1, 2), (3,)]
        >>> [tuple(y[:, 1].tolist()) for _, y in tbptt_batches(data, 3)]
        [(6, 7, 8), (9,)]
    """
    if data.dim() != 2:
        raise ValueError(f"expected data of shape (S, N), got {tuple(data.shape)}")
    if bptt < 1:
        raise ValueError(f"expected bptt >= 1, got {bptt}")
    S = data.shape[0]
    for i in range(0, S - 1, bptt):
        L = min(bptt, S - 1 - i)
        yield data[i : i + L], data[i + 1 : i + 1 + L]


def random_windows(
    ids: Tensor, batch_size: int, length: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """`batch_size` windows of `length` symbols from random places in the stream.

    Window n starts at a position s_n drawn uniformly from 0 … T - length - 1 and has
    ``inputs[:, n] = ids[s_n : s_n + length]``, ``targets[:, n] = ids[s_n + 1 :
    s_n + 1 + length]``. Nothing links one batch to the next, so each window is read
    from a zero state.

    Returns:
        (inputs, targets), each (length, batch_size).

    Raises:
        ValueError: if `ids` is not 1-D or is not longer than `length`.
    """
    if ids.dim() != 1:
        raise ValueError(f"expected ids of shape (T,), got {tuple(ids.shape)}")
    T = ids.shape[0]
    if not 1 <= length < T:
        raise ValueError(f"expected 1 <= length < T = {T}, got length {length}")
    starts = torch.randint(0, T - length, (batch_size,), generator=generator)  # (N,)
    offsets = starts[None, :] + torch.arange(length)[:, None]  # (L, N)
    return ids[offsets], ids[offsets + 1]
