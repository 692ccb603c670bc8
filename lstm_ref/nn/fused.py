"""The fast path of the layers: the LSTM's backward written out, and oneDNN's GEMM.

:func:`lstm_ref.nn.functional.lstm_step` is the readable reference; autograd takes its
backward through a dozen nodes per step. :func:`lstm_scan` runs the same step over a whole
sequence as one ``torch.autograd.Function`` whose backward is the LSTM's backward through
time written out (:func:`lstm_step_backward`), one line per equation (two for δc_t).

Why oneDNN: on the CPU, torch's ``mm`` calls MKL, whose float32 GEMM on an AMD CPU runs
half as fast as oneDNN's, which ``torch.nn.LSTM`` itself uses. :func:`linear` is
``F.linear`` computed with oneDNN where it can be (float32 on the CPU) and pays (at least
``ONEDNN_MIN_MACS`` multiply-adds), and torch's own matrix product everywhere else (small
products, float64, CUDA, and a graph for double backward).

Symbols: L steps, N batch, H hidden size; gate blocks (i, f, g, o) as in torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils import flop_counter

from .functional import lstm_step

# The derivatives from the output y, as autograd computes them, written into grad_input=.
# Their overloads are looked up once, here: through torch.ops.aten.sigmoid_backward(...,
# grad_input=) each call looked its overload up again and took 8.7 µs, against 3.2 µs for
# the overload itself, longer than the kernel at H = 32 (benchmarks/README.md).
sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # grad·y(1 − y), y = σ(a)
tanh_backward = torch.ops.aten.tanh_backward.grad_input  # grad·(1 − y²), y = tanh(a)

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


def _matmul_t(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """a bᵀ + bias for 2-d a (M, K), b (P, K): oneDNN's GEMM where it applies and pays.

    oneDNN reads b in place whether it is contiguous or the transpose of a contiguous
    matrix (``W.t()``); a non-contiguous a is first copied.
    """
    if _onednn_pays(a, b) and not torch.is_grad_enabled():  # the op has no autograd
        return torch.ops.mkldnn._linear_pointwise(a, b, bias, "none", [], "")
    return F.linear(a, b, bias)  # small, float64, CUDA, or building a graph (double backward)


def _weight_grad(dy: Tensor, x: Tensor) -> Tensor:
    """dyᵀ x for dy (M, P), x (M, K) -> (P, K): the gradient of W in y = x Wᵀ, summed over M.

    Computed as (xᵀ dy)ᵀ so that only x, the narrower of the two here, is copied into
    the layout oneDNN wants and dy is read transposed in place; copying dyᵀ instead
    doubled the time of the input projection's gradient (benchmarks/README.md).
    """
    return _matmul_t(x.t().contiguous(), dy.t()).t()  # (K, P) -> (P, K), a view


def _linear_grads(dy: Tensor, x: Tensor, W: Tensor, need_x: bool, need_W: bool, need_b: bool):
    """The backward of y = x Wᵀ + b for 2-d x (M, I) and dy (M, O), each part only if needed:
    dx = dy W (M, I), dW = dyᵀ x (O, I), db = Σ dy (O,)."""
    dx = _matmul_t(dy, W.t()) if need_x else None
    dW = _weight_grad(dy, x) if need_W else None
    db = dy.sum(0) if need_b else None
    return dx, dW, db


class _Linear(torch.autograd.Function):
    """y = x Wᵀ + b, with the backward written out: dx = dy W, dW = dyᵀ x, db = Σ dy."""

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, W)
        y = _matmul_t(x.reshape(-1, x.shape[-1]), W, b)  # (M, I) -> (M, O), M = prod(lead)
        return y.view(*x.shape[:-1], W.shape[0])

    @staticmethod
    def backward(ctx, dy: Tensor):
        x, W = ctx.saved_tensors
        x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])  # (M, I), (M, O)
        dx, dW, db = _linear_grads(dy2, x2, W, *ctx.needs_input_grad)  # no b: need_b False
        return (dx.view(x.shape) if dx is not None else None), dW, db


def linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """``F.linear(x, W, b)``, with oneDNN's GEMM for large float32 products on the CPU."""
    if _onednn_pays(x, W):
        return _Linear.apply(x, W, b)
    return F.linear(x, W, b)


def lstm_step_forward(gates: Tensor, c_prev: Tensor, c: Tensor, tanh_c: Tensor, h: Tensor):
    """One LSTM step from its pre-activations, in place: what the backward needs is kept.

    ``gates`` (N, 4H) turns into the activations (i, f, g, o); ``c``, ``tanh_c`` and
    ``h`` (N, H) are filled with c_t, tanh(c_t) and h_t, with the same kernels as
    :func:`lstm_ref.nn.functional.lstm_step`, so the forward is that step's, bit for bit
    (faster forms of tanh change the last bit: benchmarks/README.md).
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
    ``sigmoid_backward(grad, y, grad_input=out)`` writes grad·y(1 − y) into out and
    ``tanh_backward`` grad·(1 − y²), for y = σ(a) or tanh(a): the derivative in terms of
    the output, each one ATen kernel (the ones autograd itself calls) instead of three.
    """
    i, f, g, o = gates.chunk(4, dim=-1)
    di, df, dg, do = d_gates.chunk(4, dim=-1)
    d_tanh_c = dh * o  # ∂ℓ/∂tanh(c_t) = dh·o, turned in place into ∂ℓ/∂c_t's share:
    dc = dc + tanh_backward(d_tanh_c, tanh_c, grad_input=d_tanh_c)  # dc_next + dh·o(1 − tanh²c)
    sigmoid_backward(dc * g, i, grad_input=di)  # di = dc·g·i(1 − i)
    sigmoid_backward(dc * c_prev, f, grad_input=df)  # df = dc·c_prev·f(1 − f)
    tanh_backward(dc * i, g, grad_input=dg)  # dg = dc·i(1 − g²)
    sigmoid_backward(dh * tanh_c, o, grad_input=do)  # do = dh·tanh(c)·o(1 − o)
    return dc * f  # dc_prev = dc·f


