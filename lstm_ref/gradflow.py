"""Measure how strongly each input step x_t reaches a recurrent module's final output.

For a module that maps x of shape (L, N, I) to outputs y of shape (L, N, H), take
the scalar loss

    loss = Σ_n ⟨y_{L-1}[n], v⟩          v: fixed random unit vector in R^H

and report, for every step t, the size of its input gradient g_t = ∂loss/∂x_t:

    norms[t] = sqrt( mean_n ‖g_t[n]‖² )     root-mean-square over the batch

Samples do not interact, so g_t[n] is sample n's own gradient and the curve does not
depend on the batch size. A curve that falls off towards t = 0 is a vanishing gradient:
early inputs barely move the final output.

Example:
    >>> rnn = torch.nn.RNN(3, 16)
    >>> input_gradient_norms(rnn, torch.randn(50, 8, 3)).shape
    torch.Size([50])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

Loss = Callable[[Tensor], Tensor]
"""Maps the time-major output sequence (L, N, H) to a scalar."""


def input_gradient_norms(
    module: nn.Module,
    x: Tensor,
    *,
    batch_first: bool | None = None,
    loss: str | Loss = "last",
    projection_seed: int = 0,
) -> Tensor:
    """Return ‖∂loss/∂x_t‖ for every step t, root-mean-square over the batch.

    The module is called as ``module(x)`` and may return the output sequence or a
    tuple whose first element it is (``nn.RNN``/``GRU``: ``(output, h_n)``,
    ``nn.LSTM``: ``(output, (h_n, c_n))``). Only x receives a gradient: the module's
    parameters, their ``.grad`` and its train/eval mode are left as they were (in
    train mode, inter-layer dropout makes the curve noisy; call ``.eval()`` first).

    Args:
        module: a recurrent module taking (L, N, I), or (N, L, I) when batch_first.
        x: the input sequence; it is not modified.
        batch_first: layout of x and of the output; None reads ``module.batch_first``
            (False when the module has no such attribute).
        loss: ``"last"`` for Σ_n ⟨y_{L-1}[n], v⟩ with v a unit vector drawn from
            `projection_seed`, or a callable mapping the output (L, N, H) to a scalar.
        projection_seed: seed of v, so repeated calls use the same projection.

    Shapes:
        x: (L, N, I), or (N, L, I) when batch_first.  Returns: (L,), on x's device.
    """
    if x.dim() != 3:
        raise ValueError(f"expected x of shape (L, N, I), got {tuple(x.shape)}")
    if not (callable(loss) or loss == "last"):
        raise ValueError(f"expected loss 'last' or a callable, got {loss!r}")
    if batch_first is None:
        batch_first = bool(getattr(module, "batch_first", False))
    x = x.detach().clone().requires_grad_(True)
    with torch.backends.cudnn.flags(enabled=False):  # cuDNN's RNN backward refuses eval mode
        output = module(x)
    if isinstance(output, tuple):
        output = output[0]
    if batch_first:
        output = output.transpose(0, 1)  # (N, L, H) -> (L, N, H)
    if callable(loss):
        scalar = loss(output)
    else:
        scalar = _last_step_projection(output, projection_seed)
    (grad,) = torch.autograd.grad(scalar, x)  # only x: parameters' .grad untouched
    if batch_first:
        grad = grad.transpose(0, 1)  # (N, L, I) -> (L, N, I)
    return grad.pow(2).sum(dim=2).mean(dim=1).sqrt().detach()  # (L,)


def seeded_input_gradient_norms(
    make_module: Callable[[], nn.Module],
    make_input: Callable[[], Tensor],
    seeds: Sequence[int],
    **kwargs,
) -> Tensor:
    """Repeat `input_gradient_norms` over freshly initialised modules, one per seed.

    For each seed, ``torch.manual_seed(seed)`` is set inside ``torch.random.fork_rng``
    (the caller's random state is restored afterwards), then ``make_module()`` and
    ``make_input()`` are called and the curve measured. Average with ``.mean(0)``,
    show the spread with ``.std(0)``.

    Args:
        make_module: builds a new module, e.g. ``lambda: nn.LSTM(1, 32)``.
        make_input: builds the input x, e.g. ``lambda: torch.randn(100, 16, 1)``.
        seeds: one run per seed.
        kwargs: passed on to `input_gradient_norms`.

    Shapes:
        Returns: (S, L) for S = len(seeds).
    """
    if len(seeds) == 0:
        raise ValueError("expected at least one seed, got none")
    curves = []
    for seed in seeds:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            module, x = make_module(), make_input()
        curves.append(input_gradient_norms(module, x, **kwargs))
    return torch.stack(curves)  # (S, L)


def _last_step_projection(output: Tensor, seed: int) -> Tensor:
    """Σ_n ⟨y_{L-1}[n], v⟩ for a unit vector v drawn on the CPU from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    v = torch.randn(output.shape[-1], generator=generator, dtype=torch.float64)
    v = (v / v.norm()).to(device=output.device, dtype=output.dtype)  # (H,), ‖v‖ = 1
    return (output[-1] @ v).sum()
