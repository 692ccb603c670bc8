"""The measurements of the practical recipe (book/recipe.md), on delayed recall.

Every training run here is :func:`lstm_ref.experiments.memory.recall_run` with the same
model, an LSTM of LSTM_HIDDEN units whose forget-gate bias starts at 1, on delayed recall
across LAG blank steps; only the `Recipe` changes:

    learning rate    RATES, each for SWEEP_STEPS steps, no early stop     lr_sweep
    clipping         ‖∇θ‖ clipped at each of THRESHOLDS (None: never)     clip_runs

The rest is cheaper: overfitting one fixed batch (`overfit_one_batch`), counting the
padding of bucketed batches (`padding_fraction`), final states of a packed batch
(`final_states`), gradients at initialisation (`init_curves`) and a projected LSTM
against torch's (`projection_gap`). Seeds as in :mod:`lstm_ref.experiments.memory`.

Example:
    >>> run = overfit_one_batch(None, seed=0, steps=5)
    >>> len(run.loss), run.floor
    (5, 0.0)
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_ref.experiments.gradients import lag_curves, relative
from lstm_ref.experiments.memory import LSTM_HIDDEN, SEEDS, VOCAB_SIZE, Recipe, Run, recall_run
from lstm_ref.experiments.models import ModelSpec, set_forget_bias, single_thread
from lstm_ref.experiments.pool import starmap
from lstm_ref.nn import LSTM, RNN
from lstm_ref.tasks import delayed_recall, toy_translation
from lstm_ref.train import train

LAG = 15
"""Blank steps between the token and the cue in every training run here."""
SPEC = ModelSpec("LSTM, forget bias 1", "LSTM", LSTM_HIDDEN, forget_bias=1.0)
RECIPE = Recipe(lr=1e-3, max_steps=600, clip_grad_norm=1.0)
"""The starting recipe; the sweeps change one field of it at a time."""

# ------------------------------------------------------------------ 1. overfit one batch

BUGS = (None, "shifted inputs", "shuffled targets")
"""Planted bugs: None, x[1:] in place of x (the token's step is lost), targets permuted."""
DEBUG_LAG, DEBUG_BATCH, DEBUG_STEPS, DEBUG_LR = 5, 32, 200, 1e-2


class OverfitRun(NamedTuple):
    """The loss curve of `overfit_one_batch`, and the floor no model can go below."""

    loss: list[float]  # training loss on the one batch, per step
    floor: float  # the lowest mean cross-entropy any model can reach on it: H(Y | X)


def debug_batch(bug: str | None, seed: int) -> tuple[Tensor, Tensor]:
    """One fixed batch of delayed recall (DEBUG_LAG, DEBUG_BATCH), with `bug` planted.

    Shapes:
        x: (DEBUG_LAG + 2, N, V + 1), or one step shorter for "shifted inputs".  y: (N,).
    """
    if bug not in BUGS:
        raise ValueError(f"expected bug in {BUGS}, got {bug!r}")
    x, y = delayed_recall(DEBUG_LAG, batch_size=DEBUG_BATCH, seed=seed, vocab_size=VOCAB_SIZE)
    if bug == "shifted inputs":
        x = x[1:]  # off by one: the step that shows the token is dropped
    elif bug == "shuffled targets":
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
        y = y[order]  # inputs and targets no longer belong together
    return x, y


def loss_floor(x: Tensor, y: Tensor) -> float:
    """min over all models of the mean cross-entropy on (x, y): the entropy H(Y | X).

    Sequences with identical inputs must get identical predictions, so the best a model
    can do is predict, for each distinct input, the distribution of its targets.

    Shapes:
        x: (L, N, C).  y: (N,) int64.
    """
    rows = x.transpose(0, 1).reshape(len(y), -1)  # (N, L*C): one row per sequence
    _, group = torch.unique(rows, dim=0, return_inverse=True)  # (N,): which distinct input
    counts = torch.zeros(int(group.max()) + 1, int(y.max()) + 1)
    counts.index_put_((group, y), torch.ones(len(y)), accumulate=True)  # (groups, classes)
    p = counts / counts.sum(1, keepdim=True)  # p(y | x)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(1)  # H(Y | X = x), one per group
    return float((counts.sum(1) * entropy).sum() / len(y))


def overfit_one_batch(bug: str | None, seed: int, *, steps: int = DEBUG_STEPS) -> OverfitRun:
    """Train a fresh SPEC model on one fixed batch for `steps` Adam steps at DEBUG_LR."""
    x, y = debug_batch(bug, seed)
    with single_thread():
        torch.manual_seed(seed)
        model = SPEC.build(VOCAB_SIZE + 1, VOCAB_SIZE)
        history = train(
            model, lambda step: (x, y), F.cross_entropy, steps=steps, lr=DEBUG_LR,
            clip_grad_norm=RECIPE.clip_grad_norm, seed=None, progress=False,
        )  # fmt: skip
    return OverfitRun(history.loss, loss_floor(x, y))


# ------------------------------------------------------------------ 2, 3. learning rate, clipping

RATES = (1e-4, 1e-3, 1e-2)
SWEEP_STEPS = 150
THRESHOLDS = (None, 0.5, 1.0, 5.0)


def lr_sweep(
    rates: Sequence[float] = RATES, seeds: Sequence[int] = SEEDS
) -> dict[float, list[Run]]:
    """RECIPE at each rate for exactly SWEEP_STEPS steps: ``runs[lr][s]``, score = test accuracy."""
    short = dataclasses.replace(RECIPE, max_steps=SWEEP_STEPS, check_every=SWEEP_STEPS)
    return _runs({lr: dataclasses.replace(short, lr=lr) for lr in rates}, seeds)


def clip_runs(
    thresholds: Sequence[float | None] = THRESHOLDS, seeds: Sequence[int] = SEEDS
) -> dict[float | None, list[Run]]:
    """RECIPE with ‖∇θ‖ clipped at each threshold, stopping early: ``runs[c][s]``."""
    return _runs({c: dataclasses.replace(RECIPE, clip_grad_norm=c) for c in thresholds}, seeds)


def _runs(recipes: dict, seeds: Sequence[int]) -> dict:
    """`recall_run` of SPEC at LAG for every recipe and seed: ``runs[key][s]``.

    The runs are independent and seeded, so they are spread over the machine's cores
    (:func:`lstm_ref.experiments.pool.starmap`); that changes only the time taken.
    """
    flat = iter(starmap(_recall, [(r, s) for r in recipes.values() for s in seeds]))
    return {key: [next(flat) for _ in seeds] for key in recipes}


def _recall(recipe: Recipe, seed: int) -> Run:
    return recall_run(SPEC, LAG, seed, recipe=recipe)


def fraction_above(run: Run, threshold: float) -> float:
    """Fraction of the run's steps whose pre-clipping gradient norm exceeded `threshold`."""
    return (torch.tensor(run.history.grad_norm) > threshold).double().mean().item()


# ------------------------------------------------------------------ 4. bucketing and packing


BUCKET_SEQUENCES, BUCKET_MAX_LEN, BUCKET_BATCH = 2048, 40, 32


def bucket_lengths(seed: int = 0) -> Tensor:
    """Lengths of BUCKET_SEQUENCES toy-translation sources, uniform in 1 … BUCKET_MAX_LEN.

    Shapes:
        Returns: (BUCKET_SEQUENCES,) int64.
    """
    return toy_translation(batch_size=BUCKET_SEQUENCES, seed=seed, max_len=BUCKET_MAX_LEN).lengths


def batch_orders(lengths: Tensor, batch_size: int, seed: int, pool: int = 8) -> dict[str, Tensor]:
    """Three ways to order sequences into batches, as permutations of range(len(lengths)).

    random: shuffled.  bucketed: shuffled, then sorted by length within each pool of
    `pool` batches (the batches can then be shuffled again).  sorted: by length.
    """
    generator = torch.Generator().manual_seed(seed)
    shuffled = torch.randperm(len(lengths), generator=generator)
    pools = shuffled.split(pool * batch_size)
    bucketed = torch.cat([p[lengths[p].argsort(stable=True)] for p in pools])
    return {"random": shuffled, "bucketed": bucketed, "sorted": lengths.argsort(stable=True)}


def padding_fraction(lengths: Tensor, order: Tensor, batch_size: int) -> float:
    """Padded steps / all steps a padded batch holds, batching `order` in runs of batch_size.

    A batch of lengths l_1 … l_B padded to max_b l_b holds B · max l steps, Σ l real ones.
    """
    batches = lengths[order].split(batch_size)
    held = sum(len(b) * int(b.max()) for b in batches)
    return 1 - int(lengths.sum()) / held


@torch.no_grad()
def final_states(lstm: nn.Module, x: Tensor, lengths: Tensor) -> dict[str, Tensor]:
    """h_n of a one-layer LSTM over a padded batch: packed, padded, and each sequence alone.

    Shapes:
        x: (L, N, I), zeros past each length.  lengths: (N,) int64 on the CPU.
        Returns: each (N, H_out).
    """
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    alone = [lstm(x[: int(n_len), n : n + 1])[1][0][0, 0] for n, n_len in enumerate(lengths)]
    return {
        "packed": lstm(packed)[1][0][0],  # h_n: (1, N, H) -> (N, H)
        "padded": lstm(x)[1][0][0],  # runs on through the padding
        "alone": torch.stack(alone),
    }


# ------------------------------------------------------------------ 7. projections


@torch.no_grad()
def projection_gap(input_size: int, hidden_size: int, proj_size: int, seed: int = 0) -> float:
    """max |ours - torch's| over output, h_n and c_n of LSTMs with `proj_size`, same weights.

    Builds ``torch.nn.LSTM(input_size, hidden_size, proj_size=proj_size)``, loads its
    weights (weight_hr_l0 included) into :class:`lstm_ref.nn.LSTM` and runs both on
    x ~ N(0, 1) of shape (L, N, I) = (7, 3, input_size).
    """
    torch.manual_seed(seed)
    theirs = nn.LSTM(input_size, hidden_size, proj_size=proj_size)
    ours = LSTM(input_size, hidden_size, proj_size=proj_size)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 3, input_size)
    a, (h_a, c_a) = ours(x)  # a, h: (..., P)   c: (..., H)
    with warnings.catch_warnings():  # "not supported with oneDNN": torch falls back, fine
        warnings.filterwarnings("ignore", message="LSTM with projections")
        b, (h_b, c_b) = theirs(x)
    return max((u - v).abs().max().item() for u, v in ((a, b), (h_a, h_b), (c_a, c_b)))


