"""Truncated backpropagation through time: one step, and evaluation over a stream.

One training step on window k of a batchified stream (:func:`tbptt_batches`):

    logits, state_k = model(inputs_k, state_{k-1})     start where window k-1 ended
    loss = cross_entropy(logits, targets_k)
    loss.backward()                                    gradients reach back L steps only
    clip ‖∇θ‖ to `clip` (optional); optimizer.step()
    state_k ← state_k.detach()                         keep the values, drop the graph

The state carries information forward across windows without limit; the gradient flows
back at most L = bptt steps, because the state that enters a window is a leaf. In the
notation of Williams & Peng (1990), "An efficient gradient-based algorithm for on-line
training of recurrent network trajectories", this is BPTT(h; h') with h = h' = L: every
L steps, backpropagate through the last L steps.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .batches import tbptt_batches
from .metrics import cross_entropy
from .model import State, detach_state


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: Tensor,
    targets: Tensor,
    state: State | None,
    clip: float | None = None,
) -> tuple[float, State]:
    """One optimiser step of truncated BPTT from `state`; returns (loss, state detached).

    Args:
        model: ``model(inputs, state) -> (logits (L, N, V), state)``, e.g. CharLSTM.
        optimizer: over the model's parameters.
        inputs, targets: (L, N) int64, targets the symbols after inputs.
        state: (h, c) the previous window left, or None for zeros.
        clip: if given, rescale the gradient to total norm at most `clip`.

    Returns:
        The loss (mean nats per symbol, a float) and the final (h, c) with
        ``requires_grad`` False, to pass to the next call.
    """
    model.train()
    optimizer.zero_grad()
    logits, state = model(inputs, state)  # (L, N, V)
    loss = cross_entropy(logits, targets)
    loss.backward()
    if clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), detach_state(state)


@torch.no_grad()
def evaluate(model: nn.Module, data: Tensor, bptt: int = 256) -> float:
    """Bits per char of `model` on batchified `data` (S, N), state carried throughout.

    Every row but the first is predicted once, from a state that has read everything
    before it in its column; windows of `bptt` rows only bound the memory used.
    """
    model.eval()
    state, total, count = None, 0.0, 0
    for inputs, targets in tbptt_batches(data, bptt):
        logits, state = model(inputs, state)
        total += cross_entropy(logits, targets).item() * targets.numel()
        count += targets.numel()
    return total / count / math.log(2)
