"""Kernels forked from a template process that has imported torch but never ran student code.

A graded kernel spends most of its life importing: about 1.9 s of a 2.4 s submission
goes to Python, ipykernel, torch, matplotlib and the course's checks. Each grading worker
therefore starts one *template* process (a "zygote", as Android calls its own) inside a
bubblewrap sandbox built exactly as a kernel's is (:func:`autograder.sandbox.confine`),
imports everything there once, and forks one kernel per submission from it. A fork costs
milliseconds, and the child starts with a copy of memory that no student code has touched.

What one student could leave behind for the next, and how each is removed before every
fork (:func:`clean`), all from inside the template's sandbox:

* **processes**: the template kills every process of the sandbox but itself and
  bubblewrap's init (``kill(-1, SIGKILL)`` in the sandbox's own process namespace), then
  waits until /proc shows none;
* **files**: everything that was not there when the template started is removed from the
  sandbox's writable folders (/tmp, /dev/shm, HOME, …, all emptied by the sandbox); the
  submission's own folder (the *slot*) is emptied by the worker;
* **System V IPC** objects (the sandbox has an IPC namespace of its own) are removed,
  and POSIX message queues (the template's sandbox mounts its queue folder on /dev/mqueue);
* **what was there before** (/dev's nodes and links, the folders themselves) must be as
  the template found it: a folder or node whose permissions a kernel changed (its owner,
  root, may) gets them back, a folder a kernel made unreadable is opened to be emptied,
  and if anything else differs (a link replaced, a node removed), or a process or file
  outlives the cleaning, the template reports itself dirty and the worker starts a new one;
* **bubblewrap's init** (pid 1, which ``kill(-1)`` cannot reach): each kernel runs in a user
  namespace of its own, so it holds no right over processes outside it, and cannot
  ``ptrace`` pid 1 or write its memory to leave code running there for later kernels;
* **the template itself**: it is not dumpable (``PR_SET_DUMPABLE`` 0), so a kernel,
  which holds no capabilities, cannot ``ptrace`` it nor write its memory. A kernel can
  kill it, which kills that kernel too (``PR_SET_PDEATHSIG``), as any cell that kills its
  kernel: that cell is skipped, the kernel restarted the ordinary way
  (:mod:`autograder.kernel`), and the next submission gets a new template.

The template's sandbox is one pids cgroup (:mod:`autograder.cgroups`): the template, its
kernel and whatever that kernel starts share its cap, and :func:`clean` kills the rest
before the next fork. The cgroup is removed when the template is closed.

The protocol is one ``SOCK_SEQPACKET`` Unix socket per worker, outside the sandbox; the
template inherits its listening end. The kernel launcher (``autograder.kernel``, which
nbgrader starts) sends a request with its standard streams attached (``SCM_RIGHTS``),
then waits; the template forks, and when the kernel exits it sends the exit status back,
so nbgrader sees the launcher end when the kernel does. When nbgrader kills the launcher,
the template kills the kernel.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from . import cgroups
from .sandbox import ENV, HIDE, Limits, apply_limits, confine, emptied

# what every graded kernel imports: loaded once, in the template. Not pyplot, nor the
# inline backend: they hook into the IPython shell of the process that imports them
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "numpy", "torch",
           "matplotlib.figure", "matplotlib.backends.backend_agg", "IPython.core.pylabtools",
           "autograder.progress",
           "lstm_ref.nn", "lstm_ref.grading")  # fmt: skip
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
CLONE_NEWUSER = 0x10000000
MQUEUE = "/dev/mqueue"  # POSIX message queues of the sandbox's IPC namespace
MAX_MESSAGE = 1 << 20
START_TIMEOUT = 120  # seconds for the template's imports


def request(path: str, message: dict, fds: tuple[int, ...] = ()) -> socket.socket:
    """Send ``message`` (and ``fds``) to the template listening at ``path``; the socket
    stays open for its answer. Raises OSError when no template answers there."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(path)
        socket.send_fds(conn, [json.dumps(message).encode()], list(fds))
    except OSError:
        conn.close()
        raise
    return conn


# ---------------------------------------------------------------- the template process


