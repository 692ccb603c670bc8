"""Recurrent networks in PyTorch: drop-in twins of torch.nn's, plus what torch lacks.

>>> from lstm_ref.nn import RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell
"""

from .attention import AdditiveAttention, DotAttention
from .cells import GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell
from .layers import GRU, LSTM, RNN, PeepholeLSTM
from .seq2seq import Decoder, Encoder, Seq2Seq

__all__ = [
    "RNN", "LSTM", "GRU", "PeepholeLSTM",
    "RNNCell", "LSTMCell", "GRUCell", "PeepholeLSTMCell",
    "Encoder", "Decoder", "Seq2Seq", "DotAttention", "AdditiveAttention",
]  # fmt: skip
