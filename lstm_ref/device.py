"""The one place that picks the torch device the course runs on.

`default_device()` returns CUDA when it is available and the CPU otherwise. The
environment variable ``LSTM_REF_DEVICE`` overrides the choice (``cpu``, ``cuda``,
``cuda:1``, ...); an empty value counts as unset.

Example:
    >>> model = torch.nn.LSTM(4, 8).to(default_device())
    >>> next(model.parameters()).device.type in ("cpu", "cuda")
    True
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "LSTM_REF_DEVICE"
"""Name of the environment variable that overrides `default_device()`."""

_SUPPORTED_TYPES = ("cpu", "cuda")


def default_device() -> torch.device:
    """Return the device to run on: ``$LSTM_REF_DEVICE`` if set, else CUDA if present, else CPU.

    Raises:
        ValueError: ``LSTM_REF_DEVICE`` is not ``cpu``, ``cuda`` or ``cuda:<index>``,
            or names a CUDA device this machine does not have.
    """
    requested = os.environ.get(ENV_VAR, "").strip()
    if requested:
        return _parse_device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _parse_device(name: str) -> torch.device:
    """Turn ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"`` into a device that exists here."""
    expected = f"expected {ENV_VAR} to be 'cpu', 'cuda' or 'cuda:<index>', got {name!r}"
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(expected) from error
    if device.type not in _SUPPORTED_TYPES:
        raise ValueError(expected)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{ENV_VAR}={name!r} asks for CUDA, but CUDA is not available")
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"expected {ENV_VAR} device index < {count} (CUDA devices here), got {name!r}"
            )
    return device


def available_devices() -> list[torch.device]:
    """List the devices tests can loop over: the CPU, then CUDA when present."""
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    return devices
