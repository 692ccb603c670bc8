"""Run one submission's grading process under limits.

What is isolated (see also the README):

* **Files**: with bubblewrap (``bwrap``, Debian package ``bubblewrap``) the whole file
  system is read-only except the submission's own working folder, so student code cannot
  write, delete or plant files anywhere else. Without bwrap this protection is absent and a
  warning says so; HOME, TMPDIR and Jupyter's folders still point inside the folder.
* **Network**: with bwrap the process gets its own network namespace (loopback only).
* **Time**: the process and everything it started are killed after ``timeout`` seconds.
* **Memory**: the address space is capped (RLIMIT_AS), so a runaway allocation fails in the
  student's cell instead of taking the machine down; files written are capped (RLIMIT_FSIZE).

Not isolated: CPU share (a submission can use its worker's cores until the timeout) and,
without bwrap, the file system.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    timeout: float = 300.0  # seconds for the whole submission
    memory_mb: int = 4096  # address space of the grading process and its kernel
    file_mb: int = 256  # largest file it may write
    sandbox: str = "auto"  # "auto": bwrap when installed; "bwrap"; "none"


@dataclass
class Outcome:
    returncode: int | None  # None when it was killed at the timeout
    output: str  # stdout and stderr, the last 20 000 characters
    timed_out: bool
    sandboxed: bool


def _set_limits(limits: Limits):
    def apply():
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        size = limits.file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfault leaves no core file

    return apply


def _bwrap_prefix(workdir: Path, limits: Limits) -> list[str]:
    bwrap = shutil.which("bwrap")
    if limits.sandbox == "none" or (limits.sandbox == "auto" and bwrap is None):
        if limits.sandbox == "auto":
            message = ("bubblewrap (bwrap) not found: submissions can write outside their "
                       "folder. Install it (apt-get install bubblewrap).")  # fmt: skip
            warnings.warn(message, stacklevel=3)
        return []
    if bwrap is None:
        raise RuntimeError("sandbox='bwrap' but bwrap is not installed: apt-get install bubblewrap")
    return [bwrap, "--ro-bind", "/", "/", "--bind", str(workdir), str(workdir),
            "--dev", "/dev", "--proc", "/proc", "--unshare-net", "--unshare-ipc",
            "--die-with-parent", "--chdir", str(workdir)]  # fmt: skip


def run_limited(command: list[str], workdir: Path, limits: Limits) -> Outcome:
    """Run ``command`` in ``workdir`` under ``limits``; never raises for the command's sake."""
    workdir = Path(workdir).resolve()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DASK_")}
    for name, sub in [("HOME", "home"), ("TMPDIR", "tmp"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")]:  # fmt: skip
        (workdir / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(workdir / sub)
    env["MPLBACKEND"] = "Agg"
    prefix = _bwrap_prefix(workdir, limits)
    process = subprocess.Popen(
        prefix + command, cwd=workdir, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_set_limits(limits),
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=limits.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the kernel and anything it started
        output, _ = process.communicate()
        timed_out = True
    text = output.decode(errors="replace")[-20_000:]
    return Outcome(None if timed_out else process.returncode, text, timed_out, bool(prefix))
