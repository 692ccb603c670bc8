"""Single-step cells: twins of ``torch.nn.RNNCell``, ``LSTMCell``, ``GRUCell``, plus
``PeepholeLSTMCell``. Each is one call of a step in :mod:`lstm_ref.nn.functional`.

Shapes: input (N, I) or (I,) unbatched; h and c (N, H) or (H,); parameters ``weight_ih``
(G*H, I), ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,), as in torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import functional as fn
from ._checks import check_shape, check_tensor, zeros_state


class _CellBase(nn.Module):
    gates = 1
    has_cell_state = False
    peephole = False

    def __init__(self, input_size: int, hidden_size: int, bias=True, device=None, dtype=None):
        super().__init__()
        for name, value in [("input_size", input_size), ("hidden_size", hidden_size)]:
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G, H = self.gates, hidden_size
        shapes = {"weight_ih": (G * H, input_size), "weight_hh": (G * H, H)}
        if bias:
            shapes.update(bias_ih=(G * H,), bias_hh=(G * H,))
        if self.peephole:
            shapes.update(weight_ci=(H,), weight_cf=(H,), weight_co=(H,))
        for name, shape in shapes.items():
            self.register_parameter(
                name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
            )
        if not bias:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/√H, 1/√H), torch's initialisation."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def _prepare(self, input, hx):
        """Check the input and the state; return them batched, plus whether input was."""
        check_tensor(input, "input", (1, 2), self.weight_ih)
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        check_shape(x, "input", (x.shape[0], self.input_size), "(N, input_size)")
        N, H = x.shape[0], self.hidden_size
        if hx is None:
            return x, tuple(zeros_state(x, N, H) for _ in range(1 + self.has_cell_state)), batched
        if self.has_cell_state and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise TypeError(f"expected hx to be a tuple (h, c) for a {type(self).__name__}")
        parts = tuple(hx) if self.has_cell_state else (hx,)
        for name, part in zip(["h", "c"], parts):
            check_tensor(part, name, (input.dim(),), x)
            check_shape(part, name, (N, H) if batched else (H,), "(N, hidden_size)")
        return x, tuple(p if batched else p.unsqueeze(0) for p in parts), batched

    def _step(self, x_proj: Tensor, state):
        raise NotImplementedError

    def forward(self, input: Tensor, hx=None):
        x, state, batched = self._prepare(input, hx)
        x_proj = F.linear(x, self.weight_ih, self.bias_ih)  # (N, G*H)
        state = self._step(x_proj, state)
        state = state if batched else tuple(s.squeeze(0) for s in state)
        return state if self.has_cell_state else state[0]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = φ(x W_ih^T + b_ih + h W_hh^T + b_hh), φ = tanh or relu. Returns h'."""

    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def _step(self, x_proj, state):
        return fn.rnn_step(x_proj, state, self.weight_hh, self.bias_hh, self.nonlinearity)


class LSTMCell(_CellBase):
    """One LSTM step (equations in :func:`lstm_ref.nn.functional.lstm_step`).

    ``forward(input, (h, c))`` returns ``(h', c')``.

    Example:
        >>> import torch
        >>> cell = LSTMCell(4, 3)
        >>> h, c = cell(torch.randn(2, 4))
        >>> tuple(h.shape), tuple(c.shape)
        ((2, 3), (2, 3))
    """

    gates, has_cell_state = 4, True

    def _step(self, x_proj, state):
        return fn.lstm_step(x_proj, state, self.weight_hh, self.bias_hh)


class GRUCell(_CellBase):
    """One GRU step in torch's convention (:func:`lstm_ref.nn.functional.gru_step`). Returns h'."""

    gates = 3

    def _step(self, x_proj, state):
        return fn.gru_step(x_proj, state, self.weight_hh, self.bias_hh)


class PeepholeLSTMCell(_CellBase):
    """One peephole LSTM step (:func:`lstm_ref.nn.functional.peephole_lstm_step`).

    Adds ``weight_ci``, ``weight_cf``, ``weight_co``, each (H,), to the LSTMCell's
    parameters. ``forward(input, (h, c))`` returns ``(h', c')``.
    """

    gates, has_cell_state, peephole = 4, True, True

    def _step(self, x_proj, state):
        peep = (self.weight_ci, self.weight_cf, self.weight_co)
        return fn.peephole_lstm_step(x_proj, state, self.weight_hh, self.bias_hh, *peep)
