"""The one loop over time, forward and backward, shared by every cell kind.

A cell enters the loop through two small functions whose state is a tuple, ``(h,)`` for
the RNN and GRU, ``(h, c)`` for the LSTMs, always with ``h`` first:

    step(x_t, state)                    -> (state_next, cache)
    step_backward(d_state_next, cache)  -> (dx_t, d_state, grads_t)

Backpropagation through time (BPTT) then needs only two facts: the gradient that reaches
``h_t`` is ``d_out[t]`` (from the output) plus what flows back from step t+1, and the
weights are the same at every step, so their gradients add up over time.

Symbols: L sequence length, N batch size, I input size, H hidden size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import check_array, check_weights
from .params import NUM_GATES, check_param_names

State = tuple[np.ndarray, ...]


def scan_forward(
    step: Callable[[np.ndarray, State], tuple[State, dict]], x: np.ndarray, state: State
) -> tuple[np.ndarray, State, list[dict]]:
    """Run ``step`` over ``x`` from ``state``; return ``(out, final_state, caches)``.

    Equations:
        state_t = step(x[t], state_{t-1}),    out[t] = h_t = state_t[0]

    Shapes:
        x: (L, N, I); each state entry: (N, H); out: (L, N, H); caches: L entries.
    """
    outputs, caches = [], []
    for x_t in x:  # x_t: (N, I)
        state, cache = step(x_t, state)
        outputs.append(state[0])  # h_t: (N, H)
        caches.append(cache)
    return np.stack(outputs), state, caches  # out: (L, N, H)


def scan_backward(
    step_backward: Callable[[State, dict], tuple[np.ndarray, State, dict]],
    d_out: np.ndarray,
    d_state: State,
    caches: list[dict],
) -> tuple[np.ndarray, State, dict[str, np.ndarray]]:
    """BPTT through :func:`scan_forward`; return ``(dx, d_initial_state, grads)``.

    Equations, for t = L-1 down to 0:
        dh_t             = d_out[t] + (gradient reaching h_t from step t+1)
        grads[name]      = sum over t of the step's grads[name]

    Shapes:
        d_out: (L, N, H); d_state: gradients of the final state; dx: (L, N, I).
    """
    dx = [None] * len(caches)
    grads: dict[str, np.ndarray] = {}
    for t in reversed(range(len(caches))):
        d_state = (d_state[0] + d_out[t], *d_state[1:])  # dL/dh_t = d_out[t] + from t+1
        dx[t], d_state, step_grads = step_backward(d_state, caches[t])
        for name, grad in step_grads.items():
            grads[name] = grads[name] + grad if name in grads else grad  # sum over time
    return np.stack(dx), d_state, grads  # dx: (L, N, I)


# Adapters from the cells' signatures to the tuple-state ``step`` functions above.


def one_state_forward(
    cell_forward: Callable, x: np.ndarray, h0: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Scan an h-only cell such as the GRU; return ``(out, h_n, caches)``."""

    def step(x_t, state):
        h_next, cache = cell_forward(x_t, *state, **params)
        return (h_next,), cache

    out, (h_n,), caches = scan_forward(step, x, (h0,))
    return out, h_n, caches


def one_state_backward(
    cell_backward: Callable, d_out: np.ndarray, dh_n: np.ndarray, caches: list[dict]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """BPTT for an h-only cell; return ``(dx, dh0, grads)``."""

    def step_backward(d_state, cache):
        dx_t, dh, grads = cell_backward(*d_state, cache)
        return dx_t, (dh,), grads

    dx, (dh0,), grads = scan_backward(step_backward, d_out, (dh_n,), caches)
    return dx, dh0, grads


def two_state_forward(
    cell_forward: Callable, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Scan an (h, c) cell such as the LSTM; return ``(out, h_n, c_n, caches)``."""

    def step(x_t, state):
        h_next, c_next, cache = cell_forward(x_t, *state, **params)
        return (h_next, c_next), cache

    out, (h_n, c_n), caches = scan_forward(step, x, (h0, c0))
    return out, h_n, c_n, caches


def two_state_backward(
    cell_backward: Callable,
    d_out: np.ndarray,
    dh_n: np.ndarray,
    dc_n: np.ndarray,
    caches: list[dict],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """BPTT for an (h, c) cell; return ``(dx, dh0, dc0, grads)``."""

    def step_backward(d_state, cache):
        dx_t, dh, dc, grads = cell_backward(*d_state, cache)
        return dx_t, (dh, dc), grads

    dx, (dh0, dc0), grads = scan_backward(step_backward, d_out, (dh_n, dc_n), caches)
    return dx, dh0, dc0, grads


def check_sequence(cell: str, x: np.ndarray, states: dict, params: dict) -> None:
    """Check a sequence ``x`` (L, N, I), initial states (N, H) and ``params`` for ``cell``."""
    check_param_names(cell, params)
    input_size, hidden_size = check_weights(
        params["W_ih"], params["W_hh"], params.get("b_ih"), params.get("b_hh"), NUM_GATES[cell]
    )
    check_array("x", x, ("L", "N", input_size))
    if x.shape[0] == 0:
        raise ValueError(f"expected x of shape (L, N, {input_size}) with L >= 1, got {x.shape}")
    for name, state in states.items():
        check_array(name, state, (x.shape[1], hidden_size))


def check_sequence_grads(d_out: np.ndarray, d_states: dict, caches: list[dict]) -> None:
    """Check ``d_out`` (L, N, H) and the final-state gradients (N, H) against ``caches``."""
    if not isinstance(caches, list) or not caches:
        raise ValueError("expected caches to be the non-empty list returned by the forward pass")
    batch_size, hidden_size = caches[0]["affine_inputs"][1].shape  # h: (N, H)
    check_array("d_out", d_out, (len(caches), batch_size, hidden_size))
    for name, grad in d_states.items():
        check_array(name, grad, (batch_size, hidden_size))
