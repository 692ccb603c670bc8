"""Input checks shared by the cells and layers: each error names what was expected."""

from __future__ import annotations

import torch
from torch import Tensor


def shape_str(shape) -> str:
    """``(2, 3, 4)`` for any shape-like, so messages read the same everywhere."""
    dims = tuple(shape)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def check_tensor(x, name: str, dims: tuple[int, ...], like: Tensor) -> None:
    """``x`` must be a floating tensor of ``like``'s dtype and device, with ``dims`` dims."""
    if not isinstance(x, Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"expected {name} to be a floating-point tensor ({like.dtype}), got {x.dtype}; "
            "convert it with .to(torch.float32) or .double()"
        )
    if x.dtype != like.dtype:
        raise TypeError(
            f"expected {name} of dtype {like.dtype} (the module's parameters), got {x.dtype}; "
            f"use module.to({like.dtype}) or {name}.to({like.dtype})"
        )
    if x.device != like.device:
        raise ValueError(f"expected {name} on {like.device} (the module's), got {x.device}")
    if x.dim() not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"expected {name} to be {want}, got shape {shape_str(x.shape)}")


def check_shape(x: Tensor, name: str, expected: tuple[int, ...], hint: str = "") -> None:
    """Raise ``ValueError('expected h_0 of shape (2, 3, 20), got (1, 3, 20)')`` on mismatch."""
    if tuple(x.shape) != tuple(expected):
        extra = f" {hint}" if hint else ""
        raise ValueError(
            f"expected {name} of shape {shape_str(expected)}, got {shape_str(x.shape)}{extra}"
        )


def zeros_state(like: Tensor, *shape: int) -> Tensor:
    """The default initial state: zeros with ``like``'s dtype and device."""
    return torch.zeros(shape, dtype=like.dtype, device=like.device)
