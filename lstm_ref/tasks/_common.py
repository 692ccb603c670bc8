"""Shared plumbing of the synthetic tasks: seeded generators and argument checks."""

from __future__ import annotations

import torch

Device = torch.device | str | None


def cpu_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with `seed`.

    Every task draws on the CPU and then moves its tensors to the requested device,
    so a seed gives the same batch on every machine, with or without a GPU.
    """
    if not isinstance(seed, int):
        raise TypeError(f"expected seed to be an int, got {type(seed).__name__}")
    return torch.Generator().manual_seed(seed)


def require_at_least(name: str, value: int, minimum: int) -> None:
    """Raise ``ValueError("expected name >= minimum, got value")`` when value is too small."""
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")
