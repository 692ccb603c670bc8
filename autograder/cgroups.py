"""A pids cgroup per sandbox: a cap on the processes (and threads) that student code starts.

A fork bomb in a cell would otherwise run until the cell's time limit and use up the
machine's process ids (``/proc/sys/kernel/pid_max``) or its memory, and the kernels of
students graded beside it on other workers would fail to start or to fork. RLIMIT_NPROC
cannot stop it: a kernel's real user is root, which that limit exempts. The kernel's
pids cgroup can (the Linux kernel's ``Documentation/admin-guide/cgroup-v1/pids.rst``):
once it holds ``pids.max`` tasks, ``fork`` and ``clone`` fail with EAGAIN inside it.

Each sandbox gets a cgroup of its own, ``autograder-<pid>-<n>`` (``pid``: the grading
worker that made it), in the worker's own cgroup of the pids hierarchy: cgroup v1's pids
controller, or cgroup v2 where ``pids`` is available. The process that starts bubblewrap
joins it before ``bwrap`` runs (:mod:`autograder.jail`), so everything started inside is
counted, and the sandbox mounts ``/sys`` read-only: nothing inside can raise the cap or
leave the cgroup. When the sandbox ends the cgroup is emptied and removed
(:meth:`PidsCgroup.remove`); cgroups left by a worker that crashed are removed when the
next worker first looks for the hierarchy (:func:`sweep`).

Where no pids hierarchy is writable (an unprivileged JupyterHub user, a container without
its cgroup delegated), :func:`create` returns None, grading goes on without the cap, and a
warning says so once per process.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import signal
import time
import warnings
from pathlib import Path

PREFIX = "autograder-"
NAME = re.compile(r"autograder-(\d+)-(\d+)\Z")  # autograder-<worker pid>-<n>
_numbers = itertools.count()


def _mounts(mountinfo: str) -> list[tuple[str, str, str, set[str]]]:
    """(root within the hierarchy, mount point, file system type, super options) of each
    line of /proc/self/mountinfo (proc(5)); octal escapes in paths decoded."""

    def unescape(path: str) -> str:
        return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)

    mounts = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        fstype, options = fields[dash + 1], fields[dash + 3] if len(fields) > dash + 3 else ""
        mounts.append((unescape(fields[3]), unescape(fields[4]), fstype, set(options.split(","))))
    return mounts


def _inside(mount_root: str, path: str) -> str | None:
    """``path`` (a cgroup, from /proc/self/cgroup) relative to a mount of ``mount_root``."""
    if mount_root == "/":
        return path.lstrip("/")
    if path == mount_root or path.startswith(mount_root.rstrip("/") + "/"):
        return path[len(mount_root) :].lstrip("/")
    return None


def find(mountinfo: str, cgroup: str) -> tuple[int, Path] | None:
    """(cgroup version, folder of this process's cgroup) in a pids hierarchy, from the texts
    of /proc/self/mountinfo and /proc/self/cgroup; None when there is none.

    cgroup v1: a ``cgroup`` mount whose options name ``pids``; v2: the ``cgroup2`` mount,
    when the process's cgroup lists ``pids`` in ``cgroup.controllers``."""
    mine: dict[str, str] = {}  # controller ("" for v2) -> this process's cgroup path
    for line in cgroup.splitlines():
        number, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if number != "0" else [""]:
            mine[controller] = path
    mounts = _mounts(mountinfo)
    for root, point, fstype, options in mounts:
        if fstype == "cgroup" and "pids" in options and "pids" in mine:
            relative = _inside(root, mine["pids"])
            if relative is not None and (Path(point) / relative).is_dir():
                return 1, Path(point) / relative
    for root, point, fstype, _ in mounts:
        if fstype == "cgroup2" and "" in mine:
            relative = _inside(root, mine[""])
            folder = Path(point) / relative if relative is not None else None
            with contextlib.suppress(OSError):
                if folder and "pids" in (folder / "cgroup.controllers").read_text().split():
                    return 2, folder
    return None


@functools.cache
def parent() -> Path | None:
    """The folder in which this process makes its sandboxes' cgroups (its own cgroup in a
    writable pids hierarchy, stale cgroups of crashed workers removed), or None, with a
    warning once, when there is none it may write."""
    reason = "no pids cgroup controller is mounted"
    with contextlib.suppress(OSError):
        proc = Path("/proc/self")
        found = find((proc / "mountinfo").read_text(), (proc / "cgroup").read_text())
        if found is not None:
            version, folder = found
            reason = f"{folder} is not writable"
            if version == 2:  # children get the controller only when it is delegated
                control = folder / "cgroup.subtree_control"
                try:
                    if "pids" not in control.read_text().split():
                        control.write_text("+pids")
                except OSError as error:  # EBUSY: processes in a non-root cgroup (v2's rule)
                    reason = f"pids cannot be enabled for {folder}'s children ({error.strerror})"
                    folder = None
            if folder is not None and os.access(folder, os.W_OK):
                sweep(folder)
                return folder
    warnings.warn(f"no process-count cap on student kernels: {reason}. A fork bomb can use up "
                  "the machine's process ids (run the grader as root, or delegate a pids "
                  "cgroup to it).", stacklevel=2)  # fmt: skip
    return None


class PidsCgroup:
    """One pids cgroup, ``folder``; :func:`create` makes one."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @property
    def procs(self) -> Path:
        """The file a process writes its pid to, to join (``cgroup.procs``)."""
        return self.folder / "cgroup.procs"

    def pids(self) -> list[int]:
        """The processes in it (their ids as this process sees them)."""
        with contextlib.suppress(FileNotFoundError):
            return [int(p) for p in self.procs.read_text().split()]
        return []

    def limit(self) -> str:
        return (self.folder / "pids.max").read_text().strip()

    def remove(self, timeout: float = 10.0) -> bool:
        """Kill what is still in it, then remove it; whether it is gone."""
        deadline = time.monotonic() + timeout
        while self.folder.exists():
            kill = self.folder / "cgroup.kill"  # v2, Linux 5.14: the whole cgroup at once
            with contextlib.suppress(OSError):
                if kill.exists():
                    kill.write_text("1")
            for pid in self.pids():  # none, unless the sandbox is still ending
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.folder.rmdir()
            except FileNotFoundError:
                break
            except OSError:  # EBUSY: processes still exiting
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        return True


def create(pids_max: int) -> PidsCgroup | None:
    """A new, empty cgroup that lets at most ``pids_max`` processes and threads live in it,
    named ``autograder-<this pid>-<n>``; None when no pids hierarchy is writable."""
    folder = parent()
    if folder is None:
        return None
    cgroup = PidsCgroup(folder / f"{PREFIX}{os.getpid()}-{next(_numbers)}")
    try:
        cgroup.folder.mkdir()
        (cgroup.folder / "pids.max").write_text(str(int(pids_max)))
    except OSError as error:
        cgroup.remove()
        warnings.warn(f"no process-count cap on this sandbox: {error}", stacklevel=2)
        return None
    return cgroup


def join(procs: str | os.PathLike) -> None:
    """Move this process into the cgroup whose ``cgroup.procs`` is ``procs`` (its children,
    from now on, start there). Raises OSError when it cannot."""
    Path(procs).write_text(str(os.getpid()))


def sweep(folder: Path) -> list[Path]:
    """Remove the cgroups in ``folder`` that grading workers no longer running left behind
    (killing what is still inside); the ones removed."""
    removed = []
    for child in folder.iterdir():
        match = NAME.match(child.name)
        if match is None or not child.is_dir() or _running(int(match.group(1))):
            continue
        if PidsCgroup(child).remove(timeout=2):
            removed.append(child)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
