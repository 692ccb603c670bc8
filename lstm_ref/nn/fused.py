"""The fast path of the layers: the LSTM's backward written out, and oneDNN's GEMM.

:func:`lstm_ref.nn.functional.lstm_step` is the readable reference; autograd takes its
backward through a dozen nodes per step. :func:`lstm_scan` runs the same step over a whole
sequence as one ``torch.autograd.Function`` whose backward is the LSTM's backward through
time written out (:func:`lstm_step_backward`), one line per equation.

Why oneDNN: on the CPU, torch's ``mm`` calls MKL, whose float32 GEMM on an AMD CPU runs
half as fast as oneDNN's, which ``torch.nn.LSTM`` itself uses. :func:`linear` is
``F.linear`` computed with oneDNN where it can be (float32 on the CPU) and torch's own
matrix product everywhere else (float64, CUDA, and a graph for double backward).

Symbols: L steps, N batch, H hidden size; gate blocks (i, f, g, o) as in torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils import flop_counter

from .functional import lstm_step

# The derivatives from the output y, as autograd computes them; grad_input=out writes there.
sigmoid_backward = torch.ops.aten.sigmoid_backward  # (grad, y) -> grad·y(1 − y), y = σ(a)
tanh_backward = torch.ops.aten.tanh_backward  # (grad, y) -> grad·(1 − y²), y = tanh(a)

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


if _ONEDNN and torch.ops.mkldnn._linear_pointwise not in flop_counter.flop_registry:

    @flop_counter.register_flop_formula(torch.ops.mkldnn._linear_pointwise)
    def _linear_pointwise_flops(x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
        """FLOPs of x Wᵀ (M, K)·(K, P): as torch counts ``mm``, so FlopCounterMode sees
        the LSTM's products on this path too (chapter 3 counts them)."""
        return 2 * x_shape[0] * x_shape[1] * w_shape[0]


def _onednn_applies(x: Tensor) -> bool:
    """Whether oneDNN's GEMM can take x: float32, on the CPU, in a torch built with it."""
    return _ONEDNN and x.dtype == torch.float32 and x.device.type == "cpu"


def _matmul_t(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """a bᵀ + bias for 2-d a (M, K), b (P, K): oneDNN's GEMM where it applies.

    oneDNN reads b in place whether it is contiguous or the transpose of a contiguous
    matrix (``W.t()``); a non-contiguous a is first copied.
    """
    if _onednn_applies(a) and not torch.is_grad_enabled():  # the op has no autograd
        return torch.ops.mkldnn._linear_pointwise(a, b, bias, "none", [], "")
    return F.linear(a, b, bias)  # float64, CUDA, or building a graph (double backward)


def _weight_grad(dy: Tensor, x: Tensor) -> Tensor:
    """dyᵀ x for dy (M, P), x (M, K) -> (P, K): the gradient of W in y = x Wᵀ, summed over M.

    Computed as (xᵀ dy)ᵀ so that only x, the narrower of the two here, is copied into
    the layout oneDNN wants and dy is read transposed in place; copying dyᵀ instead
    doubled the time of the input projection's gradient (benchmarks/README.md).
    """
    return _matmul_t(x.t().contiguous(), dy.t()).t()  # (K, P) -> (P, K), a view


class _Linear(torch.autograd.Function):
    """y = x Wᵀ + b, with the backward written out: dx = dy W, dW = dyᵀ x, db = Σ dy."""

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, W)
        ctx.has_bias = b is not None
        y = _matmul_t(x.reshape(-1, x.shape[-1]), W, b)  # (M, I) -> (M, O), M = prod(lead)
        return y.view(*x.shape[:-1], W.shape[0])

    @staticmethod
    def backward(ctx, dy: Tensor):
        x, W = ctx.saved_tensors
        x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])  # (M, I), (M, O)
        dx = _matmul_t(dy2, W.t()).view(x.shape) if ctx.needs_input_grad[0] else None  # dy W
        dW = _weight_grad(dy2, x2) if ctx.needs_input_grad[1] else None  # dyᵀ x
        db = dy2.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None  # Σ dy
        return dx, dW, db


def linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """``F.linear(x, W, b)``, with oneDNN's GEMM for float32 on the CPU."""
    if _onednn_applies(x):
        return _Linear.apply(x, W, b)
    return F.linear(x, W, b)


def lstm_step_forward(gates: Tensor, c_prev: Tensor, c: Tensor, tanh_c: Tensor, h: Tensor):
    """One LSTM step from its pre-activations, in place: what the backward needs is kept.

    ``gates`` (N, 4H) turns into the activations (i, f, g, o); ``c``, ``tanh_c`` and
    ``h`` (N, H) are filled with c_t, tanh(c_t) and h_t.
    """
    i, f, g, o = gates.chunk(4, dim=-1)  # views, each (N, H)
    i.sigmoid_(), f.sigmoid_(), g.tanh_(), o.sigmoid_()  # i, f, o = σ(·); g = tanh(·)
    torch.mul(f, c_prev, out=c).add_(i * g)  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    torch.tanh(c, out=tanh_c)
    torch.mul(o, tanh_c, out=h)  # h_t = o_t ⊙ tanh(c_t)


