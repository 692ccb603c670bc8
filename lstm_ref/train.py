"""The course's one training loop, and one evaluation helper.

Each step draws a fresh batch with ``make_batch(step)``, so a task seeded by the step
number gives the same run every time:

    for step in range(steps):
        x, y = make_batch(step)
        loss = loss_fn(model(x), y)                 # model(*x) when x is a tuple
        loss.backward()
        clip ‖∇θ‖ to clip_grad_norm (optional)      # g ← g · min(1, c / ‖g‖)
        optimizer.step()

Example:
    >>> model = nn.Linear(3, 1)
    >>> def make_batch(step):
    ...     x = torch.randn(16, 3, generator=torch.Generator().manual_seed(step))
    ...     return x, x.sum(dim=1, keepdim=True)  # y = x_1 + x_2 + x_3
    >>> history = train(model, make_batch, nn.functional.mse_loss,
    ...                 steps=100, lr=0.1, progress=False)
    >>> history.loss[-1] < 0.01 * history.loss[0]
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

Batch = tuple[Tensor | tuple[Tensor, ...], Tensor]
"""(inputs, target); a tuple of inputs is unpacked into the model's arguments."""


@dataclass
class History:
    """What `train` recorded, one entry per step."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)  # ‖∇θ‖ before clipping


def train(
    model: nn.Module,
    make_batch: Callable[[int], Batch],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    *,
    steps: int,
    lr: float = 1e-3,
    optimizer: torch.optim.Optimizer | None = None,
    clip_grad_norm: float | None = None,
    device: torch.device | str | None = None,
    seed: int | None = 0,
    progress: bool = True,
    log_every: int = 10,
) -> History:
    """Train `model` for `steps` optimiser steps and return the loss and gradient norms.

    Args:
        model: any module; it is put in train mode.
        make_batch: ``step -> (inputs, target)``; inputs may be a tuple of tensors.
        loss_fn: ``(model output, target) -> scalar loss``.
        steps: number of optimiser steps.
        lr: learning rate of the default optimiser, Adam.
        optimizer: use this one instead (then `lr` is ignored).
        clip_grad_norm: if given, rescale the gradient to at most this total norm.
        device: move the model there first; None keeps it where it is. Batches
            always follow the model's device.
        seed: passed to ``torch.manual_seed`` first (dropout, sampling); None skips it.
        progress: show a tqdm bar with the loss; False prints nothing.
        log_every: refresh the bar's loss every this many steps.

    Returns:
        A `History` with one loss and one pre-clipping gradient norm per step.
    """
    if steps < 1:
        raise ValueError(f"expected steps >= 1, got {steps}")
    if clip_grad_norm is not None and clip_grad_norm <= 0:
        raise ValueError(f"expected clip_grad_norm > 0, got {clip_grad_norm}")
    if seed is not None:
        torch.manual_seed(seed)
    if device is not None:
        model.to(device)
    device = _model_device(model)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    parameters = [p for p in model.parameters() if p.requires_grad]
    history = History()
    model.train()
    bar = tqdm(range(steps), disable=not progress, desc="train")
    for step in bar:
        inputs, target = _to_device(make_batch(step), device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(_call(model, inputs), target)
        loss.backward()
        max_norm = float("inf") if clip_grad_norm is None else clip_grad_norm
        grad_norm = nn.utils.clip_grad_norm_(parameters, max_norm)  # norm before clipping
        optimizer.step()
        history.loss.append(loss.item())
        history.grad_norm.append(grad_norm.item())
        if step % log_every == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{history.loss[-1]:.4g}")
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module,
    make_batch: Callable[[int], Batch],
    metric: Callable[[Tensor, Tensor], Tensor | float],
    *,
    batches: int = 1,
) -> float:
    """Average ``metric(model output, target)`` over batches 0 … batches-1, in eval mode.

    Give it batches the model was not trained on, e.g. ``seed=10**6 + i``. The
    model's train/eval mode is restored afterwards.
    """
    if batches < 1:
        raise ValueError(f"expected batches >= 1, got {batches}")
    was_training = model.training
    model.eval()
    device = _model_device(model)
    try:
        total = 0.0
        for index in range(batches):
            inputs, target = _to_device(make_batch(index), device)
            total += float(metric(_call(model, inputs), target))
    finally:
        model.train(was_training)
    return total / batches


def accuracy(logits: Tensor, target: Tensor) -> float:
    """Fraction of rows whose largest logit is the target class.

    Shapes:
        logits: (..., C).  target: (...) int64, the same leading shape.
    """
    if logits.shape[:-1] != target.shape:
        raise ValueError(
            f"expected target of shape {tuple(logits.shape[:-1])}, got {tuple(target.shape)}"
        )
    return (logits.argmax(dim=-1) == target).float().mean().item()


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _to_device(batch: Batch, device: torch.device) -> Batch:
    inputs, target = batch
    if isinstance(inputs, (tuple, list)):
        inputs = tuple(x.to(device) for x in inputs)
    else:
        inputs = inputs.to(device)
    return inputs, target.to(device)


def _call(model: nn.Module, inputs: Tensor | tuple[Tensor, ...]):
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)
