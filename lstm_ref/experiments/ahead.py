"""Start a chapter's sweeps at the top of its page; collect them where the page shows them.

A Jupyter kernel runs one cell at a time. While it imports, reads data or draws a
figure, one core works and the others wait; when it reaches a sweep, the sweep's runs
fill every core (:mod:`lstm_ref.experiments.pool`). A function decorated with
:func:`startable` gains a ``start`` method: ``f.start(*args)`` begins ``f(*args)`` in a
background thread of this process and returns at once, so the sweep's runs train in
the workers while the page goes on. The later call ``f(*args)``, with equal arguments,
waits for that result instead of computing it again. The numbers are the same either
way: every run is seeded and trains in a worker process.

Rules for a startable function and its page:

* its work is a :func:`~lstm_ref.experiments.pool.starmap` (or ``seeded_runs``) of
  seeded jobs; in the thread it may do nothing else that touches torch's global state
  (seed, thread count), which the page's own cells use meanwhile. Its jobs always go
  to the workers, even one job;
* its arguments are picklable data; the call runs on a copy taken at ``start``, so a
  page that edits an argument afterwards does not change the started run;
* the page runs its own torch on one thread (``torch.set_num_threads(1)``): the workers
  have the cores, and a second kernel thread would wait for one at every operation.

A function that is one job, not a sweep (it trains one model), is marked
``@startable(whole=True)``: started, the whole call is one job of the pool, queued
behind the jobs started before it, so it trains where a sweep leaves a worker idle.

With fewer than two workers ``start`` does nothing, and the later call computes as usual.

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
import warnings
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
from functools import partial, wraps
from typing import Any, TypeVar

from lstm_ref.experiments.pool import available_workers, in_workers, shutdown
from lstm_ref.experiments.pool import start as submit

F = TypeVar("F", bound=Callable[..., Any])

_started: list[tuple[Callable, tuple, str, Future]] = []  # (fn, arguments, words, future)
_lock = threading.Lock()


def startable(fn: F | None = None, *, whole: bool = False) -> F:
    """Give `fn` a ``start(*args, **kwargs)`` method (see the module); a `workers`
    argument, if given, is `fn`'s own and also says how many cores there are.

    With `whole`, `fn` is one job: ``start`` submits the whole call to the pool's
    workers at once, in the order of the ``start`` calls. Then `fn` must be defined at
    module level and its result picklable (it comes back from a worker process).

    A call collects a started one when their arguments, bound to `fn`'s signature with
    its defaults, are equal (``==``): ``f(2)`` collects ``f.start(x=2)``, and
    ``**kwargs`` match in any order. Arguments that cannot be compared match nothing.

    A started call that raised is re-raised by the call that collects it; one whose
    workers were killed (a worker died, the sweep was interrupted) is computed afresh
    there, with a warning. Interrupting that call while it waits ends every started
    run, as an interrupt in :func:`~lstm_ref.experiments.pool.starmap` ends its sweep.
    """
    if fn is None:  # @startable(whole=True)
        return partial(startable, whole=whole)  # type: ignore[return-value]
    signature = inspect.signature(fn)

    def arguments(args: tuple, kwargs: dict) -> tuple:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        named = dict(bound.arguments)
        for p in signature.parameters.values():
            if p.kind is p.VAR_KEYWORD:  # f(a=1, b=2) is f(b=2, a=1)
                named[p.name] = sorted(named[p.name].items())
        return tuple(sorted(named.items()))

    @wraps(fn)
    def call(*args, **kwargs):
        try:
            started = _take(fn, arguments(args, kwargs)) if _started else None
            if started is None:
                return fn(*args, **kwargs)
            error = _error(started)  # waits for it
        except KeyboardInterrupt:  # Jupyter's interrupt: end the started runs too
            shutdown(kill=True)
            raise
        if error is None:
            return started.result()
        if not isinstance(error, (BrokenProcessPool, CancelledError)):
            raise error
        warnings.warn(f"{fn.__qualname__}: the started call's workers ended ({error!r}); "
                      "computing it again here", RuntimeWarning, stacklevel=2)  # fmt: skip
        return fn(*args, **kwargs)

    def start(*args, **kwargs) -> None:
        workers = kwargs.get("workers") or available_workers()
        if workers < 2:
            return  # one core: nothing runs beside the page, so nothing to gain
        args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))  # the page's values now
        key = arguments(args, kwargs)
        with _lock:
            if any(f is fn and _equal(k, key) for f, k, _, _ in _started):
                return
            shown = [*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]
            words = f"{fn.__qualname__}({', '.join(shown)})"[:200]
            if whole:  # by reference: in the worker, `call` finds nothing started
                future = submit(_apply, [(call, args, kwargs)], workers=workers)[0]
            else:
                future = _in_thread(fn, args, kwargs)
            _started.append((fn, key, words, future))

    call.start = start
    return call  # type: ignore[return-value]


def uncollected() -> list[str]:
    """The started calls no call has collected yet, in words.

    A chapter checks this is empty at its end: a call started with other arguments
    than the page later uses trains for nothing (and, queued first, delays the page's
    own call), so the build should fail and say which.
    """
    with _lock:
        return [words for _, _, words, _ in _started]


def _take(fn: Callable, key: tuple) -> Future | None:
    """Remove and return the future of a started call of `fn` with arguments `key`."""
    with _lock:
        for i, (f, k, _, future) in enumerate(_started):
            if f is fn and _equal(k, key):
                del _started[i]
                return future
    return None


def _equal(a: tuple, b: tuple) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. tensors, whose == is elementwise: no match
        return False


def _error(future: Future) -> BaseException | None:
    """What the finished `future` raised, None if nothing; a cancelled one (a job the
    pool dropped when it was ended) gives CancelledError."""
    try:
        return future.exception()
    except CancelledError as cancelled:
        return cancelled


def _apply(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """fn(*args, **kwargs): a whole started call, run in a worker process."""
    return fn(*args, **kwargs)


def _in_thread(fn: Callable, args: tuple, kwargs: dict) -> Future:
    """Run fn(*args, **kwargs) in a daemon thread (one that never holds up the
    process's exit), its jobs sent to the workers; return its future."""
    future: Future = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            with in_workers():
                future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the call that collects it
            future.set_exception(error)

    threading.Thread(target=run, name=f"started {fn.__qualname__}", daemon=True).start()
    return future
