"""Chapter 5's LSTM language models: how each is trained, and where it trains.

A run differs from another only in its :class:`Recipe`: how the batches are laid out,
the truncation length, the model size and the number of steps. :func:`language_models`
trains several at once: the one that would still be training after the rest (MAIN)
trains here on the cores the workers leave free, the others in worker processes,
started early by :func:`start_language_models`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import cached_property

import torch
from torch import Tensor

from lstm_ref.experiments.pool import available_workers, busy, results, shutdown, start
from lstm_ref.experiments.variants import matmul_flops
from lstm_ref.nn import LSTM
from lstm_ref.text import CharLSTM, batchify, random_windows, tbptt_batches, train_step

from .corpus import bits, corpus


@dataclass(frozen=True)
class Recipe:
    """How one language model is trained. Hashable, so runs can be cached by recipe."""

    batches: str = "carried"  # "carried": consecutive windows; "random": fresh windows
    bptt: int = 64  # L, the truncation length (window length)
    batch_size: int = 32  # N, parallel streams or random windows per batch
    steps: int = 800
    hidden_size: int = 256
    embedding_dim: int = 64
    lr: float = 1e-2  # Adam, decayed to 0 along a half cosine
    clip: float = 5.0  # ‖∇θ‖ clipped to this


MAIN = Recipe(bptt=32, batch_size=64)
"""The chapter's model: the one compared with the n-grams, sampled and looked inside."""

CHARS_PER_STEP = 2048
"""N · L of every comparison run, so that each step does the same arithmetic
(:func:`step_flops`)."""
TRUNCATIONS = (8, 32)
"""The truncation lengths L compared."""


COMPARISON_STEPS = 300


def comparison(batches: str, bptt: int, steps: int = COMPARISON_STEPS) -> Recipe:
    """A smaller model (H = 128) with N = CHARS_PER_STEP // bptt."""
    return replace(
        MAIN, batches=batches, bptt=bptt, batch_size=CHARS_PER_STEP // bptt,
        hidden_size=128, steps=steps,
    )  # fmt: skip


def comparisons() -> dict[tuple[str, int], Recipe]:
    """(batches, L) -> :func:`comparison` recipe, for both layouts and every L of TRUNCATIONS."""
    return {(b, L): comparison(b, L) for b in ("carried", "random") for L in TRUNCATIONS}


def step_flops(recipe: Recipe) -> int:
    """FLOPs of one training step's matrix products, forward and backward, as torch's
    FlopCounterMode counts them: a fresh CharLSTM of `recipe`'s sizes on one (L, N)
    batch of its characters. The same for every run whose N · L and sizes agree.

    The counter does not see inside torch.nn.LSTM's fused oneDNN kernel, so the layer
    is counted as its twin :class:`lstm_ref.nn.LSTM`, which computes the same products.
    """
    model = CharLSTM(len(corpus().vocab), recipe.embedding_dim, recipe.hidden_size)
    model.lstm = LSTM(recipe.embedding_dim, recipe.hidden_size)  # same sizes and products
    inputs = torch.zeros(recipe.bptt, recipe.batch_size, dtype=torch.long)  # (L, N)
    return matmul_flops(model, inputs)


@dataclass
class LMRun:
    """A trained model and what it measured; held-out scores are computed when asked."""

    recipe: Recipe
    model: CharLSTM  # in eval mode
    losses: list[float]  # training loss per step, bits per char
    cpu_seconds: float  # training only, the CPU time of all its threads

    @cached_property
    def valid_log_probs(self) -> Tensor:
        """(T_valid - 1,) ln p of each validation character, one stream, state carried."""
        return stream_log_probs(self.model, corpus().valid_ids)

    @cached_property
    def test_log_probs(self) -> Tensor:
        """(T_test - 1,) ln p of each test character, one stream, state carried."""
        return stream_log_probs(self.model, corpus().test_ids)

    @property
    def valid_bits(self) -> float:
        return bits(self.valid_log_probs)

    @property
    def test_bits(self) -> float:
        return bits(self.test_log_probs)


