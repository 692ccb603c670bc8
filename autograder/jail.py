"""What the process that starts bubblewrap does first: join the sandbox's pids cgroup, and
make the machine's device nodes that the sandbox binds read-only for it.

bubblewrap's ``--dev /dev`` binds the machine's own device nodes (``/dev/null``, ``zero``,
``full``, ``random``, ``urandom``, ``tty``; a GPU machine's ``/dev/nvidia*`` are bound
too): a kernel running as root owns them, capabilities or not, and could ``chmod`` or
``chown`` the machine's /dev/null for every other process on it. bubblewrap 0.8's
``--remount-ro`` would also add ``nodev``, after which they cannot be opened at all. So,
in a mount namespace of its own (nothing here reaches the machine's mount table), this
process binds each node onto itself read-only (``MS_RDONLY``, not ``MS_NODEV``), then
``exec``s bubblewrap, whose binds of these nodes keep that flag: inside, writing to
/dev/null and reading /dev/urandom work, and chmod fails with EROFS. A kernel cannot undo
it: it has no capability in the mount namespace's user namespace, and a mount namespace it
makes in a user namespace of its own holds these mounts locked read-only.

``python -m autograder.jail PROCS -- COMMAND...``: the same for a process that cannot do
it itself (the grading worker runs threads, and ``unshare`` needs a single thread); an
empty ``PROCS`` joins no cgroup. The kernel launcher (:mod:`autograder.kernel`) calls
:func:`enter` before it ``exec``s bubblewrap.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

from .cgroups import join

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")  # bubblewrap's --dev nodes
CLONE_NEWNS = 0x20000
MS_RDONLY, MS_NOSUID, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 32, 4096, 16384, 1 << 18


def bound_devices() -> list[str]:
    """The machine's device files a sandbox binds (:func:`autograder.sandbox.confine`)."""
    nodes = [f"/dev/{name}" for name in DEVICES if os.path.exists(f"/dev/{name}")]
    return nodes + sorted(glob.glob("/dev/nvidia*"))


def _mount(source: str | None, target: str, flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
    encoded = source.encode() if source is not None else None
    if libc.mount(encoded, target.encode(), None, flags, None) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


def protect_devices() -> None:
    """In a new mount namespace of this (single-threaded) process, make each bound device
    node read-only. Raises OSError when it cannot (then nothing has changed outside)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare(CLONE_NEWNS): {os.strerror(error)}")
    _mount(None, "/", MS_REC | MS_PRIVATE)  # first: no bind below may reach the machine's
    for path in bound_devices():
        _mount(path, path, MS_BIND | MS_REC)
        _mount(None, path, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)


def enter(procs: str | None, sandbox: str) -> None:
    """Join the cgroup whose ``cgroup.procs`` is ``procs`` (if any); with ``sandbox`` "bwrap"
    and as root (who owns the device nodes), make the device nodes read-only as above.

    Either protection that fails is reported on stderr (the kernel's log) and the kernel
    starts without it: a machine that does not allow it (a container without
    CAP_SYS_ADMIN, say) must still grade its students, as it did before these protections.
    """
    if procs:
        try:
            join(procs)
        except OSError as error:
            print(f"autograder: no process cap for this kernel: {error}", file=sys.stderr)
    if sandbox == "bwrap" and os.geteuid() == 0:
        try:
            protect_devices()
        except OSError as error:
            print(f"autograder: the machine's device nodes stay writable for this kernel "
                  f"(a root kernel could chmod /dev/null): {error}", file=sys.stderr)  # fmt: skip


def main(argv: list[str]) -> None:
    procs, separator, *command = argv
    if separator != "--" or not command:
        sys.exit("usage: python -m autograder.jail PROCS -- COMMAND...")
    enter(procs, "bwrap")
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
