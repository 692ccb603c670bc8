"""Chapter 3's exercises: the GRU and peephole cells from scratch, a bidirectional and a
stacked LSTM built from a given cell or layer, and the parameter count. In torch
(L length, N batch, I input, H hidden, K layers):

    gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next                 x (N, I), h (N, H)
    peephole_lstm_cell(x, (h, c), W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co) -> (h, c)
    bidirectional(cell, x, state_fwd, state_bwd, params_fwd, params_bwd) -> (L, N, 2H)
    stacked_lstm(layer, x, (h_0, c_0), layer_params) -> (output, (h_n, c_n))  h_0 (K, N, H)
    lstm_param_count(input_size, hidden_size, num_layers, bias, bidirectional) -> int
"""

from .bidirectional import BIDIRECTIONAL_CHECK, check_bidirectional
from .given import GRU_CELL, LSTM_CELL, given_cell, given_layer
from .gru_cell import GRU_CELL_CHECK, check_gru_cell
from .lstm_param_count import PARAM_COUNT_CHECK, check_lstm_param_count, param_count_cases
from .peephole_lstm_cell import PEEPHOLE_CHECK, check_peephole_lstm_cell
from .stacked_lstm import STACKED_CHECK, check_stacked_lstm

__all__ = ["BIDIRECTIONAL_CHECK", "GRU_CELL", "GRU_CELL_CHECK", "LSTM_CELL",
           "PARAM_COUNT_CHECK", "PEEPHOLE_CHECK", "STACKED_CHECK", "check_bidirectional",
           "check_gru_cell", "check_lstm_param_count", "check_peephole_lstm_cell",
           "check_stacked_lstm", "given_cell", "given_layer", "param_count_cases"]  # fmt: skip
