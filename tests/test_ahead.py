"""A sweep started at the top of a page is collected, not run twice, with equal numbers."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from lstm_ref.experiments import pool
from lstm_ref.experiments.ahead import startable, uncollected

calls: list[tuple[int, int, str]] = []  # (x, y, thread name) of every real call


@startable
def record(x: int, y: int = 10, *, workers: int | None = None) -> int:
    calls.append((x, y, threading.current_thread().name))
    return x * y


@pytest.fixture(autouse=True)
def fresh():
    calls.clear()
    yield
    assert uncollected() == [], "a test left a started call behind"


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


failures = {"left": 0}


@startable
def flaky(x: int, *, workers: int | None = None) -> int:
    if failures["left"]:
        failures["left"] -= 1
        raise RuntimeError("worker killed, say")
    return x + 1


def test_a_started_call_that_failed_is_computed_afresh():
    failures["left"] = 1
    flaky.start(1, workers=2)
    assert flaky(1, workers=2) == 2 and failures["left"] == 0


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


@startable
def keywords(*, workers: int | None = None, **settings) -> list:
    return sorted(settings.items())


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
