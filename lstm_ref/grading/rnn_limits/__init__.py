"""Chapter 1's exercises: an RNN step, and the vanishing gradient measured.

    rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next          x (N, I), h (N, H)
    jacobian_norms(W_hh, pre_activations) -> norms (T,)       W_hh (H, H), a (T, H)
"""

from .jacobian_norms import JACOBIAN_NORMS, check_jacobian_norms
from .rnn_step import RNN_STEP, check_rnn_step

__all__ = ["JACOBIAN_NORMS", "RNN_STEP", "check_jacobian_norms", "check_rnn_step"]