def _windows(recipe: Recipe, ids: Tensor, seed: int):
    """Endless (inputs, targets, carry) batches: carry says whether to keep the state."""
    if recipe.batches == "random":
        g = torch.Generator().manual_seed(seed)
        while True:
            yield *random_windows(ids, recipe.batch_size, recipe.bptt, g), False
    elif recipe.batches == "carried":
        data = batchify(ids, recipe.batch_size)  # (S, N)
        while True:  # each pass over the text starts from a zero state
            first = True
            for inputs, targets in tbptt_batches(data, recipe.bptt):
                yield inputs, targets, not first
                first = False
    else:
        raise ValueError(f"expected batches 'carried' or 'random', got {recipe.batches!r}")


@torch.no_grad()
def stream_log_probs(model: CharLSTM, ids: Tensor, chunk: int = 1024) -> Tensor:
    """ln p(ids[t + 1] | ids[0 … t]) for t = 0 … T - 2: one stream, state carried.

    Returns (T - 1,) float tensor.
    """
    model.eval()
    state, result = None, []
    data = ids[:, None]  # (T, 1)
    for inputs, targets in tbptt_batches(data, chunk):
        logits, state = model(inputs, state)  # (L, 1, V)
        picked = logits.log_softmax(-1).gather(-1, targets[..., None])  # (L, 1, 1)
        result.append(picked.flatten())
    return torch.cat(result)


@torch.no_grad()
def window_log_probs(model: CharLSTM, ids: Tensor, length: int) -> Tensor:
    """ln p of every character predicted inside windows of `length`, each from zeros.

    The stream is cut into windows of length + 1 symbols that overlap by one, so every
    character but the first is predicted once, from at most `length` before it.
    Returns (length, W): row j is the prediction of the (j + 1)-th symbol of a window.
    """
    model.eval()
    W = (ids.shape[0] - 1) // length
    starts = torch.arange(W) * length  # (W,)
    offsets = starts[None, :] + torch.arange(length)[:, None]  # (length, W)
    logits, _ = model(ids[offsets])  # (length, W, V)
    return logits.log_softmax(-1).gather(-1, ids[offsets + 1][..., None])[..., 0]


_trained: dict[tuple[Recipe, int], LMRun] = {}  # (recipe, seed) -> run, this process's
_training: dict[tuple[Recipe, int], Future] = {}  # started in the background, not collected


def language_model(recipe: Recipe = MAIN, seed: int = 0) -> LMRun:
    """Train a CharLSTM on the training text by `recipe` from `seed` (cached)."""
    return language_models([recipe], seed)[0]


MAX_THREADS = 4
"""The most torch threads a run here gets. Up to this count a run's numbers do not depend
on it (tested); from 8 threads on, torch's kernels split the work differently and the
last bits move."""


def language_models(
    recipes: list[Recipe], seed: int = 0, *, workers: int | None = None
) -> list[LMRun]:
    """:func:`language_model` of every recipe, in order (cached), on `workers` cores.

    The runs :func:`trains_alone` picks (chapter 5's MAIN beside the comparisons) train
    here; the rest train in worker processes, one torch thread each, started by
    :func:`start_language_models` unless an earlier call started them. A run here takes
    the cores the workers leave free, up to MAX_THREADS, more as the workers finish
    (any other run that trains here, on one core or alone, keeps the caller's threads).
    Every run is seeded and its numbers do not depend on its thread count up to
    MAX_THREADS (tested), so where and on how many threads it runs changes only the
    time taken; `cpu_seconds` counts the CPU time of all its threads.

    Raises:
        What a run raises. KeyboardInterrupt also ends the runs in the workers.
    """
    workers = workers or available_workers()
    keys = [(r, seed) for r in dict.fromkeys(recipes)]
    alone = trains_alone([r for r, _ in keys if (r, seed) not in _trained], workers)  # started too

    def free() -> int:  # the cores no worker is using, up to MAX_THREADS
        return max(1, min(MAX_THREADS, workers - busy(_training.values())))

    try:
        start_language_models(recipes, seed, workers=workers)
        for recipe, _ in [key for key in keys if key not in _trained | _training]:
            threads = free if recipe in alone else None
            _trained[recipe, seed] = train_language_model(recipe, seed, threads=threads)
        started = [key for key in keys if key in _training]
        _trained.update(zip(started, results([_training[key] for key in started])))
    except BaseException:  # a failed, killed or interrupted run trains again when asked
        shutdown(kill=True)
        _training.clear()
        raise
    for key in keys:
        _training.pop(key, None)
    return [_trained[r, seed] for r in recipes]


