"""Parameter dictionaries for the four NumPy cells: creating them and checking their names.

A cell's parameters live in a dict keyed by torch's names, so ``cell_forward(x, h, **params)``
works and ``params[name] -= lr * grads[name]`` updates them:

    ====================  =====  ==========================================
    cell                  G      names
    ====================  =====  ==========================================
    "rnn"                 1      W_ih (G*H, I), W_hh (G*H, H), b_ih, b_hh (G*H,)
    "lstm"                4      same as "rnn"
    "gru"                 3      same as "rnn"
    "peephole_lstm"       4      same as "rnn", plus w_ci, w_cf, w_co (H,)
    ====================  =====  ==========================================

The biases are optional (leave them out or set them to None for ``bias=False``).
"""

from __future__ import annotations

import numpy as np

NUM_GATES = {"rnn": 1, "lstm": 4, "gru": 3, "peephole_lstm": 4}
PEEPHOLE_NAMES = ("w_ci", "w_cf", "w_co")


def param_names(cell: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return ``(required, optional)`` parameter names for ``cell``."""
    if cell not in NUM_GATES:
        raise ValueError(f"expected cell to be one of {sorted(NUM_GATES)}, got {cell!r}")
    required = ("W_ih", "W_hh") + (PEEPHOLE_NAMES if cell == "peephole_lstm" else ())
    return required, ("b_ih", "b_hh")


def check_param_names(cell: str, params: dict) -> None:
    """Raise ValueError if ``params`` lacks a required name or has one ``cell`` never uses."""
    if not isinstance(params, dict):
        raise TypeError(f"expected params to be a dict of arrays, got {type(params).__name__}")
    required, optional = param_names(cell)
    missing = [name for name in required if name not in params]
    unknown = [name for name in params if name not in required + optional]
    if missing or unknown:
        raise ValueError(
            f"expected {cell} params named {list(required)} plus optional {list(optional)}; "
            f"missing {missing}, unexpected {unknown}"
        )


def init_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    bias: bool = True,
    rng: np.random.Generator | None = None,
    dtype: type = np.float64,
) -> dict[str, np.ndarray]:
    """Draw parameters for ``cell`` the way torch does: uniform on (-k, k), k = 1/sqrt(H).

    Args:
        cell: "rnn", "lstm", "gru" or "peephole_lstm".
        input_size, hidden_size: I and H.
        bias: whether to include ``b_ih`` and ``b_hh``.
        rng: random generator (a fresh ``np.random.default_rng()`` if None).
        dtype: floating dtype of the arrays.

    Example:
        >>> p = init_params("gru", input_size=3, hidden_size=2, rng=np.random.default_rng(0))
        >>> {name: w.shape for name, w in p.items()}
        {'W_ih': (6, 3), 'W_hh': (6, 2), 'b_ih': (6,), 'b_hh': (6,)}
    """
    required, optional = param_names(cell)
    rng = np.random.default_rng() if rng is None else rng
    k = 1 / np.sqrt(hidden_size)
    rows = NUM_GATES[cell] * hidden_size
    shapes = {"W_ih": (rows, input_size), "W_hh": (rows, hidden_size)}
    shapes.update({name: (hidden_size,) for name in PEEPHOLE_NAMES if name in required})
    if bias:
        shapes.update({name: (rows,) for name in optional})
    return {name: rng.uniform(-k, k, size).astype(dtype) for name, size in shapes.items()}
