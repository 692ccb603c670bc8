"""Closed-form parameter counts of recurrent layers, checked against PyTorch.

A recurrent layer with G gate blocks, input size m, hidden size d has, per layer and
direction, an input weight (G·d, m), a recurrent weight (G·d, d) and its bias vectors:

    RNN   G = 1      GRU   G = 3      LSTM   G = 4   (gate order i, f, g, o)

    textbook, one bias vector:   G·(d·(d + m) + d)      LSTM: 4(d(d+m)+d)
    torch, b_ih and b_hh:        G·(d·(d + m) + 2d)     LSTM: 4(d(d+m)+2d)

`param_count` equals ``sum(p.numel() for p in module.parameters())`` for
``torch.nn.RNN / LSTM / GRU`` (and the ``*Cell`` classes, which are one layer, one
direction) built with the same arguments. Modes use torch's names (``"RNN_TANH"``,
``"RNN_RELU"``, ``"LSTM"``, ``"GRU"``; ``"RNN"`` is accepted too) plus the course's
``"PEEPHOLE_LSTM"``: an LSTM whose every layer and direction also holds three
peephole vectors w_ci, w_cf, w_co of size d (a course extension; torch has none).

Example:
    >>> cell_param_count("LSTM", input_size=10, hidden_size=20)
    2560
    >>> cell_param_count("LSTM", input_size=10, hidden_size=20, bias_vectors=1)
    2480
"""

from __future__ import annotations

GATE_BLOCKS: dict[str, int] = {
    "RNN": 1,
    "RNN_TANH": 1,
    "RNN_RELU": 1,
    "GRU": 3,
    "LSTM": 4,
    "PEEPHOLE_LSTM": 4,
}
"""Number of stacked gate blocks G in weight_ih / weight_hh, by mode."""

PEEPHOLE_VECTORS = 3
"""Peephole vectors (w_ci, w_cf, w_co) per layer and direction of a PEEPHOLE_LSTM."""

_LSTM_MODES = ("LSTM", "PEEPHOLE_LSTM")


def gate_blocks(mode: str) -> int:
    """Return G, the number of gate blocks of `mode` (RNN 1, GRU 3, LSTM 4)."""
    key = mode.upper()
    if key not in GATE_BLOCKS:
        raise ValueError(f"expected mode in {sorted(GATE_BLOCKS)}, got {mode!r}")
    return GATE_BLOCKS[key]


def cell_param_count(
    mode: str,
    input_size: int,
    hidden_size: int,
    bias_vectors: int = 2,
    proj_size: int = 0,
) -> int:
    """Count the parameters of one layer in one direction.

    With m = input_size, d = hidden_size, G = gate_blocks(mode), b = bias_vectors
    and r = proj_size or d (the size of h_t that feeds back into the layer):

        count = G·(d·m + d·r + b·d)          weight_ih, weight_hh, biases
              + r·d        if proj_size > 0   weight_hr: (P, d)
              + 3·d        if PEEPHOLE_LSTM   w_ci, w_cf, w_co

    so a textbook LSTM (b = 1) has 4(d(d+m)+d) and torch's (b = 2) 4(d(d+m)+2d).

    Args:
        mode: "RNN", "RNN_TANH", "RNN_RELU", "GRU", "LSTM" or "PEEPHOLE_LSTM".
        input_size: m, the features of the layer's input x_t.
        hidden_size: d, the size of the cell state and of the gates.
        bias_vectors: 0 (bias=False), 1 (textbook) or 2 (torch's b_ih and b_hh).
        proj_size: P, LSTM only; 0 means no projection.
    """
    blocks = gate_blocks(mode)
    _check_sizes(mode, input_size, hidden_size, proj_size)
    if bias_vectors not in (0, 1, 2):
        raise ValueError(f"expected bias_vectors in (0, 1, 2), got {bias_vectors}")
    recurrent_size = proj_size or hidden_size  # r: size of h_{t-1} fed back
    count = blocks * hidden_size * (input_size + recurrent_size + bias_vectors)
    if proj_size > 0:
        count += proj_size * hidden_size  # weight_hr: (P, d)
    if mode.upper() == "PEEPHOLE_LSTM":
        count += PEEPHOLE_VECTORS * hidden_size  # w_ci, w_cf, w_co: (d,)
    return count


def param_count(
    mode: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bias: bool = True,
    bidirectional: bool = False,
    proj_size: int = 0,
) -> int:
    """Count the parameters of a (stacked, bidirectional) torch-style recurrent layer.

    Arguments mirror ``torch.nn.RNN / LSTM / GRU``. With D = 2 if bidirectional
    else 1 and r = proj_size or hidden_size, layer 0 reads x_t (input_size
    features) and layer l > 0 reads the D concatenated outputs of layer l-1:

        count = D·cell(m = input_size) + (num_layers - 1)·D·cell(m = D·r)

    where cell = `cell_param_count` with bias_vectors = 2 if bias else 0.
    A ``torch.nn.LSTMCell(m, d)`` is ``param_count("LSTM", m, d)``.

    Example:
        >>> param_count("GRU", 8, 16, num_layers=2, bidirectional=True)
        7296
    """
    if num_layers < 1:
        raise ValueError(f"expected num_layers >= 1, got {num_layers}")
    directions = 2 if bidirectional else 1
    bias_vectors = 2 if bias else 0
    layer_output = directions * (proj_size or hidden_size)  # features out of a layer
    first = cell_param_count(mode, input_size, hidden_size, bias_vectors, proj_size)
    deeper = cell_param_count(mode, layer_output, hidden_size, bias_vectors, proj_size)
    return directions * (first + (num_layers - 1) * deeper)


def _check_sizes(mode: str, input_size: int, hidden_size: int, proj_size: int) -> None:
    if input_size < 1:
        raise ValueError(f"expected input_size >= 1, got {input_size}")
    if hidden_size < 1:
        raise ValueError(f"expected hidden_size >= 1, got {hidden_size}")
    if proj_size < 0:
        raise ValueError(f"expected proj_size >= 0, got {proj_size}")
    if proj_size > 0 and mode.upper() not in _LSTM_MODES:
        raise ValueError(f"expected proj_size = 0 for mode {mode!r}, got {proj_size}")
    if proj_size >= hidden_size:
        raise ValueError(f"expected proj_size < hidden_size = {hidden_size}, got {proj_size}")
