"""Independent seeded runs spread over the machine's cores, results in order.

Every training run in the experiments seeds itself (weights and batches), and a worker
runs it on one torch thread, so it gives the same numbers in any process. Running the
runs of a sweep in parallel processes therefore changes only the wall time: on two
cores, a chapter's training takes about half as long.

Processes are started with ``spawn`` (a fresh interpreter), never ``fork``: forking a
process whose OpenMP threads have run can deadlock the child, and a Jupyter kernel's
state should not be copied into workers. The functions run must be importable from a
module (not defined in a notebook cell), and their arguments and results picklable.

The workers are started once and kept for the life of the calling process (a chapter
calls :func:`starmap` several times; starting a worker and importing torch into it takes
seconds). Each worker runs torch on one thread, keeps the memory it frees for reuse
(:func:`keep_freed_memory`) and exits when its parent does.

Set ``LSTM_REF_WORKERS=1`` to run everything in the calling process.

Example:
    >>> from lstm_ref.experiments.pool import starmap
    >>> starmap(pow, [(2, 3), (3, 2)], workers=1)
    [8, 9]
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import platform
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

_pools: dict[int, ProcessPoolExecutor] = {}  # worker count -> the pool kept for it
_pools_lock = threading.Lock()
_elsewhere = threading.local()  # .always: starmap never runs jobs in this thread


def available_workers() -> int:
    """``LSTM_REF_WORKERS`` if set, else the CPUs this process may run on.

    Raises:
        ValueError: if ``LSTM_REF_WORKERS`` is not a positive integer.
    """
    setting = os.environ.get("LSTM_REF_WORKERS", "").strip()
    if setting:
        if not setting.isdigit() or int(setting) < 1:
            raise ValueError(f"LSTM_REF_WORKERS must be a positive integer, got {setting!r}")
        return int(setting)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def starmap(fn: Callable[..., Any], jobs: Iterable[tuple], *, workers: int | None = None) -> list:
    """``[fn(*job) for job in jobs]``, with the jobs spread over `workers` processes.

    Args:
        fn: a module-level function (picklable by reference).
        jobs: argument tuples; results come back in their order.
        workers: processes to use; default :func:`available_workers`. With one worker
            (or one job) everything runs here, in this process.

    Returns:
        The results, one per job, in the order of `jobs`.

    Raises:
        Whatever a job raises, re-raised here. A worker that dies (killed, out of
        memory) raises ``BrokenProcessPool``; the next call starts fresh workers.
        KeyboardInterrupt (Jupyter's "interrupt the kernel") ends the workers and their
        runs at once, and the next call starts fresh ones too.
    """
    jobs, workers = list(jobs), workers or available_workers()
    if min(workers, len(jobs)) <= 1 and not getattr(_elsewhere, "always", False):
        return [fn(*job) for job in jobs]
    return results(start(fn, jobs, workers=workers))


@contextmanager
def in_workers() -> Iterator[None]:
    """In this thread, :func:`starmap` sends even one job, or jobs for one worker, to a
    worker process: a thread beside the main one must not train with torch's global
    state (:mod:`lstm_ref.experiments.ahead` runs started calls in it)."""
    previous = getattr(_elsewhere, "always", False)
    _elsewhere.always = True
    try:
        yield
    finally:
        _elsewhere.always = previous


def start(fn: Callable[..., Any], jobs: Iterable[tuple], *, workers: int) -> list[Future]:
    """Submit every ``fn(*job)`` to the kept pool of `workers` processes; return at once.

    The jobs run in the background while this process goes on (chapter 5 trains its
    small models this way while it reads its corpus); :func:`results` waits for them.
    Unlike :func:`starmap`, one worker is still a process of its own.

    Returns:
        One ``concurrent.futures.Future`` per job, in the order of `jobs`.
    """
    pool = _pool(workers)
    return [pool.submit(fn, *job) for job in jobs]


def results(futures: Sequence[Future]) -> list:
    """The results of :func:`start`'s `futures`, in order, once all have finished.

    Raises:
        As :func:`starmap`: what a job raised; ``BrokenProcessPool`` if a worker died.
        In the main thread, KeyboardInterrupt or a dead worker also ends the workers
        and their jobs at once (another thread leaves that to the main one). After a
        failure the jobs not yet started are dropped.
    """
    try:
        return [future.result() for future in futures]
    except (BrokenProcessPool, KeyboardInterrupt):
        if threading.current_thread() is threading.main_thread():  # not a started call's
            shutdown(kill=True)  # an interrupted sweep leaves no run going on behind it
        raise
    finally:
        for future in futures:
            future.cancel()


def busy(futures: Iterable[Future]) -> int:
    """How many of `futures` have not finished: jobs running or waiting for a worker."""
    return sum(not future.done() for future in futures)


def seeded_runs(
    run: Callable[[str, int], Any],
    names: Sequence[str],
    seeds: Sequence[int] | Mapping[str, Sequence[int]],
    *,
    known: Collection[str] | None = None,
    workers: int | None = None,
) -> dict[tuple[str, int], Any]:
    """``{(name, seed): run(name, seed)}`` for every name and its seeds, via :func:`starmap`.

    Args:
        run: a module-level function (or a ``functools.partial`` of one).
        names: the names to run, in order.
        seeds: the seeds of every name, or a mapping name -> seeds (then it picks the
            names and their order, and `names` only checks them).
        known: the names `run` accepts, if it is choosy: others fail here, before any
            run starts, not in a worker.
        workers: as for :func:`starmap`.

    Raises:
        ValueError: a name in `seeds` that is not in `names`, or one not `known`.
    """
    if known is not None and (unknown := [name for name in names if name not in known]):
        raise ValueError(f"expected names from {list(known)}, got {unknown}")
    if isinstance(seeds, Mapping):
        unknown = [name for name in seeds if name not in names]
        if unknown:
            raise ValueError(f"expected names from {list(names)}, got {unknown}")
    else:
        seeds = dict.fromkeys(names, seeds)
    keys = [(name, seed) for name, of_name in seeds.items() for seed in of_name]
    return dict(zip(keys, starmap(run, keys, workers=workers)))


def _pool(workers: int) -> ProcessPoolExecutor:
    """The kept pool of `workers` processes, started on first use."""
    with _pools_lock:  # a started call (lstm_ref.experiments.ahead) may ask at once
        if workers not in _pools or getattr(_pools[workers], "_broken", False):
            context = multiprocessing.get_context("spawn")
            _pools[workers] = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_start_worker,
                initargs=(os.getpid(),),
            )  # fmt: skip
        return _pools[workers]


def shutdown(*, kill: bool = False) -> None:
    """Stop the kept workers (they are started again when needed).

    With `kill`, end them at once, runs and all; otherwise let running jobs finish.
    """
    while True:
        with _pools_lock:
            if not _pools:
                return
            pool = _pools.popitem()[1]
        if kill:  # Python 3.14 has pool.kill_workers(); before it, only the private map
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)


def _end_at_exit() -> None:
    """When this process exits nobody can wait for a result: end the workers at once,
    runs and all, rather than let concurrent.futures wait for every run still going
    (a started call that a page never collected, say)."""
    shutdown(kill=True)


# threading's exit hooks run last-registered first: this one before concurrent.futures'
getattr(threading, "_register_atexit", lambda hook: None)(_end_at_exit)


def _start_worker(parent: int) -> None:
    """In each worker: one torch thread, no Ctrl-C, and exit when the parent is gone.

    Jupyter interrupts and shuts down a kernel with SIGINT to its process group; the
    parent handles that, and a worker should neither die of it mid-job nor print a
    traceback while idle.
    """
    import torch

    torch.set_num_threads(1)
    keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:  # a killed parent cannot shut its workers down itself
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts: HEAP_MAX_SIZE / 2 on 64-bit


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks of up to 32 MiB for reuse; True if it does.

    By default glibc serves a large block (128 KiB, rising with use) with a fresh
    ``mmap`` and hands the heap's free top back to the system, so each training step
    pays a page fault for every 4 KiB of its large activations: chapter 6's attention
    scores, 2.5 MB per buffer, cost about 1 700 faults and 3-4 ms of a 30 ms step.
    Setting both thresholds (``mallopt``, as ``GLIBC_TUNABLES=glibc.malloc.…`` would at
    start-up) keeps the memory in the process instead, at the price of holding on to
    what it freed (up to 64 MiB free at the top of the heap). PyTorch's CPU tuning guide
    suggests jemalloc or TCMalloc for the same reason; they are not on every machine,
    glibc is on most Linux ones. No result changes: the arithmetic is the same, only
    where the memory comes from is not (benchmarks/README.md, "Chapters 5 and 6, and the memory
    of the pool's workers").

    Elsewhere (macOS, Windows, musl) it does nothing and returns False.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        and libc.mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD)
    )


def cpu_time() -> float:
    """CPU seconds used by this process and by its worker processes, running or ended.

    ``time.process_time()`` misses the work done in :func:`starmap`'s workers; this adds
    the kept workers' time (psutil) and that of child processes that have ended
    (``RUSAGE_CHILDREN``: user + system time).
    """
    import psutil

    total = time.process_time()
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:  # ended since listed: counted below once reaped
            continue
        total += times.user + times.system
    try:
        import resource  # POSIX only
    except ImportError:  # Windows: ended children's time is not available
        return total
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + children.ru_utime + children.ru_stime
