"""``python -m autograder.kernel -f CONNECTION_FILE``: a kernel for student code.

The kernelspec that grading installs runs this instead of ipykernel directly. It caps
memory and file size, then replaces itself with ipykernel, inside bubblewrap when the
grading worker asked for it (see autograder.sandbox), with autograder.progress loaded so
that a cell which kills the kernel can be found and skipped.
"""

import os
import shutil
import sys
from pathlib import Path

from autograder.sandbox import apply_limits, confine, limits_from_environment


def main(argv: list[str]) -> None:
    workdir, memory_mb, file_mb, sandbox = limits_from_environment()
    os.environ["PWD"] = os.getcwd()  # not the instructor's folder the worker started in
    os.environ.pop("OLDPWD", None)
    apply_limits(memory_mb, file_mb)
    if "-f" in argv:  # the connection file may sit in a folder the sandbox empties (/tmp)
        index = argv.index("-f") + 1
        copy = Path(workdir) / "connection.json"
        shutil.copyfile(argv[index], copy)
        argv = [*argv[:index], str(copy), *argv[index + 1 :]]
    command = [sys.executable, "-m", "ipykernel_launcher", *argv,
               "--IPKernelApp.extra_extensions=autograder.progress",
               "--HistoryManager.enabled=False"]  # fmt: skip
    command = confine(command, workdir, sandbox, also=(os.getcwd(),))  # + the notebook's folder
    if sandbox == "bwrap":  # in its own pid namespace the kernel's parent is bwrap, pid 1:
        os.environ["JPY_PARENT_PID"] = "1"  # no parent poller; --die-with-parent does that
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
