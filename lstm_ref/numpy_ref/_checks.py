"""Input checks shared by the NumPy cells, so every error says what was expected.

A shape spec is a tuple whose entries are either an int (that size is required) or a
string (any size is allowed; the string is the symbol printed in the message):

    >>> import numpy as np
    >>> check_array("x", np.zeros((3, 5)), ("N", 8))
    Traceback (most recent call last):
    ...
    ValueError: expected x of shape (N, 8), got (3, 5)
"""

from __future__ import annotations

import numpy as np

ShapeSpec = tuple[int | str, ...]


def format_shape(spec: ShapeSpec) -> str:
    """Write a shape spec the way Python writes a tuple: ``(N, 8)`` or ``(8,)``."""
    inner = ", ".join(str(size) for size in spec)
    return f"({inner},)" if len(spec) == 1 else f"({inner})"


def check_float(name: str, array) -> np.ndarray:
    """Return ``array`` if it is a floating-point NumPy array, else raise TypeError."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected {name} to be a numpy.ndarray, got {type(array).__name__}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"expected {name} to be a floating-point array (float32 or float64), "
            f"got dtype {array.dtype}; convert it with {name}.astype(np.float64)"
        )
    return array


def check_array(name: str, array, spec: ShapeSpec) -> np.ndarray:
    """Check that ``array`` is a float array whose shape matches ``spec``.

    Raises:
        TypeError: ``array`` is not a floating-point ``numpy.ndarray``.
        ValueError: ``array.shape`` does not match ``spec``.
    """
    check_float(name, array)
    fits = array.ndim == len(spec) and all(
        isinstance(want, str) or got == want for got, want in zip(array.shape, spec, strict=True)
    )
    if not fits:
        raise ValueError(
            f"expected {name} of shape {format_shape(spec)}, got {format_shape(array.shape)}"
        )
    return array


def check_weights(W_ih, W_hh, b_ih, b_hh, num_gates: int) -> tuple[int, int]:
    """Check a cell's torch-layout weights; return ``(input_size, hidden_size)``.

    Shapes:
        W_ih: (G*H, I), W_hh: (G*H, H), b_ih and b_hh: (G*H,) or None, G = ``num_gates``.
    """
    check_float("W_hh", W_hh)
    if W_hh.ndim != 2 or W_hh.shape[0] != num_gates * W_hh.shape[1]:
        rows = f"{num_gates}*H" if num_gates > 1 else "H"  # e.g. (4*H, H) for the LSTM
        raise ValueError(f"expected W_hh of shape ({rows}, H), got {format_shape(W_hh.shape)}")
    hidden_size = W_hh.shape[1]
    rows = num_gates * hidden_size
    check_float("W_ih", W_ih)
    input_size = W_ih.shape[1] if W_ih.ndim == 2 else "I"
    check_array("W_ih", W_ih, (rows, input_size))
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None:
            check_array(name, bias, (rows,))
    return input_size, hidden_size


def check_state(x, states: dict[str, np.ndarray], input_size: int, hidden_size: int) -> None:
    """Check a batch of inputs ``x`` (N, I) and each state in ``states`` (N, H)."""
    check_array("x", x, ("N", input_size))
    batch_size = x.shape[0]
    for name, state in states.items():
        check_array(name, state, (batch_size, hidden_size))


def check_grad(name: str, grad, like: np.ndarray) -> np.ndarray:
    """Check that an incoming gradient has the shape of the value it belongs to."""
    return check_array(name, grad, like.shape)
