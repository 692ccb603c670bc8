"""Chapter 2's exercises: the LSTM cell, forward in NumPy and torch, the sequence, backward.

    sigmoid(a) -> s                                                  NumPy, any shape
    lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)       NumPy
    lstm_cell_torch(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)       torch
    lstm_forward(x, (h, c), W_ih, W_hh, b_ih, b_hh, cell) -> (output, (h_n, c_n))  torch
    lstm_cell_backward(dh_next, dc_next, cache) -> (dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh)
    grad_check_lstm_cell(backward, inputs, dh_next, dc_next) -> GradCheckReport

Each exercise stands alone: the sequence is given the course's cell, the backward the
course's cache, and the gradient check uses lstm_ref's forward.
"""

from .cell_backward import BACKWARD, check_lstm_cell_backward
from .cell_forward import NUMPY_CELL, check_lstm_cell_forward
from .cell_torch import TORCH_CELL, check_lstm_cell_torch
from .grad_check import GRAD_CHECK, check_grad_check_lstm_cell
from .sequence import SEQUENCE, check_lstm_forward, course_cell
from .sigmoid import SIGMOID, check_sigmoid

__all__ = [
    "BACKWARD", "GRAD_CHECK", "NUMPY_CELL", "SEQUENCE", "SIGMOID", "TORCH_CELL",
    "check_grad_check_lstm_cell", "check_lstm_cell_backward", "check_lstm_cell_forward",
    "check_lstm_cell_torch", "check_lstm_forward", "check_sigmoid", "course_cell",
]  # fmt: skip
