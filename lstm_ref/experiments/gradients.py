"""Gradient curves: how strongly the input k steps back reaches the last output.

For a freshly initialised recurrent layer (float64, so tiny values do not underflow)
and a random input x ~ N(0, 1) of shape (L, N, I), `lag_curves` measures

    curve[k] = ‖∂loss/∂x_{L-1-k}‖,    loss = Σ_n ⟨h_{L-1}[n], v⟩,   k = 0 … L-1

with :func:`lstm_ref.gradflow.input_gradient_norms` (v: a fixed random unit vector,
the norm a root-mean-square over the batch), once per seed. `relative` divides by
curve[0], so every curve starts at 1 and its value at lag k reads "this fraction of
the gradient survives k steps back".

Example:
    >>> curves = lag_curves(layer_factory("LSTM", 8), seeds=[0, 1], seq_len=20)
    >>> relative(curves).shape, relative(curves)[:, 0].tolist()
    (torch.Size([2, 20]), [1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from lstm_ref.experiments.models import (
    LAYERS,
    matched_hidden_size,
    set_forget_bias,
    set_spectral_radius,
    single_thread,
)
from lstm_ref.gradflow import seeded_input_gradient_norms
from lstm_ref.params import param_count

ModuleFactory = Callable[[], nn.Module]

CURVE_LENGTH = 101
"""Steps of the random input sequences: lags 0 … 100."""
RNN_RADII = (0.5, 0.9, 1.5, 2.5)
"""Spectral radii of W_hh whose gradient curves chapter 1 compares."""
FORGET_BIASES = (0.0, 1.0, 2.0, 3.0)
"""Forget-gate biases whose gradient curves chapter 4 compares."""


def layer_factory(
    mode: str, hidden_size: int, input_size: int = 1, *, forget_bias: float | None = None
) -> ModuleFactory:
    """A function building a float64 RNN, GRU or LSTM layer with torch's initialisation.

    With `forget_bias` (LSTM only) the forget-gate bias is then set by `set_forget_bias`.
    """
    if mode not in LAYERS:
        raise ValueError(f"expected mode in {sorted(LAYERS)}, got {mode!r}")

    def build() -> nn.Module:
        layer = LAYERS[mode](input_size, hidden_size, dtype=torch.float64)
        if forget_bias is not None:
            set_forget_bias(layer, forget_bias)
        return layer

    return build


def matched_layers(lstm_hidden: int = 32, input_size: int = 1) -> dict[str, ModuleFactory]:
    """RNN, GRU and LSTM factories with torch's initialisation and about equal sizes.

    The LSTM has `lstm_hidden` units; the RNN and the GRU get the largest hidden size
    whose parameter count does not exceed the LSTM's.
    """
    budget = param_count("LSTM", input_size, lstm_hidden)
    sizes = {mode: matched_hidden_size(mode, input_size, budget) for mode in ("RNN", "GRU")}
    sizes["LSTM"] = lstm_hidden
    return {mode: layer_factory(mode, size, input_size) for mode, size in sizes.items()}


def scaled_lstm_factory(
    scale: float, hidden_size: int = 32, input_size: int = 1, *, forget_bias: float = 0.0
) -> ModuleFactory:
    """A float64 LSTM whose recurrent weights W_hh (all four blocks) are multiplied by `scale`."""

    def build() -> nn.Module:
        layer = LAYERS["LSTM"](input_size, hidden_size, dtype=torch.float64)
        set_forget_bias(layer, forget_bias)
        with torch.no_grad():
            layer.weight_hh_l0.mul_(scale)
        return layer

    return build


def rnn_factory(radius: float, hidden_size: int = 64, input_size: int = 1) -> ModuleFactory:
    """A function building a float64 tanh RNN whose W_hh has spectral radius `radius`."""

    def build() -> nn.Module:
        layer = LAYERS["RNN"](input_size, hidden_size, dtype=torch.float64)
        set_spectral_radius(layer, radius)
        return layer

    return build


def lag_curves(
    make_layer: ModuleFactory,
    *,
    seeds: Sequence[int],
    seq_len: int,
    input_size: int = 1,
    batch_size: int = 16,
) -> Tensor:
    """‖∂loss/∂x_{L-1-k}‖ for every lag k, one row per seed (layer and input both seeded).

    Args:
        make_layer: builds the layer, e.g. ``layer_factory("GRU", 37)``.
        seeds: one curve per seed; the seed fixes the weights and the input.
        seq_len: L.  input_size: I, as the layer expects.  batch_size: N.

    Shapes:
        Returns: (S, L) float64, column k = lag k (column 0: the last step).
    """

    def make_input() -> Tensor:
        return torch.randn(seq_len, batch_size, input_size, dtype=torch.float64)

    with single_thread():
        by_time = seeded_input_gradient_norms(make_layer, make_input, seeds)  # (S, L): t
    return by_time.flip(-1)  # index k = L-1-t


def relative(curves: Tensor) -> Tensor:
    """Divide each curve by its value at lag 0.  Shapes: (..., L) -> (..., L)."""
    return curves / curves[..., :1]


def forget_bias_curves(
    biases: Sequence[float],
    *,
    hidden_size: int,
    seeds: Sequence[int],
    seq_len: int,
    input_size: int = 1,
) -> Tensor:
    """`relative` lag curves of LSTMs whose forget-gate bias is each of `biases`.

    Shapes:
        Returns: (B, S, L) for B = len(biases), S = len(seeds).
    """
    curves = [
        lag_curves(
            layer_factory("LSTM", hidden_size, input_size, forget_bias=bias),
            seeds=seeds,
            seq_len=seq_len,
            input_size=input_size,
        )
        for bias in biases
    ]
    return relative(torch.stack(curves))


def geometric_mean(values: Tensor, dim: int = 0) -> Tensor:
    """exp(mean(log values)): the average of quantities that span many decades."""
    return values.log().mean(dim).exp()
