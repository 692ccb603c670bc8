"""NumPy reference implementations of the RNN, LSTM, GRU and peephole-LSTM cells.

Every cell has a forward pass that returns a cache and a hand-written backward pass that
consumes it; every sequence function loops a cell over time (forward) and runs
backpropagation through time (backward). Weights use torch's names, shapes and gate order,
so they copy to and from ``torch.nn.RNNCell``, ``LSTMCell``, ``GRUCell`` and the layers.

Symbols: L sequence length, N batch size, I input size, H hidden size.

    =====================  =========================================  ==========================
    cell                   one step                                   whole sequence (L, N, I)
    =====================  =========================================  ==========================
    Elman RNN              rnn_cell_forward / rnn_cell_backward       rnn_forward / rnn_backward
    LSTM                   lstm_cell_forward / lstm_cell_backward     lstm_forward / ..._backward
    GRU                    gru_cell_forward / gru_cell_backward       gru_forward / ..._backward
    peephole LSTM          peephole_lstm_cell_forward / ..._backward  peephole_lstm_forward / ...
    =====================  =========================================  ==========================

``grad_check`` / ``assert_grad_check`` compare any backward pass with central differences.
"""

from .activations import relu, sigmoid, tanh
from .gradcheck import GradCheckReport, assert_grad_check, grad_check, numerical_gradient
from .gru import gru_cell_backward, gru_cell_forward
from .lstm import lstm_cell_backward, lstm_cell_forward
from .params import init_params
from .peephole import peephole_lstm_cell_backward, peephole_lstm_cell_forward
from .rnn import rnn_cell_backward, rnn_cell_forward
from .sequence import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    peephole_lstm_backward,
    peephole_lstm_forward,
    rnn_backward,
    rnn_forward,
)

__all__ = [
    "GradCheckReport",
    "assert_grad_check",
    "grad_check",
    "gru_backward",
    "gru_cell_backward",
    "gru_cell_forward",
    "gru_forward",
    "init_params",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "numerical_gradient",
    "peephole_lstm_backward",
    "peephole_lstm_cell_backward",
    "peephole_lstm_cell_forward",
    "peephole_lstm_forward",
    "relu",
    "rnn_backward",
    "rnn_cell_backward",
    "rnn_cell_forward",
    "rnn_forward",
    "sigmoid",
    "tanh",
]
