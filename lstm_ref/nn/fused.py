"""The fast path of the layers: the LSTM's backward written out.

:func:`lstm_ref.nn.functional.lstm_step` is the readable reference; autograd takes its
backward through a dozen nodes per step. :func:`lstm_scan` runs the same step over a whole
sequence as one ``torch.autograd.Function`` whose backward is the LSTM's backward through
time written out (:func:`lstm_step_backward`), one line per equation, with the
derivatives that do not wait for the step after taken for several steps at once
(:func:`lstm_local_derivatives`).
Its products take oneDNN's GEMM where it pays (:mod:`lstm_ref.nn.gemm`).

Symbols: L steps, N batch, H hidden size; gate blocks (i, f, g, o) as in torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .functional import lstm_step
from .gemm import linear_grads, matmul_t, weight_grad

# The derivatives from the output y, as autograd computes them, written into grad_input=.
# Their overloads are looked up once, here: through torch.ops.aten.sigmoid_backward(...,
# grad_input=) each call looked its overload up again and took 8.7 µs, against 3.2 µs for
# the overload itself, longer than the kernel at H = 32 (benchmarks/README.md).
sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # grad·y(1 − y), y = σ(a)
tanh_backward = torch.ops.aten.tanh_backward.grad_input  # grad·(1 − y²), y = tanh(a)


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


def lstm_local_derivatives(gates, c_prev, tanh_c, local: Tensor, dh_dc: Tensor) -> None:
    """What the backward of a step multiplies by: the derivatives of c_t and h_t by the
    pre-activations a = (a_i, a_f, a_g, a_o), for one step or several at once.

    ``gates`` (..., 4H) holds the activations (i, f, g, o) that :func:`lstm_step_forward`
    left; ``c_prev`` and ``tanh_c`` (..., H) hold c_{t-1} and tanh(c_t). Writes into
    ``local`` (..., 4H), block by block, and into ``dh_dc`` (..., H):

        ∂c_t/∂a_i = g·i(1 − i)    ∂c_t/∂a_f = c_{t-1}·f(1 − f)    ∂c_t/∂a_g = i(1 − g²)
        ∂h_t/∂a_o = tanh(c_t)·o(1 − o)                           ∂h_t/∂c_t = o(1 − tanh²c_t)

    ``sigmoid_backward(grad, y, grad_input=out)`` writes grad·y(1 − y) into out and
    ``tanh_backward`` grad·(1 − y²), for y = σ(a) or tanh(a): the derivative in terms of
    the output, each one ATen kernel (the ones autograd itself calls) instead of three.
    None of them waits for the step after, so the scan computes them for several steps
    in five calls.
    """
    i, f, g, o = gates.chunk(4, dim=-1)
    dc_di, dc_df, dc_dg, dh_do = local.chunk(4, dim=-1)
    sigmoid_backward(g, i, grad_input=dc_di)  # ∂c_t/∂a_i = g·i(1 − i)
    sigmoid_backward(c_prev, f, grad_input=dc_df)  # ∂c_t/∂a_f = c_{t-1}·f(1 − f)
    tanh_backward(i, g, grad_input=dc_dg)  # ∂c_t/∂a_g = i(1 − g²)
    sigmoid_backward(tanh_c, o, grad_input=dh_do)  # ∂h_t/∂a_o = tanh(c_t)·o(1 − o)
    tanh_backward(o, tanh_c, grad_input=dh_dc)  # ∂h_t/∂c_t = o(1 − tanh²c_t)


def lstm_step_backward(dh: Tensor, dc: Tensor, f: Tensor, dh_dc: Tensor, d_gates: Tensor):
    """The backward of one step: from dh = ∂ℓ/∂h_t and dc = ∂ℓ/∂c_t through c_{t+1}.

    ``d_gates`` (N, 4H) holds the step's :func:`lstm_local_derivatives` (blocks i, f, g,
    o) and is turned in place into δa = ∂ℓ/∂a. ``f`` (N, H) is the forget gate and
    ``dh_dc`` (N, H) is ∂h_t/∂c_t. Returns ∂ℓ/∂c_{t-1} (δx is ∂ℓ/∂x, as in chapter 4).
    """
    d_i, d_f, d_g, d_o = d_gates.chunk(4, dim=-1)
    dc = torch.addcmul(dc, dh, dh_dc)  # δc_t = δc_{t+1}·f_{t+1} + δh_t·o(1 − tanh²c_t)
    d_i.mul_(dc), d_f.mul_(dc), d_g.mul_(dc)  # δa_i, δa_f, δa_g = δc_t·∂c_t/∂(a_i, a_f, a_g)
    d_o.mul_(dh)  # δa_o = δh_t·tanh(c_t)·o(1 − o)
    return dc * f  # δc_{t-1} = δc_t·f_t


BACKWARD_BLOCK = 1 << 18
"""Floats of gates (steps × N × 4H) whose local derivatives the backward computes in one
go: 32 steps at chapter 1's H = 32, five calls instead of about 160; 4 steps at the
benchmark's H = 256, enough for torch to spread each call over two threads. All 100 steps
at once left the cache and made H = 256 13 % slower on one thread; one step at a time made
it slower on two (benchmarks/README.md)."""


class _LSTMScan(torch.autograd.Function):
    """The LSTM over a sequence, forward and backward through time; see :func:`lstm_scan`."""

    @staticmethod
    def forward(ctx, x, h_0, c_0, W_ih, W_hh, b_ih, b_hh, lengths):
        L, N, _ = x.shape
        G, H = W_ih.shape[0], W_hh.shape[1]
        # x_t W_ihᵀ + b_ih for every t in one product, written where the gates will be
        gates = matmul_t(x.reshape(L * N, x.shape[-1]), W_ih, b_ih).view(L, N, G)
        h, c = x.new_empty(L + 1, N, H), x.new_empty(L + 1, N, H)  # h[t + 1] = h_t
        tanh_c = x.new_empty(L, N, H)
        h[0], c[0] = h_0, c_0
        # a_[t] is gates[t], h_[t] is h[t], ...: every step's views made in one call each
        a_, h_, c_, tanh_c_ = gates.unbind(0), h.unbind(0), c.unbind(0), tanh_c.unbind(0)
        for t in range(L):  # a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh
            a_[t].add_(matmul_t(h_[t], W_hh, b_hh))
            lstm_step_forward(a_[t], c_[t], c_[t + 1], tanh_c_[t], h_[t + 1])
        output = h[1:]  # (L, N, H)
        ctx.save_for_backward(x, h_0, c_0, W_ih, W_hh, b_ih, b_hh, output)
        ctx.buffers, ctx.lengths = (gates, h, c, tanh_c), lengths
        if lengths is None:
            return output, h[L].clone(), c[L].clone()
        last = _last_steps(lengths)
        return output, output[last], c[1:][last]  # each sequence's state after its last step

    @staticmethod
    def backward(ctx, d_output, dh_n, dc_n):
        inputs = ctx.saved_tensors[:-1]  # x, h_0, c_0, W_ih, W_hh, b_ih, b_hh
        if torch.is_grad_enabled():  # create_graph=True: differentiate the plain steps
            return (*_plain_backward(inputs, (d_output, dh_n, dc_n), ctx.lengths), None)
        x, _, _, W_ih, W_hh, _, _ = inputs
        gates, h, c, tanh_c = ctx.buffers
        L, N, G = gates.shape
        d_cells_ = None  # ∂ℓ/∂c_t from outside the scan: only a final state taken early
        if ctx.lengths is not None:  # the final state's gradient enters at each last step
            last = _last_steps(ctx.lengths)
            d_output, d_cells = d_output.clone(), torch.zeros_like(tanh_c)
            d_output.index_put_(last, dh_n, accumulate=True)
            d_cells.index_put_(last, dc_n)
            d_cells_, dh_n, dc_n = d_cells.unbind(0), torch.zeros_like(dh_n), torch.zeros_like(dc_n)
        d_gates = torch.empty_like(gates)  # (L, N, 4H): ∂ℓ/∂a_t, step by step
        block = max(1, BACKWARD_BLOCK // max(N * G, 1))  # steps whose local derivatives go at once
        dh_dc = tanh_c.new_empty(min(block, L), N, tanh_c.shape[-1])  # ∂h_t/∂c_t, a block's
        f_ = gates.view(L, N, 4, G // 4)[:, :, 1].unbind(0)  # the forget gates f_t, (N, H) each
        d_a_, dh_dc_ = d_gates.unbind(0), dh_dc.unbind(0)  # dh_dc_[t - start]: step t's
        # no more lists of views than these: each view is an object that Python's garbage
        # collector counts, and with over 700 alive it ran at every pass
        d_output_, W_hh_t = d_output.unbind(0), W_hh.t()
        dh, dc = dh_n, dc_n
        for t in range(L - 1, -1, -1):
            if (L - 1 - t) % block == 0:  # steps start … t, in the cache together
                start = max(t + 1 - block, 0)
                s = slice(start, t + 1)
                lstm_local_derivatives(
                    gates[s], c[s], tanh_c[s], d_gates[s], dh_dc[: t + 1 - start]
                )
            dh = dh + d_output_[t]  # h_t feeds the output and step t + 1
            if d_cells_ is not None:
                dc = dc + d_cells_[t]  # c_t is also a final state
            dc = lstm_step_backward(dh, dc, f_[t], dh_dc_[t - start], d_a_[t])
            if t > 0 or ctx.needs_input_grad[1]:  # no product for an h_0 that needs none
                dh = matmul_t(d_a_[t], W_hh_t)  # dh_{t-1} = d_gates W_hh
        # The rest sums over time: one (4H × LN) product each, after the loop.
        # a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh: two linear maps with one gradient d_a
        need_x, need_h0, _, need_W_ih, need_W_hh, need_b_ih, need_b_hh, _ = ctx.needs_input_grad
        d_a = d_gates.view(L * N, G)  # ∂ℓ/∂a_t, a row for every (t, n)
        dx, dW_ih, db = linear_grads(d_a, x.reshape(L * N, x.shape[-1]), W_ih, need_x, need_W_ih,
                                      need_b_ih or need_b_hh)  # fmt: skip
        dW_hh = weight_grad(d_a, h[:-1].reshape(L * N, h.shape[-1])) if need_W_hh else None
        return (dx.view(x.shape) if need_x else None, dh if need_h0 else None, dc, dW_ih,
                dW_hh, db if need_b_ih else None, db if need_b_hh else None, None)  # fmt: skip


def _last_steps(lengths: Tensor) -> tuple[Tensor, Tensor]:
    """The index of (t, n) = (lengths[n] - 1, n): each sequence's last step in (L, N, ...)."""
    return lengths - 1, torch.arange(len(lengths), device=lengths.device)