class _LSTMScan(torch.autograd.Function):
    """The LSTM over a sequence, forward and backward through time; see :func:`lstm_scan`."""

    @staticmethod
    def forward(ctx, x, h_0, c_0, W_ih, W_hh, b_ih, b_hh):
        L, N, _ = x.shape
        G, H = W_ih.shape[0], W_hh.shape[1]
        # x_t W_ihᵀ + b_ih for every t in one product, written where the gates will be
        gates = _matmul_t(x.reshape(L * N, -1), W_ih, b_ih).view(L, N, G)
        h, c = x.new_empty(L + 1, N, H), x.new_empty(L + 1, N, H)  # h[t + 1] = h_t
        tanh_c = x.new_empty(L, N, H)
        h[0], c[0] = h_0, c_0
        # a_[t] is gates[t], h_[t] is h[t], ...: every step's views made in one call each
        a_, h_, c_, tanh_c_ = gates.unbind(0), h.unbind(0), c.unbind(0), tanh_c.unbind(0)
        for t in range(L):  # a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh
            a_[t].add_(_matmul_t(h_[t], W_hh, b_hh))
            lstm_step_forward(a_[t], c_[t], c_[t + 1], tanh_c_[t], h_[t + 1])
        output = h[1:]  # (L, N, H)
        ctx.save_for_backward(x, h_0, c_0, W_ih, W_hh, b_ih, b_hh, output)
        ctx.buffers = gates, h, c, tanh_c
        return output, h[L].clone(), c[L].clone()

    @staticmethod
    def backward(ctx, d_output, dh_n, dc_n):
        inputs = ctx.saved_tensors[:-1]  # x, h_0, c_0, W_ih, W_hh, b_ih, b_hh
        if torch.is_grad_enabled():  # create_graph=True: differentiate the plain steps
            return _plain_backward(inputs, (d_output, dh_n, dc_n))
        x, _, _, W_ih, W_hh, _, _ = inputs
        gates, h, c, tanh_c = ctx.buffers
        L, N, G = gates.shape
        d_gates = torch.empty_like(gates)  # (L, N, 4H): ∂ℓ/∂a_t, step by step
        dh, dc = dh_n, dc_n
        a_, c_, tanh_c_, d_a_ = gates.unbind(0), c.unbind(0), tanh_c.unbind(0), d_gates.unbind(0)
        d_output_, W_hh_t = d_output.unbind(0), W_hh.t()
        for t in range(L - 1, -1, -1):
            dh = dh + d_output_[t]  # h_t feeds the output and step t + 1
            dc = lstm_step_backward(dh, dc, a_[t], c_[t], tanh_c_[t], d_a_[t])
            if t > 0 or ctx.needs_input_grad[1]:  # no product for an h_0 that needs none
                dh = _matmul_t(d_a_[t], W_hh_t)  # dh_{t-1} = d_gates W_hh
        # The rest sums over time: one (4H × LN) product each, after the loop.
        # a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh: two linear maps with one gradient d_a
        need_x, need_h0, _, need_W_ih, need_W_hh, need_b_ih, need_b_hh = ctx.needs_input_grad
        d_a = d_gates.view(L * N, G)  # ∂ℓ/∂a_t, a row for every (t, n)
        dx, dW_ih, db = _linear_grads(d_a, x.reshape(L * N, -1), W_ih, need_x, need_W_ih,
                                      need_b_ih or need_b_hh)  # fmt: skip
        dW_hh = _weight_grad(d_a, h[:-1].reshape(L * N, -1)) if need_W_hh else None
        return (dx.view(x.shape) if need_x else None, dh if need_h0 else None, dc, dW_ih,
                dW_hh, db if need_b_ih else None, db if need_b_hh else None)  # fmt: skip


def _plain_backward(inputs, grad_outputs):
    """The gradients of :func:`lstm_scan` through autograd of the plain steps."""
    x, h_0, c_0, W_ih, W_hh, b_ih, b_hh = inputs
    with torch.enable_grad():
        state, outputs = (h_0, c_0), []
        for x_t in F.linear(x, W_ih, b_ih).unbind(0):
            state = lstm_step(x_t, state, W_hh, b_hh)
            outputs.append(state[0])
        results = (torch.stack(outputs), *state)
        wanted = [t for t in inputs if t is not None and t.requires_grad]
        grads = iter(torch.autograd.grad(results, wanted, grad_outputs, create_graph=True))
    return tuple(next(grads) if t is not None and t.requires_grad else None for t in inputs)


def lstm_scan(
    x: Tensor,
    state: tuple[Tensor, Tensor],
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
):
    """The LSTM over a sequence as one autograd node: :func:`lstm_cell` for t = 0..L-1.

    x (L, N, I), state (h_0, c_0) each (N, H), W_ih (4H, I), W_hh (4H, H), biases (4H,);
    arguments in the order of ``torch.lstm_cell``. Same results as the loop of
    :func:`lstm_ref.nn.functional.lstm_step` after the input projection (to rounding),
    with the backward of :func:`lstm_step_backward`. The input projection x W_ihᵀ + b_ih
    of all steps is one product, written into the buffer that then holds the gates, and
    the weights' gradients are one product each after the backward loop.
    Returns the outputs (L, N, H) and the final state (h_L, c_L).
    """
    output, h, c = _LSTMScan.apply(x, *state, W_ih, W_hh, b_ih, b_hh)
    return output, (h, c)
