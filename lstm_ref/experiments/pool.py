"""Independent seeded runs spread over the machine's cores, results in order.

Every training run in the experiments seeds itself (weights and batches) and uses one
torch thread, so it gives the same numbers in any process. Running the runs of a sweep
in parallel processes therefore changes only the wall time: on two cores, chapters 1
and 4 take about half as long.

Processes are started with ``spawn`` (a fresh interpreter), never ``fork``: forking a
process whose OpenMP threads have run can deadlock the child, and a Jupyter kernel's
state should not be copied into workers. The functions run must be importable from a
module (not defined in a notebook cell), and their arguments and results picklable.

Set ``LSTM_REF_WORKERS=1`` to run everything in the calling process.

Example:
    >>> from lstm_ref.experiments.pool import starmap
    >>> starmap(pow, [(2, 3), (3, 2)], workers=1)
    [8, 9]
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


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
        Whatever a job raises, re-raised here.
    """
    jobs = list(jobs)
    workers = min(workers or available_workers(), len(jobs))
    if workers <= 1:
        return [fn(*job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(fn, *zip(*jobs)))


def cpu_time() -> float:
    """CPU seconds used by this process and by its finished child processes.

    ``time.process_time()`` misses the work done in :func:`starmap`'s worker processes;
    this adds it (``RUSAGE_CHILDREN``: user + system time of children that have ended).
    """
    try:
        import resource  # POSIX only
    except ImportError:  # Windows: the children's time is not available
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime
