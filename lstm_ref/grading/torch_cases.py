"""Torch exercises' cases, shared by the chapters whose exercises are torch code: seeded
cases in float64 and float32 on every device, built with torch's generator seeded and
restored, and run with cuDNN in full float32 (no TF32) as the reference computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .cases import devices
from .core import Case
from .exercise import Exercise

DTYPES = [torch.float64, torch.float32]


@contextlib.contextmanager
def full_float32():
    """cuDNN in full float32 (no TF32), as the reference computes, forward and backward."""
    allow_tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = allow_tf32


class TorchExercise(Exercise):
    """An exercise whose student code runs with cuDNN in full float32 (a float32 nn.LSTM
    on CUDA then matches lstm_ref's LSTM, gradients included)."""

    def run(self, student, hidden: bool = False):
        with full_float32():
            return super().run(student, hidden)


def seeded(seed: int, build: Callable):
    """``build()`` with torch's global generator seeded, then restored as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def torch_cases(make: Callable, shapes: Sequence[tuple], hidden: bool,
                describe_sizes: Callable[..., str]) -> list[Case]:  # fmt: skip
    """One case per shape × dtype × device; ``make(seed, *sizes, dtype, device)`` -> args.

    ``shapes``: (label, *sizes); the label reads "label (sizes), dtype, device".
    """
    cases = []
    for k, (label, *sizes) in enumerate(shapes):
        for dtype in DTYPES:
            for device in devices("torch"):
                args = make(k + (1000 if hidden else 0), *sizes, dtype=dtype, device=device)
                name = str(dtype).removeprefix("torch.")
                text = f"{label} ({describe_sizes(*sizes)}), {name}, {device}"
                cases.append(Case(text, args, np.dtype(name), device))
    return cases