def main(listen_fd: int, ready_fd: int) -> None:
    """Run as the template: import, then fork a kernel per request, forever."""
    import importlib
    import pkgutil

    if not _in_own_namespace():  # kill(-1) below would reach the machine's processes
        sys.exit("autograder.zygote runs only inside bubblewrap's process namespace")
    if not _can_unshare_user():  # a kernel could then ptrace bubblewrap's init
        sys.exit("autograder.zygote needs user namespaces (kernel.unprivileged_userns_clone)")
    for name in PRELOAD:
        importlib.import_module(name)
    import lstm_ref.grading

    for module in pkgutil.walk_packages(lstm_ref.grading.__path__, "lstm_ref.grading."):
        importlib.import_module(module.name)
    _prctl(PR_SET_DUMPABLE, 0)  # no ptrace, no /proc/<pid>/mem, even for the same user
    listener = socket.socket(fileno=listen_fd)
    snapshot = _listing()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    os.write(ready_fd, b"ready")
    os.close(ready_fd)
    kernels: dict[int, socket.socket] = {}  # pid -> the launcher waiting for it
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listen")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    while True:
        for key, _ in selector.select():
            if key.data == "listen":
                _serve(listener, selector, kernels, snapshot)
            elif key.data == "child":
                os.read(wake_r, 512)
                _reap(selector, kernels)
            else:  # the launcher went away (nbgrader killed it): so does its kernel
                selector.unregister(key.fileobj)
                for kill in (os.killpg, os.kill):  # the group, or the child before setsid
                    with contextlib.suppress(OSError):
                        kill(key.data, signal.SIGKILL)


def _serve(listener, selector, kernels, snapshot) -> None:
    conn, _ = listener.accept()
    try:
        data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
        message = json.loads(data)
    except (OSError, ValueError):
        conn.close()
        return
    cleaned = clean(snapshot, kernels)
    if message.get("op") != "kernel" or len(fds) != 3:
        conn.send(b"clean" if cleaned else b"dirty")  # answer to a "clean" request
        conn.close()
        return
    pid = os.fork()
    if pid == 0:
        try:
            _kernel(message, fds)
        finally:
            os._exit(1)
    for fd in fds:
        os.close(fd)
    kernels[pid] = conn
    selector.register(conn, selectors.EVENT_READ, pid)


def _reap(selector, kernels) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if conn := kernels.pop(pid, None):
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(conn)
            with contextlib.suppress(OSError):
                conn.send(str(os.waitstatus_to_exitcode(status)).encode())
            conn.close()


