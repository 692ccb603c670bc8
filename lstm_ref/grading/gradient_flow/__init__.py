"""Chapter 4's exercises: BPTT through an LSTM by hand, the forget bias and its effect.

    lstm_bptt(d_out, dh_n, dc_n, caches) -> dx, dh0, dc0, grads      NumPy, from scratch
    init_forget_bias(lstm, value) -> None                  torch.nn.LSTM or lstm_ref.nn.LSTM
    first_step_gradient(forget_bias, length, seeds) -> float    ‖∂loss/∂x_0‖, seed mean
"""

from .first_step_gradient import FIRST_STEP_GRADIENT, check_first_step_gradient, first_step_variant
from .init_forget_bias import (
    INIT_FORGET_BIAS,
    Module,
    check_init_forget_bias,
    forget_bias_cases,
    forget_bias_variant,
    init_forget_bias_reference,
)
from .lstm_bptt import LSTM_BPTT, bptt_cases, bptt_variant, check_lstm_bptt

__all__ = ["FIRST_STEP_GRADIENT", "INIT_FORGET_BIAS", "LSTM_BPTT", "Module", "bptt_cases",
           "bptt_variant", "check_first_step_gradient", "check_init_forget_bias",
           "check_lstm_bptt", "first_step_variant", "forget_bias_cases", "forget_bias_variant",
           "init_forget_bias_reference"]  # fmt: skip
