"""A noisy multi-seasonal time series with injected anomalies, and forecasting windows.

Each of the N series is a sum of sinusoids with random phases φ_k, a linear trend
and Gaussian noise:

    clean_t = Σ_k a_k · sin(2π t / p_k + φ_k) + trend · t + σ · ε_t,   ε_t ~ N(0, 1)

Anomalies start at each step independently with probability `anomaly_rate`; half are
spikes (one step, ± spike_size · U[0.5, 1.5]) and half level shifts (± shift_size ·
U[0.5, 1.5] held for `shift_length` steps, cut at the end). `values` is clean plus
the anomalies, and `anomalies` is True on every step an anomaly covers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from lstm_ref.tasks._common import Device, cpu_generator, require_at_least


class SeriesBatch(NamedTuple):
    """N series of length L, time-major."""

    values: Tensor  # (L, N): the series with anomalies
    clean: Tensor  # (L, N): the same series without them (noise included)
    anomalies: Tensor  # (L, N) bool: True where a spike or a level shift is active


def seasonal_series(
    length: int,
    *,
    seed: int,
    batch_size: int = 1,
    periods: Sequence[float] = (24.0, 168.0),
    amplitudes: Sequence[float] = (1.0, 0.5),
    trend: float = 0.0,
    noise_std: float = 0.1,
    anomaly_rate: float = 0.0,
    spike_size: float = 3.0,
    shift_size: float = 1.5,
    shift_length: int = 10,
    device: Device = None,
    dtype: torch.dtype = torch.float32,
) -> SeriesBatch:
    """Draw N series of `length` steps; see the module docstring for the model.

    Args:
        length: L, the number of steps.
        seed: the same seed gives the same series, on any device.
        batch_size: N, the number of independent series.
        periods, amplitudes: p_k and a_k of the seasonal terms, one of each per term.
        trend: slope per step.  noise_std: σ.
        anomaly_rate: probability that an anomaly starts at a given step, in [0, 1].
        spike_size, shift_size, shift_length: sizes of the anomalies.

    Shapes:
        values, clean, anomalies: (L, N), time-major.
    """
    require_at_least("length", length, 1)
    require_at_least("batch_size", batch_size, 1)
    require_at_least("shift_length", shift_length, 1)
    if len(periods) != len(amplitudes):
        raise ValueError(
            f"expected one amplitude per period, got {len(periods)} periods "
            f"and {len(amplitudes)} amplitudes"
        )
    if not 0.0 <= anomaly_rate <= 1.0:
        raise ValueError(f"expected anomaly_rate in [0, 1], got {anomaly_rate}")
    generator = cpu_generator(seed)
    t = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (L, 1)
    clean = trend * t + noise_std * torch.randn(length, batch_size, generator=generator)
    for period, amplitude in zip(periods, amplitudes, strict=True):
        phase = 2 * math.pi * torch.rand(batch_size, generator=generator)  # φ_k: (N,)
        clean = clean + amplitude * torch.sin(2 * math.pi * t / period + phase)
    clean = clean.to(dtype)
    offset, anomalies = _anomalies(
        clean.shape, anomaly_rate, spike_size, shift_size, shift_length, generator
    )
    values = clean + offset.to(dtype)  # offset is exactly 0 where anomalies is False
    return SeriesBatch(values.to(device), clean.to(device), anomalies.to(device))


def _anomalies(shape, rate, spike_size, shift_size, shift_length, generator):
    """Return the anomaly offsets (L, N) and the steps they cover (L, N) bool."""
    length = shape[0]
    starts = torch.rand(shape, generator=generator) < rate  # (L, N)
    is_spike = torch.rand(shape, generator=generator) < 0.5
    spikes, shifts = starts & is_spike, starts & ~is_spike
    sign = torch.randint(0, 2, shape, generator=generator) * 2 - 1  # ±1
    size = torch.where(is_spike, spike_size, shift_size)
    jump = sign * size * (0.5 + torch.rand(shape, generator=generator))  # ±size·U[0.5, 1.5]
    offset = torch.where(spikes, jump, 0.0)  # a spike covers one step
    covered = spikes.clone()
    shift_jump = torch.where(shifts, jump, 0.0)
    for lag in range(min(shift_length, length)):  # a shift covers shift_length steps
        offset[lag:] += shift_jump[: length - lag]
        covered[lag:] |= shifts[: length - lag]
    return offset, covered


def make_windows(series: Tensor, window: int, horizon: int = 1) -> tuple[Tensor, Tensor]:
    """Cut series into (input window, value `horizon` steps after it) forecasting pairs.

    Window b covers steps s … s + W - 1 of series n and its target is step
    s + W - 1 + horizon, with b = s · N + n.

    Shapes:
        series: (L,) or (L, N).  Returns inputs (W, B, 1), time-major, and targets
        (B, 1), for B = N · (L - W - horizon + 1).
    """
    if series.dim() == 1:
        series = series.unsqueeze(1)  # (L,) -> (L, 1)
    if series.dim() != 2:
        raise ValueError(f"expected series of shape (L,) or (L, N), got {tuple(series.shape)}")
    require_at_least("window", window, 1)
    require_at_least("horizon", horizon, 1)
    span = window + horizon
    require_at_least("series length", series.shape[0], span)
    pieces = series.unfold(0, span, 1)  # (L - span + 1, N, span)
    pieces = pieces.reshape(-1, span)  # (B, span), b = s·N + n
    inputs = pieces[:, :window].T.unsqueeze(-1)  # (W, B, 1)
    targets = pieces[:, -1:]  # (B, 1)
    return inputs.contiguous(), targets.contiguous()
