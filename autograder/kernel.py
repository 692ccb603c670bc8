"""``python -m autograder.kernel -f CONNECTION_FILE``: a kernel for student code.

The kernelspec that grading installs runs this instead of ipykernel directly. It caps
memory and file size, then replaces itself with ipykernel, inside bubblewrap when the
grading worker asked for it (see autograder.sandbox), in the submission's pids cgroup and
with the device nodes read-only (autograder.jail), with autograder.progress loaded so
that a cell which kills the kernel can be found and skipped. When the worker runs a
template process (``AUTOGRADER_TEMPLATE``, see autograder.zygote), the kernel is forked
from it instead, in the same sandbox, and this launcher waits for it to end.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.jail import enter
from autograder.sandbox import CGROUP, apply_limits, confine, limits_from_environment

TEMPLATE = "AUTOGRADER_TEMPLATE"  # the worker's template socket, when it runs one


def main(argv: list[str]) -> None:
    workdir, memory_mb, file_mb, sandbox = limits_from_environment()
    # the kernel works in a copy of the notebook's folder, inside its own: nbgrader (in
    # the worker, outside the sandbox) later writes the graded notebook into the original
    # folder, and a link the kernel left there would have it write, or the worker read,
    # any file on the machine
    notebook_folder = os.getcwd()  # where nbgrader started the launcher
    os.chdir(tempfile.mkdtemp(prefix="notebook-", dir=workdir))
    shutil.copytree(notebook_folder, ".", symlinks=True, dirs_exist_ok=True)
    os.environ["PWD"] = os.getcwd()  # not the instructor's folder the worker started in
    os.environ.pop("OLDPWD", None)
    apply_limits(memory_mb, file_mb)
    if "-f" in argv:  # the connection file may sit in a folder the sandbox empties (/tmp)
        index = argv.index("-f") + 1
        copy = Path(workdir) / "connection.json"
        shutil.copyfile(argv[index], copy)
        argv = [*argv[:index], str(copy), *argv[index + 1 :]]
    argv = [*argv, "--IPKernelApp.extra_extensions=autograder.progress",
            "--HistoryManager.enabled=False"]  # fmt: skip
    if sandbox == "bwrap" and os.environ.get(TEMPLATE):
        code = _forked(os.environ[TEMPLATE], argv, memory_mb, file_mb)
        if code is not None:
            os._exit(code)
    command = [sys.executable, "-m", "ipykernel_launcher", *argv]
    command = confine(command, workdir, sandbox, tmpfs_mb=file_mb)  # the notebook's copy is in it
    if sandbox == "bwrap":  # in its own pid namespace the kernel's parent is bwrap, pid 1:
        os.environ["JPY_PARENT_PID"] = "1"  # no parent poller; --die-with-parent does that
    # the submission's pids cgroup, and the machine's device nodes read-only for bwrap
    enter(os.environ.get(CGROUP), sandbox)
    os.execv(command[0], command)


def _forked(template: str, argv: list[str], memory_mb: int, file_mb: int) -> int | None:
    """Run the kernel as a fork of the worker's template; its exit code, or None when no
    template answers (a kernel killed it), and the kernel must start the ordinary way."""
    from autograder.zygote import request

    env = dict(os.environ, JPY_PARENT_PID="1")  # the template's child: no parent poller
    env.pop(TEMPLATE)
    message = {"op": "kernel", "argv": argv, "cwd": os.getcwd(), "env": env,
               "memory_mb": memory_mb, "file_mb": file_mb}  # fmt: skip
    try:
        conn = request(template, message, (0, 1, 2))
    except OSError:
        return None
    with conn:
        answer = conn.recv(16)  # the kernel's exit code, when it ends
    try:
        code = int(answer)
    except ValueError:  # the template died with the kernel
        return 1
    return code if 0 <= code < 256 else 1


if __name__ == "__main__":
    main(sys.argv[1:])
