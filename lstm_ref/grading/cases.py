"""Seeded inputs for the checks: several shapes and edge cases, two dtypes, every device.

Visible test cells use ``hidden=False``; hidden ones ``hidden=True``, which draws other
seeds and other shapes, so a solution fitted to the visible cases does not pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .core import Case

# (label, N, I, H, weight scale): typical, batch 1, square weights, saturating gates
VISIBLE_SHAPES = [("typical", 3, 4, 5, 1.0), ("batch 1", 1, 4, 5, 1.0),
                  ("square W", 2, 3, 3, 1.0), ("large pre-activations", 2, 4, 5, 30.0)]  # fmt: skip
HIDDEN_SHAPES = [("other sizes", 4, 2, 6, 1.0), ("all sizes 1", 1, 1, 1, 1.0),
                 ("wide", 5, 7, 3, 1.0), ("large pre-activations", 3, 5, 4, 25.0)]  # fmt: skip
DTYPES = [np.float64, np.float32]


def devices(backend: str) -> list[str]:
    """NumPy runs on the CPU; torch on the CPU and, when present, on CUDA."""
    if backend == "numpy":
        return ["cpu"]
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def convert(arrays: tuple, backend: str, device: str) -> tuple:
    if backend == "numpy":
        return arrays
    return tuple(None if a is None else torch.from_numpy(a).to(device) for a in arrays)


def build_cases(
    make_args: Callable[[np.random.Generator, int, int, int, float], tuple],
    backend: str,
    hidden: bool = False,
    seed: int = 0,
    shapes=None,
    describe: Callable[[int, int, int], str] = lambda N, I, H: f"N={N}, I={I}, H={H}",
) -> list[Case]:
    """One case per shape × dtype × device; ``make_args(rng, N, I, H, scale)`` -> arrays.

    ``describe(N, I, H)`` writes the sizes in the case's label, for checks whose shapes
    mean something else (e.g. T steps and H units)."""
    shapes = shapes or (HIDDEN_SHAPES if hidden else VISIBLE_SHAPES)
    rng_seed = seed + (1000 if hidden else 0)
    cases = []
    for k, (label, N, I, H, scale) in enumerate(shapes):
        arrays = make_args(np.random.default_rng(rng_seed + k), N, I, H, scale)
        for dtype in DTYPES:
            typed = tuple(None if a is None else a.astype(dtype) for a in arrays)
            for device in devices(backend):
                text = f"{label} ({describe(N, I, H)}), {np.dtype(dtype).name}, {device}"
                args = convert(typed, backend, device)
                cases.append(Case(text, args, np.dtype(dtype), device))
    return cases


def cell_arrays(gates: int, with_cell: bool, length: int | None = None):
    """``make_args`` for a cell (or, with ``length``, a sequence) in torch's weight layout.

    Returns x (N, I) or (L, N, I), h (N, H), [c (N, H)], W_ih (G*H, I), W_hh (G*H, H),
    b_ih, b_hh (G*H,).
    """

    def make(rng: np.random.Generator, N: int, I: int, H: int, scale: float) -> tuple:
        bound = scale / np.sqrt(H)
        x = rng.normal(size=(N, I) if length is None else (length, N, I))
        states = [rng.normal(size=(N, H)) for _ in range(2 if with_cell else 1)]
        weights = [
            rng.uniform(-bound, bound, size=shape)
            for shape in [(gates * H, I), (gates * H, H), (gates * H,), (gates * H,)]
        ]
        return (x, *states, *weights)

    return make
