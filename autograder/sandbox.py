"""The limits under which student code runs, and the sandbox around its kernel.

Student code runs only in the notebook's Python kernel, so that is what is confined;
nbgrader itself (which reads the notebook and writes the private gradebook) runs in the
grading worker. Each kernel starts through ``python -m autograder.kernel``, which applies:

* **Files**: with bubblewrap (``bwrap``, Debian package ``bubblewrap``) the whole file
  system is read-only except the kernel's own folder (HOME, TMPDIR, sockets) and the
  notebook's folder, so student code cannot write, delete or plant files anywhere else,
  the submission's private gradebook included. Without bwrap this protection is absent
  and a warning says so; HOME, TMPDIR and Jupyter's folders still point inside the folder.
* **Processes**: with bwrap the kernel has a process namespace of its own; when it ends,
  everything it started ends with it.
* **Network**: with bwrap the kernel gets a network namespace of its own, with only its
  own loopback, so it reaches nothing outside; nbgrader talks to it over Unix sockets
  (ZeroMQ ``ipc``) in the submission's folder instead of TCP.
* **Memory**: the address space is capped (RLIMIT_AS), so a runaway allocation fails in
  the student's cell instead of taking the machine down; files written are capped too, and
  so is each emptied folder (/tmp, /home, ...: a tmpfs, which is memory) at the same size.
* **Time**: nbgrader stops any cell after 30 s, and the worker kills the kernel when the
  whole submission passes ``timeout`` seconds.
* **Processes and threads**: each sandbox (a worker's template and the kernels it forks,
  or a kernel started afresh) is a pids cgroup of its own that holds at most ``pids_max``
  of them (:mod:`autograder.cgroups`), so a fork bomb fails in its cell instead of using
  up the machine's process ids. Without a writable pids cgroup controller (grading not
  as root) the cap is absent and a warning says so.
* **Device nodes**: the machine's /dev/null, /dev/urandom, ... that the sandbox binds are
  read-only in it (:mod:`autograder.jail`), so a kernel running as root, their owner,
  cannot chmod or chown them for everyone else.

Not isolated: CPU share.
"""

from __future__ import annotations

import functools
import glob
import os
import resource
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

ENV = "AUTOGRADER_"  # prefix of the variables that carry the limits to the kernel launcher
CGROUP = f"{ENV}CGROUP"  # the cgroup.procs a kernel started afresh joins (autograder.jail)


@dataclass(frozen=True)
class Limits:
    timeout: float = 300.0  # seconds for the whole submission
    memory_mb: int = 4096  # address space of the kernel
    file_mb: int = 256  # largest file it may write
    sandbox: str = "auto"  # "auto": bwrap when installed; "bwrap"; "none"
    cell_timeout: int | None = None  # seconds per cell; None: nbgrader_config.py's
    hide: tuple[str, ...] = ()  # folders the kernel must not read (the workspace, the class)
    # processes and threads in one sandbox (autograder.cgroups): torch's and ipykernel's
    # threads, a DataLoader's workers fit many times over
    pids_max: int = 512

    def resolved_sandbox(self) -> str:
        """ "bwrap" or "none", warning when "auto" finds no bwrap."""
        if self.sandbox == "bwrap" and shutil.which("bwrap") is None:
            raise RuntimeError(
                "sandbox='bwrap' but bwrap is not installed: apt-get install bubblewrap"
            )
        if self.sandbox == "auto":
            if shutil.which("bwrap") is None:
                message = ("bubblewrap (bwrap) not found: submissions can write outside their "
                           "folder. Install it (apt-get install bubblewrap).")  # fmt: skip
                warnings.warn(message, stacklevel=2)
                return "none"
            return "bwrap"
        return self.sandbox


def apply_limits(memory_mb: int, file_mb: int) -> None:
    """Cap this process's address space and file size, and switch off core dumps."""
    memory, size = memory_mb * 1024 * 1024, file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfault leaves no core file


REPO = Path(__file__).resolve().parents[1]
# where other people's files live: empty inside the sandbox (other students' submissions,
# gradebooks, an instructor's home); what the kernel needs from them is bound back
PRIVATE = ("/tmp", "/var/tmp", "/home", "/root", "/mnt", "/media", "/srv", "/run/user")
HIDE = f"{ENV}HIDE"  # more folders to empty, os.pathsep-separated (the workspace, the class)


@functools.cache
def _tmpfs_size_supported() -> bool:
    """bubblewrap 0.8 and later can cap a tmpfs (``--size``)."""
    run = subprocess.run([shutil.which("bwrap") or "bwrap", "--help"], capture_output=True,
                         text=True, check=False)  # fmt: skip
    return "--size" in run.stdout + run.stderr


def emptied(hidden: str | None = None) -> list[str]:
    """The places the sandbox empties: :data:`PRIVATE`, the repository and ``hidden``
    (os.pathsep-separated; by default ``AUTOGRADER_HIDE``), resolved."""
    hidden = os.environ.get(HIDE, "") if hidden is None else hidden
    extra = [p for p in hidden.split(os.pathsep) if p]
    return list(dict.fromkeys(str(Path(p).resolve()) for p in (*PRIVATE, REPO, *extra)))