def _plain_backward(inputs, grad_outputs, lengths=None):
    """The gradients of :func:`lstm_scan` through autograd of the plain steps."""
    x, h_0, c_0, W_ih, W_hh, b_ih, b_hh = inputs
    with torch.enable_grad():
        state, outputs, cells = (h_0, c_0), [], []
        for x_t in F.linear(x, W_ih, b_ih).unbind(0):
            state = lstm_step(x_t, state, W_hh, b_hh)
            outputs.append(state[0])
            cells.append(state[1])
        output, cells = torch.stack(outputs), torch.stack(cells)
        last = (-1,) if lengths is None else _last_steps(lengths)
        results = (output, output[last], cells[last])
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
    lengths: Tensor | None = None,
):
    """The LSTM over a sequence as one autograd node: :func:`lstm_cell` for t = 0..L-1.

    x (L, N, I), state (h_0, c_0) each (N, H), W_ih (4H, I), W_hh (4H, H), biases (4H,);
    arguments in the order of ``torch.lstm_cell``. Same results as the loop of
    :func:`lstm_ref.nn.functional.lstm_step` after the input projection (to rounding),
    with the backward of :func:`lstm_step_backward`. The input projection x W_ihᵀ + b_ih
    of all steps is one product, written into the buffer that then holds the gates, and
    the weights' gradients are one product each after the backward loop.
    Returns the outputs (L, N, H) and the final state (h_L, c_L).

    With ``lengths`` (N,), integers in 1..L on x's device (others raise ValueError),
    sequence n ends after step lengths[n] - 1 and its final state is taken there: the
    state a packed sequence ends in. Steps past its end are still computed, into outputs
    the caller drops (their gradient must be zero); they never reach a step inside a
    sequence.
    """
    if lengths is not None and not (1 <= lengths.min() and lengths.max() <= len(x)):
        raise ValueError(f"expected lengths in 1..{len(x)}, got {lengths.tolist()}")
    output, h, c = _LSTMScan.apply(x, *state, W_ih, W_hh, b_ih, b_hh, lengths)
    return output, (h, c)
