"""What exercises 3.3 and 3.4 hand the student: lstm_ref's cells, and a layer looping one.

    cell(x_t, state, W_ih, W_hh, b_ih, b_hh) -> state      (h, c) for the LSTM, (h,) for the GRU
    given_layer(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (outputs (L, N, H), (h_L, c_L))

They are case arguments: the check hands them to the student's function, and the
references and mistakes call them too. The student's code runs with lstm_ref's model
functions refused (:func:`~lstm_ref.grading.guard.forbid_delegation`); these keep working.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F

import lstm_ref.nn.functional as fn


def _unguarded(function: types.FunctionType) -> types.FunctionType:
    """A twin of an lstm_ref function that ``forbid_delegation`` leaves callable.

    The guard swaps the code object of lstm_ref's own function; the twin keeps the
    original one, so a check can hand the student lstm_ref's cell while refusing layers.
    """
    return types.FunctionType(function.__code__, function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)  # fmt: skip


_lstm_step, _gru_step = _unguarded(fn.lstm_step), _unguarded(fn.gru_step)


def given_cell(kind: str):
    """lstm_ref's LSTM or GRU cell as ``cell(x_t, state, W_ih, W_hh, b_ih, b_hh) -> state``.

    The state is a tuple, (h, c) for the LSTM and (h,) for the GRU; h is its first entry.
    """
    step = {"LSTM": _lstm_step, "GRU": _gru_step}[kind]

    def cell(x, state, W_ih, W_hh, b_ih=None, b_hh=None):
        return step(F.linear(x, W_ih, b_ih), state, W_hh, b_hh)

    cell.__name__ = cell.__qualname__ = f"{kind.lower()}_cell"
    return cell


LSTM_CELL, GRU_CELL = given_cell("LSTM"), given_cell("GRU")


def given_layer(x, state, W_ih, W_hh, b_ih=None, b_hh=None):
    """One LSTM layer, lstm_ref's cell looped over time: x (L, N, I) -> (L, N, H), (h, c)."""
    outputs = []
    for x_t in x:  # x_t (N, I)
        state = LSTM_CELL(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state