def lstm_step_backward(dh, dc, gates, c_prev, tanh_c, d_gates) -> Tensor:
    """The backward of one step: from dh = ∂ℓ/∂h_t and dc = ∂ℓ/∂c_t (through c_{t+1}).

    Writes ∂ℓ/∂(pre-activations) into ``d_gates`` (N, 4H) and returns ∂ℓ/∂c_{t-1};
    ``gates`` holds the activations (i, f, g, o) that :func:`lstm_step_forward` left.
    ``sigmoid_backward(grad, y)`` is grad·y(1 − y) and ``tanh_backward(grad, y)`` is
    grad·(1 − y²), for y = σ(a) or tanh(a): the derivative in terms of the output, each
    one ATen kernel (the ones autograd itself calls) instead of three.
    """
    i, f, g, o = gates.chunk(4, dim=-1)
    di, df, dg, do = d_gates.chunk(4, dim=-1)
    dc = dc + tanh_backward(dh * o, tanh_c)  # dc = dc_next + dh·o·(1 − tanh²c)
    sigmoid_backward(dc * g, i, grad_input=di)  # di = dc·g·i(1 − i)
    sigmoid_backward(dc * c_prev, f, grad_input=df)  # df = dc·c_prev·f(1 − f)
    tanh_backward(dc * i, g, grad_input=dg)  # dg = dc·i(1 − g²)
    sigmoid_backward(dh * tanh_c, o, grad_input=do)  # do = dh·tanh(c)·o(1 − o)
    return dc * f  # dc_prev = dc·f


class _LSTMScan(torch.autograd.Function):
    """The LSTM over a sequence, forward and backward through time; see :func:`lstm_scan`."""

    @staticmethod
    def forward(ctx, x_proj, h_0, c_0, W_hh, b_hh):
        L, N, G = x_proj.shape
        H = G // 4
        gates = x_proj.new_empty(L, N, G)  # pre-activations, then activations (i, f, g, o)
        h, c = x_proj.new_empty(L + 1, N, H), x_proj.new_empty(L + 1, N, H)  # h[t + 1] = h_t
        tanh_c = x_proj.new_empty(L, N, H)
        h[0], c[0] = h_0, c_0
        for t in range(L):
            torch.add(x_proj[t], _matmul_t(h[t], W_hh, b_hh), out=gates[t])  # (N, 4H)
            lstm_step_forward(gates[t], c[t], c[t + 1], tanh_c[t], h[t + 1])
        output = h[1:]  # (L, N, H)
        ctx.save_for_backward(x_proj, h_0, c_0, W_hh, b_hh, output)
        ctx.buffers = gates, h, c, tanh_c
        return output, h[L].clone(), c[L].clone()

    @staticmethod
    def backward(ctx, d_output, dh_n, dc_n):
        x_proj, h_0, c_0, W_hh, b_hh, _ = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate the plain steps
            return _plain_backward((x_proj, h_0, c_0, W_hh, b_hh), (d_output, dh_n, dc_n))
        gates, h, c, tanh_c = ctx.buffers
        L, N, G = gates.shape
        d_gates = torch.empty_like(gates)  # (L, N, 4H): ∂ℓ/∂x_proj, step by step
        dh, dc = dh_n, dc_n
        for t in range(L - 1, -1, -1):
            dh = dh + d_output[t]  # h_t feeds the output and step t + 1
            dc = lstm_step_backward(dh, dc, gates[t], c[t], tanh_c[t], d_gates[t])
            if t > 0 or ctx.needs_input_grad[1]:  # no product for an h_0 that needs none
                dh = _matmul_t(d_gates[t], W_hh.t())  # dh_{t-1} = d_gates W_hh
        # ∂ℓ/∂W_hh = Σ_t d_gates_tᵀ h_{t-1}: one (4H × LN)(LN × H) product after the loop
        dW_hh = _weight_grad(d_gates.view(L * N, G), h[:-1].reshape(L * N, -1))
        db_hh = d_gates.sum((0, 1)) if b_hh is not None else None
        dh_0 = dh if ctx.needs_input_grad[1] else None
        return d_gates, dh_0, dc, dW_hh, db_hh


def _plain_backward(inputs, grad_outputs):
    """The gradients of :func:`lstm_scan` through autograd of the plain steps."""
    x_proj, h_0, c_0, W_hh, b_hh = inputs
    with torch.enable_grad():
        state, outputs = (h_0, c_0), []
        for x_t in x_proj.unbind(0):
            state = lstm_step(x_t, state, W_hh, b_hh)
            outputs.append(state[0])
        results = (torch.stack(outputs), *state)
        wanted = [x for x in inputs if x is not None and x.requires_grad]
        grads = iter(torch.autograd.grad(results, wanted, grad_outputs, create_graph=True))
    return tuple(next(grads) if x is not None and x.requires_grad else None for x in inputs)


def lstm_scan(x_proj: Tensor, state: tuple[Tensor, Tensor], W_hh: Tensor, b_hh: Tensor | None):
    """``scan(lstm_step, x_proj, state, (W_hh, b_hh))`` as one autograd node.

    Same results as the loop of :func:`lstm_ref.nn.functional.lstm_step` (to rounding),
    with the backward of :func:`lstm_step_backward`, and ∂ℓ/∂W_hh as one product at the end.
    Returns the outputs (L, N, H) and the final state (h_L, c_L).
    """
    output, h, c = _LSTMScan.apply(x_proj, *state, W_hh, b_hh)
    return output, (h, c)
