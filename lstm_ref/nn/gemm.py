"""oneDNN's GEMM for the layers' float32 products on the CPU, where it pays.

Why oneDNN: on the CPU, torch's ``mm`` calls MKL, whose float32 GEMM on an AMD CPU runs
half as fast as oneDNN's, which ``torch.nn.LSTM`` itself uses. :func:`linear` is
``F.linear`` computed with oneDNN where it can be (float32 on the CPU) and pays (at least
``ONEDNN_MIN_MACS`` multiply-adds), and torch's own matrix product everywhere else (small
products, float64, CUDA, and a graph for double backward). The scans of
:mod:`lstm_ref.nn.fused` take their products from here too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils import flop_counter

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


if _ONEDNN and torch.ops.mkldnn._linear_pointwise not in flop_counter.flop_registry:

    @flop_counter.register_flop_formula(torch.ops.mkldnn._linear_pointwise)
    def _linear_pointwise_flops(x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
        """FLOPs of x Wᵀ (M, K)·(K, P): as torch counts ``mm``, so FlopCounterMode sees
        the LSTM's products on this path too, when they are large enough to take it."""
        return 2 * x_shape[0] * x_shape[1] * w_shape[0]


def _onednn_applies(x: Tensor) -> bool:
    """Whether oneDNN's GEMM can take x: float32, on the CPU, in a torch built with it."""
    return _ONEDNN and x.dtype == torch.float32 and x.device.type == "cpu"


ONEDNN_MIN_MACS = 1 << 22
"""Products of fewer multiply-adds (M·K·P) take torch's own GEMM: each oneDNN call costs
15–20 µs more before it starts, which small products (the recurrent step at H ≤ 64)
never win back; at M·K·P ≈ 2²² the two tie (benchmarks/README.md)."""


def _onednn_pays(a: Tensor, b: Tensor) -> bool:
    """Whether a bᵀ, a (..., K) and b (P, K), is worth oneDNN's GEMM (ONEDNN_MIN_MACS)."""
    return _onednn_applies(a) and a.numel() * b.shape[0] >= ONEDNN_MIN_MACS


def matmul_t(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """a bᵀ + bias for 2-d a (M, K), b (P, K): oneDNN's GEMM where it applies and pays.

    oneDNN reads b in place whether it is contiguous or the transpose of a contiguous
    matrix (``W.t()``); a non-contiguous a is first copied.
    """
    if _onednn_pays(a, b) and not torch.is_grad_enabled():  # the op has no autograd
        return torch.ops.mkldnn._linear_pointwise(a, b, bias, "none", [], "")
    return F.linear(a, b, bias)  # small, float64, CUDA, or building a graph (double backward)


def weight_grad(dy: Tensor, x: Tensor) -> Tensor:
    """dyᵀ x for dy (M, P), x (M, K) -> (P, K): the gradient of W in y = x Wᵀ, summed over M.

    Computed as (xᵀ dy)ᵀ so that only x, the narrower of the two here, is copied into
    the layout oneDNN wants and dy is read transposed in place; copying dyᵀ instead
    doubled the time of the input projection's gradient (benchmarks/README.md).
    """
    return matmul_t(x.t().contiguous(), dy.t()).t()  # (K, P) -> (P, K), a view


def linear_grads(dy: Tensor, x: Tensor, W: Tensor, need_x: bool, need_W: bool, need_b: bool):
    """The backward of y = x Wᵀ + b for 2-d x (M, I) and dy (M, O), each part only if needed:
    dx = dy W (M, I), dW = dyᵀ x (O, I), db = Σ dy (O,)."""
    dx = matmul_t(dy, W.t()) if need_x else None
    dW = weight_grad(dy, x) if need_W else None
    db = dy.sum(0) if need_b else None
    return dx, dW, db


class _Linear(torch.autograd.Function):
    """y = x Wᵀ + b, with the backward written out: dx = dy W, dW = dyᵀ x, db = Σ dy."""

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, W)
        y = matmul_t(x.reshape(-1, x.shape[-1]), W, b)  # (M, I) -> (M, O), M = prod(lead)
        return y.view(*x.shape[:-1], W.shape[0])

    @staticmethod
    def backward(ctx, dy: Tensor):
        x, W = ctx.saved_tensors
        x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])  # (M, I), (M, O)
        dx, dW, db = linear_grads(dy2, x2, W, *ctx.needs_input_grad)  # no b: need_b False
        return (dx.view(x.shape) if dx is not None else None), dW, db


def linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """``F.linear(x, W, b)``, with oneDNN's GEMM for large float32 products on the CPU."""
    if _onednn_pays(x, W):
        return _Linear.apply(x, W, b)
    return F.linear(x, W, b)
