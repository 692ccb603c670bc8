"""Each grading worker's slot: the one folder its kernels may write, and its template.

A worker grades one submission at a time. Its kernels write only in the slot (the
kernel's HOME, TMPDIR, sockets, records, and its copy of the notebook's folder), so that a template
process (autograder.zygote) can be started once, in a sandbox that binds the slot, and
fork every later kernel. Between submissions the template removes what the last kernel
left in the sandbox, and the worker empties the slot.

``AUTOGRADER_TEMPLATES=0`` in the worker's environment starts every kernel afresh, as
before templates (slower by the imports, about 1.5-2 s a submission).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .sandbox import Limits
from .zygote import Template

SWITCH = "AUTOGRADER_TEMPLATES"


class Slot:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.folder = _folder("autograder-slot-")
        self.control = _folder("autograder-ctl-")
        self._template: Template | None = None
        self.starts = 0  # templates started: more than one means a kernel killed one

    def template(self, env: dict[str, str]) -> str | None:
        """The socket of a live template (started now if needed, with ``env``), or None
        when it cannot start (then kernels start the ordinary way)."""
        if self._template is not None and self._template.alive():
            return self._template.socket
        self._stop()
        try:
            self._template = Template(self.folder, self.control, {**os.environ, **env},
                                      sys.executable)  # fmt: skip
            self.starts += 1
        except OSError:
            self._template = None
        if self._template is None or not self._template.alive():
            return None
        return self._template.socket

    def capped(self) -> bool:
        """Whether the live template's sandbox is in a pids cgroup (autograder.cgroups)."""
        return self._template is not None and self._template.cgroup is not None

    def reset(self) -> None:
        """After a submission: the template kills and removes what its kernel left (or,
        if a kernel killed the template, the whole sandbox goes), then the slot is emptied."""
        if self._template is not None and not self._template.clean():
            self._stop()
        if not _empty(self.folder):  # what could not be removed stays out of later kernels' way
            self._stop()  # it binds the old folder
            old, self.folder = self.folder, _folder("autograder-slot-")
            _remove(old)

    def _stop(self) -> None:
        if self._template is not None:
            self._template.close()  # bubblewrap's init dies with it, and every process inside
            self._template = None
            with contextlib.suppress(FileNotFoundError):
                (self.control / "template.sock").unlink()

    def close(self) -> None:
        self._stop()
        _remove(self.folder)
        shutil.rmtree(self.control, ignore_errors=True)


def _folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix)).resolve()


def _empty(folder: Path) -> bool:
    """Remove what ``folder`` holds; whether it is empty now. Not shutil.rmtree, which
    recurses: a kernel's folders nested thousands deep raised RecursionError there, which
    failed the whole class's grading."""
    entries = [str(entry) for entry in folder.iterdir()]
    if entries:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", *entries], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return not any(folder.iterdir())


def _remove(folder: Path) -> None:
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(folder)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


_slot: Slot | None = None


def get(limits: Limits) -> Slot | None:
    """This process's slot for ``limits`` (a new one when the limits changed), or None when
    kernels are not sandboxed with bubblewrap or templates are switched off."""
    global _slot
    if os.environ.get(SWITCH, "1") == "0" or limits.resolved_sandbox() != "bwrap":
        return None
    if _slot is not None and _slot.limits != limits:
        _slot.close()
        _slot = None
    if _slot is None:
        _slot = Slot(limits)
        atexit.register(_slot.close)
    return _slot
