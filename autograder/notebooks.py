"""Check a submitted notebook before it is graded, and repair what can be repaired.

``check(content)`` returns the bytes to grade (maybe repaired) with notes on the repairs,
or a reason the file cannot be graded, in words an instructor can pass on to the student:

- not a notebook at all (empty, a web page, a zip, binary, invalid JSON, JSON of another
  kind): rejected, with what the file is;
- nbformat 3 (an old Jupyter): upgraded to nbformat 4, and noted;
- the same ``grade_id`` on several cells (a copied test cell, an answer cell split in two):
  the first cell keeps the id, as nbgrader's; the later copies become ordinary cells, so
  the rest of the notebook is graded; the note says which cells.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import nbformat


@dataclass
class Checked:
    content: bytes | None  # None: cannot be graded
    reason: str = ""  # why not
    notes: list[str] = field(default_factory=list)  # repairs made


DOWNLOAD = "download it from Jupyter (File > Download) rather than saving the page"


def check(content: bytes) -> Checked:
    if not content.strip():
        return Checked(None, "is empty (0 bytes of notebook)" if not content else
                       "holds only blank space, no notebook")  # fmt: skip
    head = content.lstrip()[:512].lower()
    if head.startswith(b"<") and (b"html" in head or b"<head" in head or b"<body" in head):
        return Checked(None, f"is a web page (HTML), not a notebook: {DOWNLOAD}")
    if content.startswith(b"PK\x03\x04"):
        return Checked(None, "is a zip archive renamed .ipynb, not a notebook")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Checked(None, f"is not a text file (byte {error.start} is not UTF-8): "
                             "not a notebook")  # fmt: skip
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return Checked(None, f"is not valid JSON (line {error.lineno}, column {error.colno}: "
                             f"{error.msg}): cut short, or edited outside Jupyter?")  # fmt: skip
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int) or not (
        "cells" in data or "worksheets" in data
    ):
        return Checked(None, "is JSON but not a Jupyter notebook (no nbformat and cells)")
    major, notes = data["nbformat"], []
    if major > 4:
        return Checked(None, f"is in nbformat {major}, newer than this grader reads (4)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's notes on missing cell ids
            notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 - any malformed notebook: reject, with why
        return Checked(None, f"could not be read as a notebook: {type(error).__name__}: "
                             f"{str(error)[:200]}")  # fmt: skip
    if major < 4:
        notes.append(f"written in nbformat {major} (an old Jupyter); upgraded to nbformat 4")
    notes += _unduplicate(notebook)
    if not notes:
        return Checked(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Checked(nbformat.writes(notebook).encode(), notes=notes)


def _unduplicate(notebook) -> list[str]:
    """Keep each grade_id on its first cell; later cells with it become ordinary cells."""
    first: dict[str, int] = {}
    copies: dict[str, list[int]] = {}
    for index, cell in enumerate(notebook.cells, start=1):
        grade_id = cell_grade_id(cell)
        if grade_id is None:
            continue
        if grade_id not in first:
            first[grade_id] = index
            continue
        copies.setdefault(grade_id, []).append(index)
        del cell.metadata["nbgrader"]
    notes = []
    for grade_id, later in copies.items():
        cells = ", ".join(str(k) for k in later)
        notes.append(f"cells {first[grade_id]} and {cells} all carried grade_id {grade_id!r} "
                     f"(a copied or split cell): cell {first[grade_id]} is graded as "
                     f"{grade_id!r}; cell{'s' if len(later) > 1 else ''} {cells} ran as "
                     "ordinary code")  # fmt: skip
    return notes


def cell_grade_id(cell) -> str | None:
    """The cell's nbgrader grade_id, None if it has none (or metadata of another shape)."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def read(content: bytes):
    """The notebook in `content` as nbformat 4, without nbformat's warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nbformat.reads(content.decode("utf-8-sig"), as_version=4)
