"""Temporal order: classify the order of two relevant symbols among distractors.

Hochreiter & Schmidhuber (1997), experiment 6a. A sequence over the alphabet
{a, b, c, d, X, Y, B, E} starts with E, ends with B, and is filled with random
distractors a–d except at two steps t_1 < t_2, which hold X or Y:

    t_1 ~ U{⌊L/10⌋, …, ⌊2L/10⌋},   t_2 ~ U{⌊L/2⌋, …, ⌊6L/10⌋}
    class = 2·[s_{t_1} = Y] + [s_{t_2} = Y]      XX → 0, XY → 1, YX → 2, YY → 3

For L = 100 these are the paper's windows [10, 20] and [50, 60]; the paper drew L
from 100–110 per sequence, here one L serves the whole batch.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lstm_ref.tasks._common import Device, cpu_generator, require_at_least

SYMBOLS = ("a", "b", "c", "d", "X", "Y", "B", "E")
"""The alphabet; a symbol's index is its one-hot channel."""
X_ID, Y_ID, B_ID, E_ID = 4, 5, 6, 7
CLASSES = ("XX", "XY", "YX", "YY")
"""Class names, indexed by the target."""


class OrderBatch(NamedTuple):
    """One batch of the temporal order task; unpacks as ``x, y``."""

    inputs: Tensor  # (L, N, 8): one-hot symbols, channels in SYMBOLS order
    target: Tensor  # (N,) int64: index into CLASSES


def temporal_order(
    seq_len: int,
    *,
    batch_size: int,
    seed: int,
    device: Device = None,
    dtype: torch.dtype = torch.float32,
) -> OrderBatch:
    """Draw a batch of the temporal order task.

    Args:
        seq_len: L (>= 10), 100 in the paper.
        batch_size: N, the number of independent sequences.
        seed: the same seed gives the same batch, on any device.
        device: where the tensors go (None: the CPU).
        dtype: floating dtype of the inputs.

    Shapes:
        inputs: (L, N, 8), time-major.  target: (N,) int64.
    """
    require_at_least("seq_len", seq_len, 10)
    require_at_least("batch_size", batch_size, 1)
    generator = cpu_generator(seed)
    L, N = seq_len, batch_size
    symbols = torch.randint(0, 4, (L, N), generator=generator)  # distractors a–d
    symbols[0], symbols[-1] = E_ID, B_ID
    first = torch.randint(L // 10, 2 * L // 10 + 1, (N,), generator=generator)  # t_1
    second = torch.randint(L // 2, 6 * L // 10 + 1, (N,), generator=generator)  # t_2
    first_is_y = torch.randint(0, 2, (N,), generator=generator)
    second_is_y = torch.randint(0, 2, (N,), generator=generator)
    column = torch.arange(N)
    symbols[first, column] = X_ID + first_is_y
    symbols[second, column] = X_ID + second_is_y
    target = 2 * first_is_y + second_is_y  # XX 0, XY 1, YX 2, YY 3
    inputs = F.one_hot(symbols, len(SYMBOLS)).to(dtype)  # (L, N, 8)
    return OrderBatch(inputs.to(device), target.to(device))
