"""Start a chapter's sweeps at the top of its page; collect them where the page shows them.

A Jupyter kernel runs one cell at a time. While it imports, reads data or draws a
figure, one core works and the others wait; when it reaches a sweep, the sweep's runs
fill every core (:mod:`lstm_ref.experiments.pool`). A function decorated with
:func:`startable` gains a ``start`` method: ``f.start(*args)`` begins ``f(*args)`` in a
background thread of this process and returns at once, so the sweep's runs train in
the workers while the page goes on. The later call ``f(*args)``, with equal arguments,
waits for that result instead of computing it again. The numbers are the same either
way: every run is seeded and trains in a worker process.

Only a function whose work is a :func:`~lstm_ref.experiments.pool.starmap` of seeded
jobs may be startable: what it does in the thread itself must not touch torch's global
state (its seed or thread count), which the page's own cells use meanwhile. With fewer
than two workers ``start`` does nothing, and the later call computes as usual.

Example:
    >>> @startable
    ... def squares(n):
    ...     return [k * k for k in range(n)]
    >>> squares.start(4)
    >>> squares(4)  # collects the started call
    [0, 1, 4, 9]
    >>> uncollected()
    []
"""

from __future__ import annotations

import inspect
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import wraps
from typing import Any, TypeVar

from lstm_ref.experiments.pool import available_workers, shutdown

F = TypeVar("F", bound=Callable[..., Any])

_started: dict[bytes, tuple[str, Future]] = {}  # call key -> (call in words, its future)
_lock = threading.Lock()
_threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lstm_ref-ahead")


def startable(fn: F) -> F:
    """Give `fn` a ``start(*args, **kwargs)`` method (see the module); a `workers`
    argument, if given, is `fn`'s own and also says how many cores there are.

    Calls are matched by their arguments after binding to `fn`'s signature with its
    defaults, compared by their pickled bytes: ``f(2)`` collects ``f.start(x=2)``, and
    ``**kwargs`` match in any order.
    A started call that failed (a worker killed, the sweep interrupted) is computed
    afresh by the call that collects it, so a failure costs time, never a result.
    Interrupting that call while it waits ends the started runs, as for ``starmap``.
    """
    signature = inspect.signature(fn)
    keywords = [p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]

    def key(args: tuple, kwargs: dict) -> bytes:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for name in keywords:  # **kwargs: f(a=1, b=2) is f(b=2, a=1)
            bound.arguments[name] = sorted(bound.arguments[name].items())
        return pickle.dumps((fn.__module__, fn.__qualname__, sorted(bound.arguments.items())))

    @wraps(fn)
    def call(*args, **kwargs):
        if not _started:  # the usual case: nothing started, nothing to match
            return fn(*args, **kwargs)
        with _lock:
            started = _started.pop(key(args, kwargs), None)
        try:
            if started is not None and started[1].exception() is None:  # waits for it
                return started[1].result()
        except KeyboardInterrupt:  # Jupyter's interrupt: end the started runs too
            shutdown(kill=True)
            raise
        return fn(*args, **kwargs)

    def start(*args, **kwargs) -> None:
        if (kwargs.get("workers") or available_workers()) < 2:
            return  # one core: nothing runs beside the page, so nothing to gain
        k = key(args, kwargs)
        with _lock:
            if k not in _started:
                shown = [*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]
                words = f"{fn.__qualname__}({', '.join(shown)})"[:200]
                _started[k] = (words, _threads.submit(fn, *args, **kwargs))

    call.start = start
    return call  # type: ignore[return-value]


def uncollected() -> list[str]:
    """The started calls no call has collected yet, in words.

    A chapter checks this is empty at its end: a call started with other arguments
    than the page later uses would train for nothing, beside the page's own work.
    """
    with _lock:
        return [words for words, _ in _started.values()]
