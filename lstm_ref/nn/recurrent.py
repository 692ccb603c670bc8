"""Multi-layer, optionally bidirectional recurrent layers: a cell step looped over time.

Drop-in twins of ``torch.nn.RNN``, ``LSTM`` and ``GRU``, plus ``PeepholeLSTM``. They take
the same constructor arguments, name and shape their parameters the same way
(``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), accept the same inputs (batched, unbatched,
``batch_first``, ``PackedSequence``) and return the same values, so
``ours.load_state_dict(theirs.state_dict())`` works in both directions.

The LSTM (without ``proj_size``) takes :func:`lstm_ref.nn.fused.lstm_scan`, the same steps
with their backward written out. The backward direction of packed sequences, and every
other layer, loops the step of
:mod:`lstm_ref.nn.functional` through autograd with :func:`scan`.

Symbols: N batch, L sequence length, I ``input_size``, H ``hidden_size``, P ``proj_size``
(LSTM only), H_out = P if P > 0 else H, D = 2 if bidirectional else 1.

Shapes:
    input   (L, N, I), (N, L, I) with ``batch_first``, or (L, I) unbatched
    h_0     (D * num_layers, N, H_out), c_0 (D * num_layers, N, H); zeros when omitted
    output  (L, N, D * H_out): the last layer's h_t, forward ⊕ backward direction
    h_n     (D * num_layers, N, H_out): the final h of every layer and direction
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import functional as fn
from . import fused, gemm
from ._checks import check_shape, check_tensor, zeros_state

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4, "PEEPHOLE_LSTM": 4}
HAS_CELL_STATE = {"LSTM", "PEEPHOLE_LSTM"}


def scan(step, x_proj: Tensor, state: tuple, args: tuple, reverse=False, lengths=None):
    """Apply ``state = step(x_proj[t], state, *args)`` for t = 0..L-1 (or L-1..0).

    With ``lengths`` (N,), sequence n is only stepped while t < lengths[n]: its state is
    frozen past its end, so the backward direction starts at each sequence's last token.
    Returns the outputs h_t stacked to (L, N, H_out) and the final state.
    """
    x_steps = x_proj.unbind(0)  # L views; unbind's backward is one stack, not L scatters
    outputs = [None] * len(x_steps)
    times = range(len(x_steps) - 1, -1, -1) if reverse else range(len(x_steps))
    for t in times:
        new = step(x_steps[t], state, *args)
        if lengths is not None:
            alive = (t < lengths).unsqueeze(-1)  # (N, 1): is step t inside sequence n?
            new = tuple(torch.where(alive, s_new, s) for s_new, s in zip(new, state))
        outputs[t] = new[0]  # past a sequence's end: repacking drops it
        state = new
    return torch.stack(outputs), state


def _fused_lstm(x: Tensor, state: tuple, weights: tuple, reverse: bool, lengths=None):
    """``scan(fn.lstm_step, ...)`` after the input projection, as one autograd node.

    ``weights`` are (W_ih, W_hh, b_ih, b_hh); see :func:`fused.lstm_scan`. ``lengths``
    only going forward (not ``reverse``).
    """
    if not reverse:
        return fused.lstm_scan(x, state, *weights, lengths=lengths)
    out, state = fused.lstm_scan(x.flip(0), state, *weights)  # the reversed sequence
    return out.flip(0), state


class RNNBase(nn.Module):
    """Shared machinery of :class:`RNN`, :class:`LSTM`, :class:`GRU`, :class:`PeepholeLSTM`."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_config(mode, input_size, hidden_size, num_layers, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                for name, shape in self._param_shapes(layer):
                    param = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
                    self.register_parameter(name + suffix, param)
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """H_out: the size of h_t (proj_size when the LSTM projects, else hidden_size)."""
        return self.proj_size or self.hidden_size

    def _param_shapes(self, layer: int) -> list[tuple[str, tuple[int, ...]]]:
        """Names and shapes of one layer-direction's parameters, in torch's order."""
        G, H, H_out = GATES[self.mode], self.hidden_size, self.output_size
        layer_input = self.input_size if layer == 0 else H_out * self.num_directions
        shapes = [("weight_ih", (G * H, layer_input)), ("weight_hh", (G * H, H_out))]
        if self.bias:
            shapes += [("bias_ih", (G * H,)), ("bias_hh", (G * H,))]
        if self.proj_size:
            shapes.append(("weight_hr", (self.proj_size, H)))
        if self.mode == "PEEPHOLE_LSTM":
            shapes += [("weight_ci", (H,)), ("weight_cf", (H,)), ("weight_co", (H,))]
        return shapes

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/√H, 1/√H), torch's initialisation."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """No-op, for code written for torch.nn (cuDNN's weight packing has no twin here)."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        per_direction = len(self._param_shapes(0))
        flat = [getattr(self, name) for name in self._flat_weights_names]
        return [flat[k : k + per_direction] for k in range(0, len(flat), per_direction)]

    def _step_and_args(self, layer: int, direction: int):
        """The step function and its weights for one layer-direction."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        p = lambda name: getattr(self, name + suffix, None)  # noqa: E731
        W_ih, b_ih, W_hh, b_hh = p("weight_ih"), p("bias_ih"), p("weight_hh"), p("bias_hh")
        if self.mode == "LSTM":
            return fn.lstm_step, W_ih, b_ih, (W_hh, b_hh, p("weight_hr"))
        if self.mode == "GRU":
            return fn.gru_step, W_ih, b_ih, (W_hh, b_hh)
        if self.mode == "PEEPHOLE_LSTM":
            peep = (p("weight_ci"), p("weight_cf"), p("weight_co"))
            return fn.peephole_lstm_step, W_ih, b_ih, (W_hh, b_hh, *peep)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return fn.rnn_step, W_ih, b_ih, (W_hh, b_hh, nonlinearity)

    def forward(self, input, hx=None):
        """Run every layer and direction over the sequence; see the module docstring."""
        x, lengths, batched = self._time_major_input(input)
        states = self._initial_states(hx, x, batched)  # one tuple (h[, c]) per layer-direction
        D = self.num_directions
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)  # between layers, not after last
            outputs = []
            for direction in range(D):
                step, W_ih, b_ih, args = self._step_and_args(layer, direction)
                k = layer * D + direction
                # packed sequences: the scan ends each one at its own length going forward;
                # backward, each must start there, which the plain steps do
                scannable = lengths is None or direction == 0
                if step is fn.lstm_step and args[2] is None and scannable:
                    weights = (W_ih, args[0], b_ih, args[1])  # W_ih, W_hh, b_ih, b_hh
                    out, states[k] = _fused_lstm(x, states[k], weights, direction == 1, lengths)
                else:
                    x_proj = gemm.linear(x, W_ih, b_ih)  # (L, N, G*H): hoisted out of the loop
                    out, states[k] = scan(step, x_proj, states[k], args, direction == 1, lengths)
                outputs.append(out)
            x = torch.cat(outputs, dim=-1) if D == 2 else outputs[0]  # (L, N, D*H_out)
        return self._package(input, x, states, lengths, batched)

    def _time_major_input(self, input):
        """Return x as (L, N, I), the lengths of a PackedSequence (else None), and batched."""
        like = next(self.parameters())
        if isinstance(input, PackedSequence):
            x, lengths = pad_packed_sequence(input)  # (L, N, I) in the caller's batch order
            check_tensor(x, "input", (3,), like)
            check_shape(x, "input", (*x.shape[:2], self.input_size), "(input_size)")
            return x, lengths.to(x.device), True
        check_tensor(input, "input", (2, 3), like)
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise ValueError("expected a sequence of length >= 1, got length 0")
        layout = "(N, L, input_size)" if batched and self.batch_first else "(L, N, input_size)"
        check_shape(x, "input", (*x.shape[:2], self.input_size), f"(layout {layout})")
        return x, None, batched

    def _initial_states(self, hx, x: Tensor, batched: bool) -> list[tuple[Tensor, ...]]:
        """Split h_0 (and c_0) into one state tuple per layer-direction, zeros by default."""
        N, LD = x.shape[1], self.num_layers * self.num_directions
        sizes = [self.output_size, self.hidden_size][: 2 if self.mode in HAS_CELL_STATE else 1]
        if hx is None:
            parts = [zeros_state(x, LD, N, size) for size in sizes]
        else:
            parts = list(hx) if self.mode in HAS_CELL_STATE else [hx]
            if self.mode in HAS_CELL_STATE and (not isinstance(hx, tuple | list) or len(hx) != 2):
                raise TypeError("expected hx to be a tuple (h_0, c_0) for an LSTM")
            for name, part, size in zip(["h_0", "c_0"], parts, sizes):
                check_tensor(part, name, (3,) if batched else (2,), x)
                shape = (LD, N, size) if batched else (LD, size)
                check_shape(part, name, shape, "(num_layers * num_directions, N, size)")
            parts = [p if batched else p.unsqueeze(1) for p in parts]
        return [tuple(p[k] for p in parts) for k in range(LD)]

    def _package(self, input, x: Tensor, states, lengths, batched: bool):
        """Shape the results as torch does: output, and h_n or (h_n, c_n)."""
        finals = [torch.stack(part) for part in zip(*states)]  # each (D*layers, N, size)
        if isinstance(input, PackedSequence):
            x = _repack(x, lengths, input)
        elif not batched:
            x, finals = x.squeeze(1), [f.squeeze(1) for f in finals]
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, (tuple(finals) if self.mode in HAS_CELL_STATE else finals[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = dict(
            proj_size=0, num_layers=1, bias=True, batch_first=False, dropout=0.0,
            bidirectional=False,
        )  # fmt: skip
        for key, default in defaults.items():
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


def _repack(x: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack the padded output ``x`` (L, N, H) in the same batch order as the input was."""
    if like.sorted_indices is not None:
        x, lengths = x.index_select(1, like.sorted_indices), lengths[like.sorted_indices]
    data = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=True).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def _check_config(mode, input_size, hidden_size, num_layers, dropout, proj_size) -> None:
    for name, value in [("input_size", input_size), ("hidden_size", hidden_size)]:
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"expected {name} to be a positive int, got {value!r}")
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"expected num_layers to be an int >= 1, got {num_layers!r}")
    if isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(f"expected dropout to be a probability in [0, 1], got {dropout!r}")
    if proj_size < 0 or proj_size >= hidden_size:
        raise ValueError(f"expected 0 <= proj_size < hidden_size, got {proj_size}")
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size is supported by LSTM only")
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout acts between recurrent layers, so dropout > 0 expects num_layers > 1, "
            f"got dropout={dropout} and num_layers=1",
            UserWarning,
            stacklevel=3,
        )
