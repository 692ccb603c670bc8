"""The residual cases of exercises 6.2 and 6.3: several shapes, float64 and float32.

Residuals are (L, N), time-major: column n is series n. Each case keeps one dtype for
every array, and the outputs must keep it too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..cases import DTYPES
from ..core import Case

# (label, L, N, k): several series of different scales; a single series; few steps
SHAPES = {
    False: [("typical", 60, 3, 3.0), ("one series", 40, 1, 5.0), ("many series", 20, 8, 2.5)],
    True: [("other sizes", 50, 4, 4.0), ("short", 5, 2, 1.5), ("wide", 30, 12, 3.0)],
}


def residual_cases(make: Callable, hidden: bool) -> list[Case]:
    """One case per shape × dtype; ``make(rng, L, N, k)`` -> (float64 arrays, other args)."""
    cases = []
    for index, (label, L, N, k) in enumerate(SHAPES[hidden]):
        arrays, extra = make(np.random.default_rng(index + (1000 if hidden else 0)), L, N, k)
        for dtype in DTYPES:
            args = (*(a.astype(dtype) for a in arrays), *extra)
            text = f"{label} (L={L}, N={N}), {np.dtype(dtype).name}"
            cases.append(Case(text, args, np.dtype(dtype)))
    return cases
