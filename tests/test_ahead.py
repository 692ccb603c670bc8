"""A sweep started at the top of a page is collected, not run twice, with equal numbers."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import pytest
import torch

from lstm_ref.experiments import ahead, memory, pool
from lstm_ref.experiments.ahead import startable, uncollected

calls: list[tuple[int, int, str]] = []  # (x, y, thread name) of every real call


@startable
def record(x: int, y: int = 10, *, workers: int | None = None) -> int:
    calls.append((x, y, threading.current_thread().name))
    return x * y


@startable
def keywords(*, workers: int | None = None, **settings) -> list:
    return sorted(settings.items())


@pytest.fixture(autouse=True)
def fresh():
    calls.clear()
    yield
    left = uncollected()
    ahead._started.clear()  # so that one failure does not fail the tests after it
    pool.shutdown(kill=True)
    assert left == [], "a test left a started call behind"


def test_a_started_call_runs_once_in_the_background_and_is_collected():
    record.start(3, workers=2)
    assert record(3, workers=2) == 30
    assert len(calls) == 1 and calls[0][2] != threading.main_thread().name


def test_calls_match_after_binding_keywords_and_defaults():
    record.start(4, workers=2)
    record.start(5, 2, workers=2)
    assert len(uncollected()) == 2
    assert record(x=4, y=10, workers=2) == 40  # the same call, spelt differently
    assert record(5, workers=2) == 50  # not record(5, 2): computed here
    assert calls[-1] == (5, 10, threading.main_thread().name)
    assert uncollected() == ["record(5, 2, workers=2)"]
    assert record(5, y=2, workers=2) == 10  # collects the other
    assert [c[:2] for c in calls].count((5, 2)) == 1


def test_starting_an_equal_call_twice_runs_it_once():
    record.start(6, workers=2)
    record.start(6, workers=2)
    assert len(uncollected()) == 1
    assert record(6, workers=2) == 60 and len(calls) == 1


def test_on_one_core_nothing_starts(monkeypatch):
    record.start(7, workers=1)
    monkeypatch.setenv("LSTM_REF_WORKERS", "1")
    record.start(8)
    assert uncollected() == [] and calls == []


failures = {"left": 0, "error": None}


@startable
def flaky(x: int, *, workers: int | None = None) -> int:
    if failures["left"]:
        failures["left"] -= 1
        raise failures["error"]
    return x + 1


def test_a_started_call_whose_workers_died_is_computed_afresh_with_a_warning():
    failures.update(left=1, error=BrokenProcessPool("a worker was killed"))
    flaky.start(1, workers=2)
    with pytest.warns(RuntimeWarning, match="computing it again"):
        assert flaky(1, workers=2) == 2
    assert failures["left"] == 0


def test_a_started_call_that_raised_raises_where_it_is_collected():
    failures.update(left=1, error=ValueError("a bug in the sweep"))
    flaky.start(2, workers=2)
    with pytest.raises(ValueError, match="a bug in the sweep"):
        flaky(2, workers=2)
    assert failures["left"] == 0  # not run a second time


def test_a_started_call_runs_on_the_arguments_as_they_were_at_start():
    values = [1, 2]
    keywords.start(values=values, workers=2)
    values.append(99)  # the page edits its list after the start
    assert keywords(values=[1, 2], workers=2) == [("values", [1, 2])]


def test_equal_arguments_match_whatever_objects_spell_them():
    record.start(("plain, wider",) * 2, 1, workers=2)  # one string object, twice
    equal = tuple("".join(["plain, ", "wider"]) for _ in range(2))  # two objects
    assert record(equal, 1, workers=2) == ("plain, wider", "plain, wider")
    assert len(calls) == 1  # collected, not computed again


def test_while_a_call_is_started_others_with_unpicklable_arguments_still_run():
    record.start(9, workers=2)
    view = {"a": 1}.keys()  # cannot be pickled
    assert keywords(view=view, workers=2) == [("view", view)]
    assert record(9, workers=2) == 90


def _pid() -> int:
    return os.getpid()


@startable
def pids_of(n: int, *, workers: int | None = None) -> list[int]:
    return pool.starmap(_pid, [()] * n, workers=workers)


def test_a_started_call_never_runs_its_jobs_in_its_own_thread():
    """Seeded runs in a thread of the page's process would share torch's global seed
    and thread count with the page's cells: the jobs go to a worker even when there is
    only one of them (or one worker)."""
    pids_of.start(1, workers=2)
    (pid,) = pids_of(1, workers=2)
    assert pid != os.getpid()
    assert pids_of(1, workers=2) == [os.getpid()]  # called here, not started: runs here


def test_keyword_arguments_match_in_any_order():
    keywords.start(steps=800, batch_size=64, workers=2)
    assert keywords(batch_size=64, steps=800, workers=2) == [("batch_size", 64), ("steps", 800)]


def _spin(seconds: float) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return os.getpid()


@startable
def spins(n: int, *, workers: int | None = None) -> list[int]:
    return pool.starmap(_spin, [(60.0,)] * n, workers=workers)


def test_interrupting_the_call_that_collects_ends_the_started_runs():
    """Jupyter's interrupt in the cell that shows a sweep must stop its runs, as it
    does when the cell ran the sweep itself."""
    spins.start(2, workers=2)
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: _interrupt())
    signal.alarm(3)
    began = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            spins(2, workers=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - began < 30  # did not wait for the 60 s runs
    assert pool._pools == {}  # the workers were ended; the next call starts fresh ones
    assert pool.starmap(pow, [(2, 2), (3, 2)], workers=2) == [4, 9]


def _interrupt():
    raise KeyboardInterrupt


TINY = memory.Recipe(max_steps=20, check_every=10, batch_size=16)


def _tiny_recall(lag: int, seed: int) -> memory.Run:
    return memory.recall_run(memory.ModelSpec("LSTM", "LSTM", hidden_size=8), lag, seed,
                             recipe=TINY)  # fmt: skip


@startable
def tiny_sweep(lags: tuple[int, ...], *, workers: int | None = None) -> list[memory.Run]:
    return pool.starmap(_tiny_recall, [(lag, s) for lag in lags for s in (0, 1)],
                        workers=workers)  # fmt: skip


def test_a_started_sweep_gives_the_numbers_of_a_call_made_here():
    tiny_sweep.start((2, 3), workers=2)
    started = tiny_sweep((2, 3), workers=2)  # collected
    here = tiny_sweep((2, 3), workers=1)  # nothing started: trained in this process
    assert len(started) == len(here) == 4
    for a, b in zip(started, here, strict=True):
        assert a.score == b.score and a.history.loss == b.history.loss
        for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
            assert torch.equal(p, q)


@startable(whole=True)
def tiny_model(lag: int, seed: int, *, workers: int | None = None) -> tuple[int, memory.Run]:
    """One job, not a sweep: a started call runs whole in a worker."""
    return os.getpid(), _tiny_recall(lag, seed)


def test_a_whole_call_started_runs_in_a_worker_with_the_numbers_of_one_made_here():
    tiny_model.start(2, 0, workers=2)
    pid, started = tiny_model(2, 0, workers=2)  # collected
    here_pid, here = tiny_model(2, 0, workers=2)  # nothing started: trained here
    assert pid != os.getpid() and here_pid == os.getpid()
    assert started.score == here.score and started.history.loss == here.history.loss
    for p, q in zip(started.model.parameters(), here.model.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kill", [True, False], ids=["killed", "cancelled"])
def test_a_whole_call_whose_pool_was_ended_is_computed_afresh_with_a_warning(kill):
    """Killed workers break the queued job's future; a graceful end cancels it."""
    # both workers busy and one job more, which the pool has already handed on: the
    # call waits in the pool's own queue, where ending the pool can drop it
    pool.start(_spin, [(1.0,)] * 3, workers=2)
    tiny_model.start(3, 1, workers=2)
    pool.shutdown(kill=kill)  # an interrupt elsewhere, or the pool ended: job dropped
    with pytest.warns(RuntimeWarning, match="computing it again"):
        pid, run = tiny_model(3, 1, workers=2)
    assert pid == os.getpid() and run.history.loss
