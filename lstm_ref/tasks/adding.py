"""The adding problem: sum the two marked numbers of a long sequence.

The form of Le, Jaitly & Hinton (2015). Each step carries two channels: a value
u_t ~ U[0, 1] and a marker m_t ∈ {0, 1}. Exactly two steps are marked, t_1 in the
first half and t_2 in the second:

    t_1 ~ U{0, …, ⌊L/2⌋ - 1},   t_2 ~ U{⌊L/2⌋, …, L - 1},   y = u_{t_1} + u_{t_2}

Predicting 1.0 always gives a mean squared error of about 1/6; a model that learnt
the task goes well below it.

Hochreiter & Schmidhuber's (1997) original, their Experiment 4, differs: values in
[-1, 1], the first marked step among the first ten, the second in the first half,
sequence lengths drawn from T to T + T/10, and the target scaled into [0, 1],
0.5 + (X_1 + X_2)/4.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from lstm_ref.tasks._common import Device, cpu_generator, require_at_least


class AddingBatch(NamedTuple):
    """One batch of the adding problem; unpacks as ``x, y``."""

    inputs: Tensor  # (L, N, 2): [..., 0] values u_t, [..., 1] markers m_t
    target: Tensor  # (N, 1): u_{t_1} + u_{t_2}


def adding_problem(
    seq_len: int,
    *,
    batch_size: int,
    seed: int,
    device: Device = None,
    dtype: torch.dtype = torch.float32,
) -> AddingBatch:
    """Draw a batch of the adding problem.

    Args:
        seq_len: L, the number of steps (>= 2).
        batch_size: N, the number of independent sequences.
        seed: the same seed gives the same batch, on any device.
        device: where the tensors go (None: the CPU).
        dtype: floating dtype of inputs and target.

    Shapes:
        inputs: (L, N, 2), time-major.  target: (N, 1).

    Example:
        >>> x, y = adding_problem(50, batch_size=4, seed=0)
        >>> x.shape, y.shape
        (torch.Size([50, 4, 2]), torch.Size([4, 1]))
    """
    require_at_least("seq_len", seq_len, 2)
    require_at_least("batch_size", batch_size, 1)
    generator = cpu_generator(seed)
    half = seq_len // 2
    values = torch.rand(seq_len, batch_size, generator=generator).to(dtype)  # u: (L, N)
    first = torch.randint(0, half, (batch_size,), generator=generator)  # t_1: (N,)
    second = torch.randint(half, seq_len, (batch_size,), generator=generator)  # t_2
    column = torch.arange(batch_size)
    markers = torch.zeros(seq_len, batch_size, dtype=dtype)  # m: (L, N)
    markers[first, column] = 1
    markers[second, column] = 1
    target = values[first, column] + values[second, column]  # y = u_{t_1} + u_{t_2}
    inputs = torch.stack([values, markers], dim=-1)  # (L, N, 2)
    return AddingBatch(inputs.to(device), target.unsqueeze(-1).to(device))