def start_language_models(
    recipes: list[Recipe], seed: int = 0, *, workers: int | None = None
) -> None:
    """Start training in worker processes the runs :func:`language_models` would give
    them, and return at once; a later :func:`language_models` call collects them.

    Chapter 5 calls it in its first cell, so that its four small runs train while it
    reads its corpus and fits the n-grams: on two cores, one worker trains them in turn
    while this process goes on (on more, `workers` less the runs that train alone).
    Runs trained or started already are left alone; on one core (`workers` 1), or with
    a single run to train, nothing starts.
    """
    workers = workers or available_workers()
    missing = [r for r in dict.fromkeys(recipes) if (r, seed) not in _trained | _training]
    alone = trains_alone(missing, workers)
    rest = [r for r in missing if r not in alone]
    if workers < 2 or not rest or (len(rest) == 1 and not alone):
        return  # nothing to run beside: language_models trains them here
    futures = start(_train_and_score, [(r, seed) for r in rest],
                    workers=max(1, workers - len(alone)))  # fmt: skip
    _training.update(zip([(r, seed) for r in rest], futures))


def trains_alone(recipes: list[Recipe], workers: int) -> list[Recipe]:
    """The recipes whose :func:`work` exceeds a fair share of `workers` cores: on a core
    of its own such a run would still be training after all the others had finished.

    The share is the total over min(workers, len(recipes)): with fewer runs than cores
    no run waits for another anyway, so a run needs more than that to go first.
    """
    cores = min(workers, len(recipes))
    total = sum(map(work, recipes))
    return [r for r in recipes if cores > 1 and work(r) * cores > total]


def work(recipe: Recipe) -> int:
    """Multiply-adds of the LSTM layer's products in training, forward and backward:
    3 passes · steps · N · L characters · 4H · (D + H). The rest of a step is small."""
    H, D = recipe.hidden_size, recipe.embedding_dim
    return 3 * recipe.steps * recipe.batch_size * recipe.bptt * 4 * H * (D + H)


def _train_and_score(recipe: Recipe, seed: int) -> LMRun:
    """In a worker: train, and score the validation text while a core is still ours."""
    run = train_language_model(recipe, seed)
    _ = run.valid_log_probs  # a cached_property: computed now, it travels with the run
    return run


def train_language_model(
    recipe: Recipe, seed: int, threads: Callable[[], int] | None = None
) -> LMRun:
    """Train a CharLSTM on the training text by `recipe` from `seed`, uncached.

    Args:
        threads: if given, asked before every step how many torch threads that step
            may use (the count is restored at the end). Up to MAX_THREADS the numbers
            do not change (tested).
    """
    c = corpus()
    torch.manual_seed(seed)
    model = CharLSTM(len(c.vocab), recipe.embedding_dim, recipe.hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / recipe.steps))
    )  # lr_k = lr · (1 + cos(π k / steps)) / 2
    batches = _windows(recipe, c.train_ids, seed)
    losses, state = [], None
    began, before = time.process_time(), torch.get_num_threads()
    try:
        for _ in range(recipe.steps):
            if threads is not None and (count := threads()) != torch.get_num_threads():
                torch.set_num_threads(count)
            inputs, targets, carry = next(batches)
            loss, state = train_step(model, optimizer, inputs, targets,
                                     state if carry else None, clip=recipe.clip)  # fmt: skip
            schedule.step()
            losses.append(loss / math.log(2))
    finally:
        torch.set_num_threads(before)
    return LMRun(recipe, model.eval(), losses, time.process_time() - began)
