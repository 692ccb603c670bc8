"""The small models the experiments train and probe, and the initialisations they vary.

A `ReadoutModel` is one recurrent layer from :mod:`lstm_ref.nn` followed by a linear
read-out of its last output, the shape every sequence-to-one task here needs:

    h_0 … h_{L-1} = layer(x_0 … x_{L-1})         x: (L, N, I) -> (L, N, H)
    y = W_out h_{L-1} + b_out                     (N, H) -> (N, K)

Two initialisations are changed on purpose, never silently:

* `set_forget_bias` sets the LSTM's forget-gate bias. torch keeps two bias vectors,
  ``bias_ih`` and ``bias_hh``, and only their sum b_if + b_hf enters f_t, so the value
  goes into the forget block (rows H … 2H-1, gate order i, f, g, o) of ``bias_ih``
  and that block of ``bias_hh`` is zeroed.
* `set_spectral_radius` rescales an RNN's W_hh so that max |eigenvalue| = ρ.

Example:
    >>> model = ReadoutModel("LSTM", input_size=9, hidden_size=32, output_size=8)
    >>> model(torch.zeros(5, 4, 9)).shape
    torch.Size([4, 8])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lstm_ref.nn import GRU, LSTM, RNN, PeepholeLSTM
from lstm_ref.params import param_count

LAYERS = {"RNN": RNN, "GRU": GRU, "LSTM": LSTM}
"""The recurrent layers the experiments compare, by torch's mode name."""


class ReadoutModel(nn.Module):
    """A one-layer RNN, GRU or LSTM whose last output h_{L-1} feeds a linear layer.

    Args:
        mode: "RNN" (tanh), "GRU" or "LSTM".
        input_size: I, features per step.  hidden_size: H.  output_size: K.
        forget_bias: LSTM only; if given, passed to `set_forget_bias`.
        dtype: of the parameters (float32 by default; float64 for gradient curves).

    Shapes:
        x: (L, N, I), time-major.  Returns: (N, K).
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        forget_bias: float | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if mode not in LAYERS:
            raise ValueError(f"expected mode in {sorted(LAYERS)}, got {mode!r}")
        self.mode = mode
        self.recurrent = LAYERS[mode](input_size, hidden_size, dtype=dtype)
        self.readout = nn.Linear(hidden_size, output_size, dtype=dtype)
        if forget_bias is not None:
            set_forget_bias(self.recurrent, forget_bias)

    def forward(self, x: Tensor) -> Tensor:
        output = self.recurrent(x)[0]  # (L, N, H): h_t for every t
        return self.readout(output[-1])  # y = W_out h_{L-1} + b_out: (N, K)


@dataclass(frozen=True)
class ModelSpec:
    """A recurrent layer to compare: its name in figures, mode, size and forget bias."""

    label: str
    mode: str  # "RNN", "GRU" or "LSTM"
    hidden_size: int
    forget_bias: float | None = None  # LSTM only; None keeps torch's initialisation

    def build(self, input_size: int, output_size: int) -> ReadoutModel:
        """A fresh `ReadoutModel` (seed torch first for a repeatable initialisation)."""
        return ReadoutModel(
            self.mode, input_size, self.hidden_size, output_size, forget_bias=self.forget_bias
        )


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block on `count` torch threads, then restore the previous count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_thread() -> AbstractContextManager[None]:
    """Run the block on one torch thread, then restore the previous count.

    The models here are small, so a second thread costs more than it saves (and much
    more on a busy machine), and one thread makes runs repeat bit for bit.
    """
    return torch_threads(1)


@torch.no_grad()
def set_forget_bias(lstm: nn.Module, value: float) -> None:
    """Make b_if + b_hf = `value` in every unit, layer and direction of an LSTM.

    f_t = σ(W_if x_t + W_hf h_{t-1} + b_if + b_hf), so with small weights
    f_t ≈ σ(value): 0.5 for 0, 0.73 for 1, 0.95 for 3.
    """
    if not isinstance(lstm, (LSTM, PeepholeLSTM, nn.LSTM)):
        raise TypeError(f"expected an LSTM, got {type(lstm).__name__}")
    H = lstm.hidden_size
    for name, bias in lstm.named_parameters():
        if name.startswith("bias_ih"):
            bias[H : 2 * H] = value  # b_if: block 1 of (i, f, g, o)
        elif name.startswith("bias_hh"):
            bias[H : 2 * H] = 0.0  # b_hf: zero, so the sum is `value`


@torch.no_grad()
def set_spectral_radius(rnn: nn.Module, radius: float) -> None:
    """Rescale W_hh (``weight_hh_l0``) so that its largest |eigenvalue| is `radius`."""
    W_hh = rnn.weight_hh_l0  # (H, H) for a plain RNN
    current = torch.linalg.eigvals(W_hh).abs().max()
    W_hh.mul_(radius / current)


def spectral_radius(matrix: Tensor) -> float:
    """ρ(W) = max |λ_i(W)| of a square matrix."""
    return torch.linalg.eigvals(matrix.detach()).abs().max().item()


def matched_hidden_size(mode: str, input_size: int, budget: int) -> int:
    """The largest hidden size whose `mode` layer has at most `budget` parameters.

    Used to give an RNN or a GRU about as many parameters as a given LSTM.

    Example:
        >>> budget = param_count("LSTM", 2, 32)      # 4608
        >>> matched_hidden_size("RNN", 2, budget), matched_hidden_size("GRU", 2, budget)
        (65, 37)
    """
    hidden_size = 1
    while param_count(mode, input_size, hidden_size + 1) <= budget:
        hidden_size += 1
    return hidden_size
