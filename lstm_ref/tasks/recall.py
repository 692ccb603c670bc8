"""Delayed recall: remember a token across an exact number of steps.

A token k ∈ {0, …, V-1} is shown once, one-hot, at step 0. Then come exactly `lag`
steps without it, then a recall cue; the model must name k at the cue:

    step    0          1 … lag               lag + 1
    input   onehot(k)  blank (or distractor) cue
    target                                   k          (read the output at t = L - 1)

so L = lag + 2 and the channels are the V token channels plus one cue channel.
With ``distractors=True`` every step in between shows a random token of the same
vocabulary, and the model must keep the first one rather than the latest.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lstm_ref.tasks._common import Device, cpu_generator, require_at_least


class RecallBatch(NamedTuple):
    """One batch of delayed recall; unpacks as ``x, y``."""

    inputs: Tensor  # (lag + 2, N, V + 1): tokens in [..., :V], the cue in [..., V]
    target: Tensor  # (N,) int64: the token shown at step 0


def delayed_recall(
    lag: int,
    *,
    batch_size: int,
    seed: int,
    vocab_size: int = 8,
    distractors: bool = False,
    device: Device = None,
    dtype: torch.dtype = torch.float32,
) -> RecallBatch:
    """Draw a batch of delayed recall with exactly `lag` steps between token and cue.

    Args:
        lag: steps between the token (t = 0) and the cue (t = lag + 1); >= 0.
        batch_size: N, the number of independent sequences.
        seed: the same seed gives the same batch, on any device.
        vocab_size: V, the number of tokens (>= 2); chance accuracy is 1/V.
        distractors: fill the steps in between with random tokens instead of zeros.
        device: where the tensors go (None: the CPU).
        dtype: floating dtype of the inputs.

    Shapes:
        inputs: (lag + 2, N, V + 1), time-major.  target: (N,) int64.
    """
    require_at_least("lag", lag, 0)
    require_at_least("batch_size", batch_size, 1)
    require_at_least("vocab_size", vocab_size, 2)
    generator = cpu_generator(seed)
    seq_len = lag + 2
    tokens = torch.randint(0, vocab_size, (batch_size,), generator=generator)  # k: (N,)
    inputs = torch.zeros(seq_len, batch_size, vocab_size + 1, dtype=dtype)
    inputs[0, :, :vocab_size] = F.one_hot(tokens, vocab_size).to(dtype)  # x_0 = onehot(k)
    if distractors:
        noise = torch.randint(0, vocab_size, (lag, batch_size), generator=generator)
        inputs[1 : lag + 1, :, :vocab_size] = F.one_hot(noise, vocab_size).to(dtype)
    inputs[lag + 1, :, vocab_size] = 1  # the recall cue
    return RecallBatch(inputs.to(device), tokens.to(device))
