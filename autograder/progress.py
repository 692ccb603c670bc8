"""Which cell a graded kernel was running when grading stopped, and skipping it next time.

nbgrader gives up on a notebook at a dead kernel (``os._exit``, a segfault, the OOM
killer) or a cell that ignores the interrupt at its time limit, which would cost the
submission every point, the exercises before it included. This IPython
extension, loaded into each graded kernel by autograder.kernel, makes a crash cost only
the cell that caused it:

* before a cell runs, its fingerprint is appended to the file named by ``AUTOGRADER_CELLS``
  (one ``write`` per cell, so it survives the kernel's death);
* a cell whose fingerprint is in ``AUTOGRADER_SKIP`` does not run: it raises instead, with
  a message the feedback shows;
* ``AUTOGRADER_CELL`` holds the fingerprint of the cell running now, so that a check
  records its outputs under the test cell that called it (lstm_ref.grading.exercise).

The worker reads the last fingerprint after a crash and grades again with that cell
skipped. A student who writes these files can only make their own cells fail.

>>> fingerprint("x = 1\\n") == fingerprint("x = 1")
True
"""

from __future__ import annotations

import hashlib
import os

RECORD = "AUTOGRADER_CELLS"
CELL = "AUTOGRADER_CELL"
SKIP = "AUTOGRADER_SKIP"
STUB = (
    "raise RuntimeError('This cell stopped the grading when it ran: it killed the Python"
    " kernel (os._exit, a crash such as a segfault, or memory exhaustion) or ignored the"
    " interrupt at its time limit. It was skipped and the rest of the notebook graded"
    " without it.')\n"
)


def fingerprint(source: str) -> str:
    """A short hash of a cell's source, blind to surrounding whitespace."""
    return hashlib.sha256(source.strip().encode()).hexdigest()[:16]


def code_fingerprint(source: str) -> str:
    """A hash of a cell's code alone: blind to comments and blank lines, so a test cell
    that nbgrader restored with a comment on top keeps the fingerprint of its source."""
    lines = [line.rstrip() for line in source.splitlines()]
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return fingerprint("\n".join(code))


def load_ipython_extension(shell) -> None:
    record = os.environ.get(RECORD)
    skip = set(filter(None, os.environ.get(SKIP, "").split(",")))

    def guard(lines: list[str]) -> list[str]:
        key = fingerprint("".join(lines))
        os.environ[CELL] = code_fingerprint("".join(lines))
        if record:
            fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (key + "\n").encode())
            finally:
                os.close(fd)
        return [STUB] if key in skip else lines

    shell.input_transformers_cleanup.insert(0, guard)  # first: it sees the raw cell
