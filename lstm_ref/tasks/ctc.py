"""Shapes in a noisy signal: a labelling task without alignments, for CTC (chapter 7).

Each sequence is a 1-D signal that spells out 1 … `max_labels` labels, one after the
other. Label k is drawn as a shape of random duration d (frames), and the shapes are
separated by stretches of silence (0) of random length, at least one frame:

    H  high   +1 for d frames              R  rise   from -1 up to +1 over d frames
    L  low    -1 for d frames              F  fall   from +1 down to -1 over d frames

Then Gaussian noise σ · ε_t is added to every frame, silence and padding included. A
model is given the signal and the label sequence only (say "R H H"), never which frames
belong to which label: that is the setting of connectionist temporal classification
(Graves et al., 2006). The generator keeps the frames of each label in `spans`, for
figures and tests; a model must not see them.

Label ids follow ``torch.nn.CTCLoss``: 0 is the blank, the labels are 1 … 4 in
LABELS order. Sequences have different lengths T_n; the batch is padded with silence
to T = max_n T_n, and `input_lengths` says where each one ends.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from lstm_ref.tasks._common import Device, cpu_generator, require_at_least

LABELS = ("-", "H", "L", "R", "F")
"""Class names by id: the blank "-" (id 0), then high, low, rise, fall (ids 1 … 4)."""
BLANK = 0


class CTCBatch(NamedTuple):
    """A batch of the shapes task, in the form ``torch.nn.CTCLoss`` reads."""

    inputs: Tensor  # (T, N, 1): the signals, time-major, padded with silence
    targets: Tensor  # (N, S) int64: label ids 1 … 4, padded with BLANK past target_lengths
    input_lengths: Tensor  # (N,) int64: T_n, frames of sequence n
    target_lengths: Tensor  # (N,) int64: S_n, labels of sequence n
    spans: Tensor  # (N, S, 2) int64: [start, stop) frames of each label; -1 past S_n


def shape(label: int, duration: int) -> Tensor:
    """The noise-free signal (duration,) that draws label id 1 … 4 (see module docstring)."""
    ramp = torch.linspace(-1.0, 1.0, duration)  # -1 … +1 in `duration` frames
    shapes = {1: torch.ones(duration), 2: -torch.ones(duration), 3: ramp, 4: -ramp}
    if label not in shapes:
        raise ValueError(f"expected a label id in 1 … 4, got {label}")
    return shapes[label]


def shape_sequences(
    *,
    batch_size: int,
    seed: int,
    max_labels: int = 3,
    durations: tuple[int, int] = (3, 6),
    gaps: tuple[int, int] = (1, 3),
    noise_std: float = 0.25,
    device: Device = None,
    dtype: torch.dtype = torch.float32,
) -> CTCBatch:
    """Draw N signals, each spelling 1 … max_labels labels as shapes with gaps.

    Args:
        batch_size: N.
        seed: the same seed gives the same batch, on any device.
        max_labels: S_n is uniform on 1 … max_labels.
        durations: (lowest, highest) frames of one shape, uniform, lowest >= 2.
        gaps: (lowest, highest) frames of silence before, between and after the
            shapes, uniform, lowest >= 1 (so that "H H" shows as two shapes).
        noise_std: σ of the noise added to every frame.

    Shapes:
        inputs (T, N, 1), targets (N, S), input_lengths (N,), target_lengths (N,),
        spans (N, S, 2), with S = max_labels and T = max_n T_n.

    Example:
        >>> batch = shape_sequences(batch_size=3, seed=0)
        >>> batch.inputs.shape[1:], batch.targets.shape
        (torch.Size([3, 1]), torch.Size([3, 3]))
    """
    require_at_least("batch_size", batch_size, 1)
    require_at_least("max_labels", max_labels, 1)
    require_at_least("lowest duration", durations[0], 2)
    require_at_least("lowest gap", gaps[0], 1)
    g = cpu_generator(seed)

    def uniform(low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (), generator=g))

    N, S = batch_size, max_labels
    targets = torch.full((N, S), BLANK, dtype=torch.int64)
    spans = torch.full((N, S, 2), -1, dtype=torch.int64)
    target_lengths = torch.randint(1, S + 1, (N,), generator=g)
    signals = []
    for n in range(N):
        pieces, t = [], 0
        for s in range(int(target_lengths[n])):
            gap, label, duration = uniform(*gaps), uniform(1, 4), uniform(*durations)
            pieces += [torch.zeros(gap), shape(label, duration)]
            targets[n, s] = label
            spans[n, s] = torch.tensor([t + gap, t + gap + duration])
            t += gap + duration
        pieces.append(torch.zeros(uniform(*gaps)))  # silence after the last shape
        signals.append(torch.cat(pieces))
    input_lengths = torch.tensor([len(x) for x in signals])
    T = int(input_lengths.max())
    inputs = torch.zeros(T, N, 1)
    for n, x in enumerate(signals):
        inputs[: len(x), n, 0] = x
    inputs += noise_std * torch.randn(T, N, 1, generator=g)  # + σ ε_t on every frame
    return CTCBatch(
        inputs.to(device=device, dtype=dtype), targets.to(device),
        input_lengths.to(device), target_lengths.to(device), spans.to(device),
    )  # fmt: skip
