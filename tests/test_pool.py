"""Spreading seeded runs over processes changes the time taken, never a result."""

from __future__ import annotations

import time

import pytest
import torch

from lstm_ref.experiments import memory, pool
from lstm_ref.experiments.memory import ModelSpec, Recipe

TINY = Recipe(max_steps=20, check_every=10, batch_size=16)
SPEC = ModelSpec("LSTM", "LSTM", hidden_size=8)


def _tiny_recall(lag: int, seed: int) -> memory.Run:
    return memory.recall_run(SPEC, lag, seed, recipe=TINY)


def test_runs_in_two_processes_equal_runs_here_bit_for_bit():
    jobs = [(2, 0), (3, 1), (2, 2)]
    here = pool.starmap(_tiny_recall, jobs, workers=1)
    spread = pool.starmap(_tiny_recall, jobs, workers=2)
    assert len(here) == len(spread) == 3
    for a, b in zip(here, spread):
        assert a.score == b.score and a.steps == b.steps
        assert a.history.loss == b.history.loss
        for (name, p), (_, q) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
            assert torch.equal(p, q), name


def test_results_come_back_in_the_order_of_the_jobs():
    jobs = [(base, 2) for base in range(7)]
    assert pool.starmap(pow, jobs, workers=2) == [base**2 for base in range(7)]


def test_a_failing_job_raises_in_the_caller():
    with pytest.raises(ZeroDivisionError):
        pool.starmap(divmod, [(1, 1), (1, 0)], workers=2)


def test_the_worker_setting_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("LSTM_REF_WORKERS", "3")
    assert pool.available_workers() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("LSTM_REF_WORKERS", bad)
        with pytest.raises(ValueError, match="LSTM_REF_WORKERS"):
            pool.available_workers()
    monkeypatch.delenv("LSTM_REF_WORKERS")
    assert pool.available_workers() >= 1


def test_sweeps_are_laid_out_by_model_seed_and_lag():
    specs = (SPEC, ModelSpec("RNN", "RNN", hidden_size=8))
    sweeps = memory.recall_sweeps(specs, lags=(2, 3), seeds=(0, 1), workers=1)
    assert list(sweeps) == ["LSTM", "RNN"]
    assert [[len(row) for row in runs] for runs in sweeps.values()] == [[2, 2], [2, 2]]
    alone = memory.recall_run(specs[1], 3, 1)
    assert sweeps["RNN"][1][1].score == alone.score


def test_cpu_time_counts_the_workers():
    """Two workers each import torch and train: that CPU time shows in cpu_time() only."""
    cpu, own = pool.cpu_time(), time.process_time()
    pool.starmap(_tiny_recall, [(3, 0), (3, 1)], workers=2)
    grew, own_grew = pool.cpu_time() - cpu, time.process_time() - own
    assert grew > own_grew + 0.5  # the workers' imports alone take seconds of CPU
