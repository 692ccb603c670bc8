"""Put back the nbgrader markers a submitted notebook lost, so that nbgrader can grade it.

nbgrader knows a cell by its metadata (``grade_id``): which cell is an exercise's
answer, which its test. A notebook pasted cell by cell into a new one, or saved by a
tool that drops cell metadata, has none; nbgrader then puts the course's test cells back
where they belong (``OverwriteCells.add_missing_cells``), each after the cell that comes
before it in the course's notebook, and stops with a KeyError when that cell is missing
too. So does a notebook whose student deleted an exercise they skipped, answer and test.
Before grading, :func:`restore`:

1. marks again a test cell found by its exact text (as the release shows it, hidden
   tests removed), which is the course's test whatever metadata it lost;
2. where nbgrader would look for a cell that is not there, puts back an empty cell with
   that cell's marker: an empty answer cell (an answer the student wrote elsewhere still
   counts: it runs wherever it is), or a text cell that nbgrader fills from the source.

No grade is decided here: nbgrader overwrites every test cell from the source, and the
grades come from the checks' records (:mod:`autograder.verdicts`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import nbformat

from .notebooks import cell_grade_id, read


@dataclass(frozen=True)
class Markers:
    """What a source notebook's markers are: each marked cell's (grade_id, cell type,
    metadata) in order, and its test cells' release text -> grade_id."""

    cells: tuple[tuple[str, str, dict], ...]
    tests: dict[str, str]

    @classmethod
    def of(cls, source: bytes) -> Markers:
        notebook = read(source)
        cells = tuple((cell_grade_id(c), c.cell_type, dict(c.metadata["nbgrader"]))
                      for c in notebook.cells if cell_grade_id(c))  # fmt: skip
        tests = {_release_text(c): cell_grade_id(c) for c in notebook.cells if _is_test(c)}
        return cls(cells, tests)


def restore(content: bytes, markers: Markers) -> tuple[bytes, list[str]]:
    """The notebook with its lost markers put back (see the module), and notes on what
    was done; the same bytes, and no notes, when every test cell has its marker."""
    tests = [gid for gid, _, meta in markers.cells if meta.get("grade")]
    if all(re.search(rb'"grade_id":\s*"' + re.escape(t.encode()) + b'"', content) for t in tests):
        return content, []  # the usual case: no need to read the notebook
    notebook = read(content)
    present = {cell_grade_id(cell) for cell in notebook.cells}
    found = _mark_tests(notebook, markers, present)
    added = _fill_gaps(notebook, markers, present)
    notes = []
    if found:
        notes.append(f"its cells had lost nbgrader's markers; test cell{'s' * (len(found) > 1)} "
                     f"{', '.join(found)} found by {'their' if len(found) > 1 else 'its'} "
                     "text and marked again")  # fmt: skip
    if added:
        notes.append(f"cell{'s' * (len(added) > 1)} {', '.join(added)} missing (deleted, or "
                     "its marker lost): put back empty, so that the rest is graded")  # fmt: skip
    if not notes:
        return content, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nbformat.writes(notebook).encode(), notes


def _mark_tests(notebook, markers: Markers, present: set) -> list[str]:
    """Mark again each unmarked cell whose text is a test cell's; the ids marked."""
    meta_of = {gid: meta for gid, _, meta in markers.cells}
    found = []
    for cell in notebook.cells:
        source = cell.get("source")
        if cell.get("cell_type") != "code" or not isinstance(source, str):
            continue
        gid = markers.tests.get(source.strip())
        if gid is None or "nbgrader" in cell.get("metadata", {}) or gid in present:
            continue
        cell.metadata["nbgrader"] = dict(meta_of[gid])
        present.add(gid)
        found.append(gid)
    return found


def _fill_gaps(notebook, markers: Markers, present: set) -> list[str]:
    """nbgrader puts each missing test cell back after the marked cell before it in the
    source (one it put back itself will do): where that cell is not there either, put it
    back empty, after the last marked cell before it. The ids put back."""
    added = []
    for k, (gid, _, meta) in enumerate(markers.cells):
        if gid in present or not meta.get("grade"):
            continue
        before, kind, before_meta = markers.cells[k - 1] if k else (None, "", {})
        if before is not None and before not in present:
            earlier = {g for g, _, _ in markers.cells[: k - 1]}
            at = max((i + 1 for i, c in enumerate(notebook.cells) if cell_grade_id(c) in earlier),
                     default=0)  # fmt: skip
            new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
            cell = new()
            cell.metadata["nbgrader"] = dict(before_meta)
            notebook.cells.insert(at, cell)
            present.add(before)
            added.append(before)
        present.add(gid)  # nbgrader puts it back
    return added


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _release_text(cell) -> str:
    """A source test cell's text as students get it: its hidden tests removed."""
    from nbgrader.preprocessors import ClearHiddenTests

    released = nbformat.from_dict(cell)  # a copy: the preprocessor edits in place
    ClearHiddenTests()._remove_hidden_test_region(released)
    return released.source.strip()