def _kernel(message: dict, fds: list[int]) -> None:
    """In the forked child: become the submission's kernel (never returns)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, 1 << 16)  # the listener, other launchers' sockets, the selector
    os.setsid()  # a session of its own: killed as a group when its launcher goes
    if _unshare(CLONE_NEWUSER) != 0:  # no rights over pid 1 (ptrace) nor the template
        os._exit(1)
    os.environ.clear()
    os.environ.update(message["env"])
    os.chdir(message["cwd"])
    apply_limits(message["memory_mb"], message["file_mb"])
    _prctl(PR_SET_DUMPABLE, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # killing the template kills the kernel too
    if os.getppid() == 1:  # it died before that: the kernel dies now, as it would have
        os._exit(1)
    _fresh_state()
    from ipykernel import kernelapp

    # parent_handle's default was read from JPY_PARENT_PID when the template imported it
    argv = [*message["argv"], f"--IPKernelApp.parent_handle={os.environ.get('JPY_PARENT_PID', 1)}"]
    sys.argv = ["ipykernel_launcher", *argv]
    kernelapp.launch_new_instance(argv=argv)
    os._exit(0)


def _fresh_state() -> None:
    """What a new Python process would draw afresh: random seeds and the temp folder."""
    import random
    import tempfile

    import numpy as np

    random.seed()
    np.random.seed()  # noqa: NPY002 - the legacy global state, as a fresh import seeds it
    tempfile.tempdir = None  # TMPDIR is the kernel's now


def clean(snapshot: dict[str, tuple], kernels: dict) -> bool:
    """Remove what earlier kernels left in the sandbox: processes, files, IPC objects, and
    put back the permissions they changed; whether the sandbox is as it was at the start."""
    deadline = time.monotonic() + 5
    while True:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)  # all but this process and pid 1 (bubblewrap's init)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
        if not others or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    for conn in kernels.values():
        with contextlib.suppress(OSError):
            conn.send(b"-9")
            conn.close()
    kernels.clear()
    now = _listing()
    for path in sorted(now.keys() - snapshot.keys(), key=len, reverse=True):  # deepest first
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(now[path][0]):
                os.rmdir(path)
            else:
                os.unlink(path)
    for path, (mode, *same) in snapshot.items():  # a kernel, the owner, may chmod them
        if path in now and now[path] != (mode, *same) and now[path][1:] == tuple(same):
            with contextlib.suppress(OSError):
                if not stat.S_ISLNK(mode):
                    os.chmod(path, stat.S_IMODE(mode))
    _remove_ipc()
    return not others and _listing() == snapshot and not _ipc_left()


def _in_own_namespace() -> bool:
    """Whether pid 1 is bubblewrap's init, as in a sandbox with its own process namespace."""
    try:
        init = Path("/proc/1/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return os.path.basename(init) == b"bwrap"


def _writable_roots() -> list[str]:
    """The sandbox's writable folders that every kernel shares (the slot is the worker's)."""
    return [p for p in (*emptied(), "/dev", MQUEUE) if os.path.isdir(p)]


def _listing() -> dict[str, tuple]:
    """Every path in the writable folders, the folders themselves included, with what
    identifies it (mode, inode, device, a link's target), not descending into other
    mounts (the slot, the course code bound back). Without recursion (a kernel may nest
    folders thousands deep); a folder this process cannot read is made readable first."""
    paths = {}
    for root in _writable_roots():
        device = os.lstat(root).st_dev
        folders = [root]
        while folders:
            folder = folders.pop()
            with contextlib.suppress(OSError):
                paths[folder] = _identity(folder)
                if paths[folder][2] != device:  # another mount: listed, not entered
                    continue
                if not os.access(folder, os.R_OK | os.X_OK):  # chmod 0 hides nothing
                    os.chmod(folder, stat.S_IMODE(paths[folder][0]) | stat.S_IRWXU)
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(entry.path)
                        else:
                            with contextlib.suppress(OSError):
                                paths[entry.path] = _identity(entry.path)
    return paths


def _identity(path: str) -> tuple:
    info = os.lstat(path)
    target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
    return (info.st_mode, info.st_ino, info.st_dev, target)


def _ipc_left() -> bool:
    """Whether System V IPC objects (shared memory, semaphores, queues) exist."""
    for kind in ("shm", "sem", "msg"):
        with contextlib.suppress(OSError), open(f"/proc/sysvipc/{kind}") as table:
            if len(table.read().splitlines()) > 1:
                return True
    return False


def _remove_ipc() -> None:
    if _ipc_left():
        subprocess.run(["ipcrm", "--all"], check=False, capture_output=True)


def _prctl(option: int, value: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _unshare(flags: int) -> int:
    import ctypes

    return ctypes.CDLL(None, use_errno=True).unshare(flags)


def _can_unshare_user() -> bool:
    """Whether a kernel forked from here can enter a user namespace of its own."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _unshare(CLONE_NEWUSER) == 0 else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


# ---------------------------------------------------------------- the worker's side


class Template:
    """A template process for one grading worker, in a sandbox whose only writable
    folder of its own is ``slot`` (each submission's kernel folder and notebook go there).

    ``env`` is the environment it imports under (HOME, MPLCONFIGDIR, … inside ``slot``).
    """

    def __init__(self, slot: Path, control: Path, env: dict[str, str], python: str):
        self.slot, self.socket = Path(slot), str(Path(control) / "template.sock")
        # the sandbox's pids cgroup, joined (and the device nodes made read-only) by
        # autograder.jail before it execs bwrap: the template and every kernel it forks
        self.cgroup = cgroups.create(int(env.get(f"{ENV}PIDS_MAX", Limits.pids_max)))
        procs = str(self.cgroup.procs) if self.cgroup is not None else ""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(self.socket)
        listener.listen(8)
        ready_r, ready_w = os.pipe()
        template = [python, "-m", "autograder.zygote", str(listener.fileno()), str(ready_w)]
        tmpfs_mb = int(env.get(f"{ENV}FILE_MB", "0")) or None  # as a kernel's
        queues = ("--mqueue", MQUEUE)  # a folder of its own, which clean() empties
        command = confine(template, self.slot, "bwrap", hidden=env.get(HIDE, ""),
                          tmpfs_mb=tmpfs_mb, options=queues)  # fmt: skip
        command = [python, "-m", "autograder.jail", procs, "--", *command]
        log = open(Path(control) / "template.log", "ab")  # noqa: SIM115 - kept by Popen
        try:
            self.process = subprocess.Popen(command, env=env, cwd=self.slot,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            start_new_session=True,
                                            pass_fds=(listener.fileno(), ready_w))  # fmt: skip
        except OSError:
            self._remove_cgroup()
            raise
        finally:
            log.close()
        listener.close()
        os.close(ready_w)
        with os.fdopen(ready_r, "rb") as ready:  # EOF without "ready": the template died
            self.ready = bool(select.select([ready], [], [], START_TIMEOUT)[0]) and (
                ready.read() == b"ready")  # fmt: skip
        if not self.ready:
            self.close()

    def alive(self) -> bool:
        return self.ready and self.process.poll() is None

    def clean(self) -> bool:
        """Kill what the last kernel left running and remove its shared files; False when
        the template is gone (a kernel killed it)."""
        if not self.alive():
            return False
        try:
            with request(self.socket, {"op": "clean"}) as conn:
                return conn.recv(16) == b"clean"
        except OSError:
            return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._remove_cgroup()  # bubblewrap's init dies with it; what is left is killed

    def _remove_cgroup(self) -> None:
        if self.cgroup is not None and self.cgroup.remove():
            self.cgroup = None


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