def _hiding(tmpfs_mb: int | None = None, hidden: str | None = None) -> list[str]:
    """bwrap arguments that empty each private folder (and blank a private file, a zip),
    each a tmpfs of at most ``tmpfs_mb`` MB: it lives in memory, outside RLIMIT_AS."""
    size = []
    if tmpfs_mb and _tmpfs_size_supported():
        size = ["--size", str(tmpfs_mb * 1024 * 1024)]
    args = []
    for path in emptied(hidden):
        if Path(path).is_dir():
            args += [*size, "--tmpfs", path]
        elif Path(path).is_file():
            args += ["--ro-bind", "/dev/null", path]
    return args


def _needed() -> list[str]:
    """What a kernel reads: Python, the environment's packages, and the course's code."""
    paths = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
             REPO / "lstm_ref", REPO / "autograder"]  # fmt: skip
    return [str(Path(p).resolve()) for p in dict.fromkeys(map(str, paths)) if Path(p).exists()]


def confine(command: list[str], workdir: Path, sandbox: str, *,
            tmpfs_mb: int | None = None, hidden: str | None = None,
            options: tuple[str, ...] = ()) -> list[str]:  # fmt: skip
    """``command`` in bubblewrap: read-only, with the private folders of the machine
    emptied (:func:`emptied`: :data:`PRIVATE`, the repository, ``hidden``) but Python and
    the course's code; writable only in ``workdir``; no capabilities, even as root; no
    network; its own process namespace, so nothing it starts outlives it; each emptied
    folder holds at most ``tmpfs_mb`` MB (it is memory). ``options``: more of bwrap's.
    The process that runs it joins its pids cgroup and makes the device nodes it binds
    read-only first (:func:`autograder.jail.enter`)."""
    if sandbox != "bwrap":
        return command
    hide = _hiding(tmpfs_mb, hidden)
    needed = []
    for folder in _needed():
        needed += ["--ro-bind", folder, folder]
    binds = ["--bind", str(Path(workdir).resolve()), str(Path(workdir).resolve())]
    gpus = []  # a GPU machine grades on its GPU: NVIDIA's device files, after the new /dev
    for device in sorted(glob.glob("/dev/nvidia*")):
        gpus += ["--dev-bind", device, device]
    return [shutil.which("bwrap"), "--ro-bind", "/", "/", *hide, *needed, *binds,
            "--dev", "/dev", *gpus, "--proc", "/proc", "--cap-drop", "ALL",
            "--unshare-ipc", "--unshare-net", "--unshare-pid", "--new-session",
            "--die-with-parent", *options, *command]  # fmt: skip


def kernel_environment(workdir: Path, limits: Limits) -> dict[str, str]:
    """Environment for grading one submission in ``workdir``: its own HOME, TMPDIR and
    Jupyter folders, the course's sandboxed kernel first on JUPYTER_PATH, and the limits."""
    spec = Path(workdir).absolute().parent / "kernelspec"  # beside the folder as given
    workdir = Path(workdir).resolve()
    env = {}
    for name, sub in [("HOME", "home"), ("TMPDIR", "tmp"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib"),
                      ]:  # fmt: skip
        (workdir / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(workdir / sub)
    # the kernelspec lies outside what the kernel may write: a kernel that rewrote it would
    # have the next kernel (after a crash) start outside the sandbox
    env["JUPYTER_PATH"] = str(spec)
    Path(env["JUPYTER_PATH"]).mkdir(parents=True, exist_ok=True)
    # the inline backend, as in Jupyter: plots are kept in the outputs, so feedback shows them
    env.update(MPLBACKEND="module://matplotlib_inline.backend_inline", PYTHONDONTWRITEBYTECODE="1")
    # one thread per kernel: workers grade side by side, one core each (no oversubscription)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env[f"{ENV}WORKDIR"] = str(workdir)
    env[f"{ENV}MEMORY_MB"] = str(limits.memory_mb)
    env[f"{ENV}FILE_MB"] = str(limits.file_mb)
    env[f"{ENV}SANDBOX"] = limits.resolved_sandbox()
    env[f"{ENV}PIDS_MAX"] = str(limits.pids_max)
    env[HIDE] = os.pathsep.join(limits.hide)
    return env


def install_kernelspec(jupyter_path: Path, python: str) -> None:
    """A kernelspec named python3 that starts kernels through autograder.kernel."""
    import json

    folder = Path(jupyter_path) / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, "-m", "autograder.kernel", "-f", "{connection_file}"],
            "display_name": "Python 3 (graded, sandboxed)", "language": "python",
            # bwrap does not forward SIGINT, so a timed-out cell is interrupted by a
            # message on the control channel, which ipykernel turns into SIGINT itself
            "interrupt_mode": "message"}  # fmt: skip
    (folder / "kernel.json").write_text(json.dumps(spec))


def limits_from_environment() -> tuple[Path, int, int, str]:
    return (Path(os.environ[f"{ENV}WORKDIR"]), int(os.environ[f"{ENV}MEMORY_MB"]),
            int(os.environ[f"{ENV}FILE_MB"]), os.environ[f"{ENV}SANDBOX"])  # fmt: skip