# ------------------------------------------------------------------ 6. initialisation


@torch.no_grad()
def orthogonal_recurrent_(lstm: nn.Module) -> None:
    """Make each of the four H × H blocks (i, f, g, o) of W_hh a random orthogonal matrix."""
    for block in lstm.weight_hh_l0.chunk(4):
        nn.init.orthogonal_(block)  # Q with Q^T Q = I: every singular value 1


@torch.no_grad()
def identity_recurrent_(rnn: nn.Module) -> None:
    """IRNN (Le, Jaitly & Hinton 2015): W_hh = I and both biases 0; W_ih as torch draws it."""
    nn.init.eye_(rnn.weight_hh_l0)
    rnn.bias_ih_l0.zero_()
    rnn.bias_hh_l0.zero_()


def _layer(mode: str, *, orthogonal=False, forget_bias=None, identity=False) -> Callable:
    """A factory of float64 layers with input size 1: an LSTM, or a ReLU RNN of twice the units."""

    def build() -> nn.Module:
        if mode == "LSTM":
            layer = LSTM(1, LSTM_HIDDEN, dtype=torch.float64)
        else:
            layer = RNN(1, 2 * LSTM_HIDDEN, nonlinearity="relu", dtype=torch.float64)
        if orthogonal:
            orthogonal_recurrent_(layer)
        if forget_bias is not None:
            set_forget_bias(layer, forget_bias)
        if identity:
            identity_recurrent_(layer)
        return layer

    return build


INITS = {
    "LSTM, torch's init": _layer("LSTM"),
    "LSTM, orthogonal W_hh": _layer("LSTM", orthogonal=True),
    "LSTM, forget bias 1": _layer("LSTM", forget_bias=1.0),
    "LSTM, both": _layer("LSTM", orthogonal=True, forget_bias=1.0),
    "ReLU RNN, torch's init": _layer("RNN_RELU"),
    "IRNN": _layer("RNN_RELU", identity=True),
}
"""Layer factories (float64, input size 1) whose gradients at initialisation are compared.
The ReLU RNNs have 2 * LSTM_HIDDEN units, about as many parameters as the LSTMs."""


def init_curves(seq_len: int = 51, seeds: Sequence[int] = SEEDS) -> dict[str, Tensor]:
    """`relative` gradient lag curves of every INITS layer: each (S, seq_len), column k = lag k."""
    return {
        name: relative(lag_curves(make, seeds=seeds, seq_len=seq_len))
        for name, make in INITS.items()
    }
