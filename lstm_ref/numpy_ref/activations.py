"""Gate nonlinearities and their derivatives, written in terms of their outputs.

Every backward pass in this package needs the derivative of a gate's nonlinearity at its
pre-activation ``a``. For the sigmoid and tanh it is cheapest to write it with the value
the forward pass already stored, ``s = sigmoid(a)`` or ``t = tanh(a)``:

    sigmoid'(a) = s (1 - s)        tanh'(a) = 1 - t^2        relu'(a) = [a > 0]
"""

from __future__ import annotations

import numpy as np


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid that never overflows, for any float dtype.

    The textbook form ``1 / (1 + exp(-a))`` overflows ``exp`` for a = -1000. Instead
    ``z = exp(-|a|)`` lies in (0, 1] for every ``a``, and

        sigmoid(a) = 1 / (1 + z)   if a >= 0
        sigmoid(a) = z / (1 + z)   if a <  0

    Args:
        a: pre-activation, any shape, float32 or float64 (the dtype is kept).

    Example:
        >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """
    z = np.exp(-np.abs(a))  # z = e^{-|a|} in (0, 1]
    return np.where(a >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(s: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid from its output: ``s * (1 - s)`` with ``s = sigmoid(a)``."""
    return s * (1 - s)  # sigmoid'(a) = s (1 - s)


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (``np.tanh`` is already stable for large ``|a|``)."""
    return np.tanh(a)


def tanh_grad(t: np.ndarray) -> np.ndarray:
    """Derivative of tanh from its output: ``1 - t**2`` with ``t = tanh(a)``."""
    return 1 - t * t  # tanh'(a) = 1 - t^2


def relu(a: np.ndarray) -> np.ndarray:
    """Rectified linear unit ``max(a, 0)``."""
    return np.maximum(a, 0)


def relu_grad(r: np.ndarray) -> np.ndarray:
    """Derivative of ReLU from its output ``r = relu(a)``: 1 where ``r > 0``, else 0.

    At ``a = 0`` this picks 0, the same subgradient torch autograd uses.
    """
    return (r > 0).astype(r.dtype)  # relu'(a) = [a > 0]
