"""Collect a class's submissions for one assignment from a folder or a zip.

Accepted layouts (``NB`` is one of the assignment's notebook names, e.g. 01_rnn_limits.ipynb):

    DIR/<student>/<assignment>/NB      nbgrader's submitted/ layout
    DIR/<student>/NB                   one folder per student
    DIR/<student>.ipynb                one notebook per student (single-notebook assignments)
    DIR/<student>_NB                   an LMS export: the student id, then the notebook name

and a zip holding any of these. Zip entries are read in memory and never extracted, so a
hostile entry name (``../../x``) cannot write anywhere. Only the assignment's notebooks are
taken; every other file (a ``lstm_ref.py`` that would shadow the course's package, data, a
``.so``) is left out and reported, so nothing beside the notebook can change how it runs.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # larger files are refused, not read


@dataclass
class Submission:
    student: str
    notebooks: dict[str, bytes] = field(default_factory=dict)  # notebook name -> content
    ignored: list[str] = field(default_factory=list)  # files left out, with the reason


def collect(path: Path, assignment: str, notebook_names: list[str]) -> list[Submission]:
    """Every student's submission, sorted by student id."""
    path = Path(path)
    if path.is_dir():
        entries = [(p.relative_to(path).as_posix(), p) for p in sorted(path.rglob("*"))
                   if p.is_file()]  # fmt: skip
        read = _read_file
    elif zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        entries = [(info.filename, info) for info in archive.infolist() if not info.is_dir()]
        read = lambda info: _read_zip(archive, info)  # noqa: E731
    else:
        raise ValueError(f"expected a folder or a zip of submissions, got {path}")
    by_student: dict[str, Submission] = {}
    for name, handle in entries:
        student, notebook = _place(PurePosixPath(name), assignment, notebook_names)
        if student is None:
            continue  # not a student file at all (e.g. __MACOSX/, .DS_Store)
        submission = by_student.setdefault(student, Submission(student))
        if notebook is None:
            submission.ignored.append(f"{name}: not one of {', '.join(notebook_names)}")
            continue
        content = read(handle)
        if content is None:
            submission.ignored.append(f"{name}: larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
        else:
            submission.notebooks[notebook] = content
    return [by_student[s] for s in sorted(by_student)]


def _place(name: PurePosixPath, assignment: str, notebook_names: list[str]):
    """(student, notebook name or None) for one entry; (None, None) for non-student files."""
    parts = [p for p in name.parts if p not in ("", ".")]
    if not parts or any(p.startswith((".", "__MACOSX")) or p == ".." for p in parts):
        return None, None
    if len(parts) == 1:  # DIR/<student>.ipynb or DIR/<student>_NB
        stem = parts[0]
        for notebook in notebook_names:
            if stem.endswith("_" + notebook):
                return _student(stem[: -len(notebook) - 1]), notebook
        if stem.endswith(".ipynb") and len(notebook_names) == 1:
            return _student(stem[: -len(".ipynb")]), notebook_names[0]
        return _student(PurePosixPath(stem).stem), None
    student, rest = _student(parts[0]), parts[1:]
    if len(rest) == 2 and rest[0] == assignment:
        rest = rest[1:]
    return student, (rest[0] if len(rest) == 1 and rest[0] in notebook_names else None)


def _student(candidate: str) -> str | None:
    return candidate if STUDENT_ID.match(candidate) else None


def _read_file(path: Path) -> bytes | None:
    return None if path.stat().st_size > MAX_NOTEBOOK_BYTES else path.read_bytes()


def _read_zip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    if info.file_size > MAX_NOTEBOOK_BYTES:
        return None
    with archive.open(info) as handle:  # the declared size can lie: read at most the limit
        content = handle.read(MAX_NOTEBOOK_BYTES + 1)
    return None if len(content) > MAX_NOTEBOOK_BYTES else content
