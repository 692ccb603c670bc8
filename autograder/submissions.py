"""Collect a class's submissions for one assignment from a folder or a zip, every file
accounted for.

Each file of the input ends up in exactly one place: graded as a student's notebook, or
listed with the reason it was not, as the student's ``ignored`` (files beside the notebook,
superseded copies), the student's ``rejected`` (a notebook that cannot be graded: a web
page, invalid JSON, a symlink, too large), or the class's ``unplaced`` (files that name no
student). Which student a path belongs to is :mod:`autograder.layouts`' business (nbgrader,
Moodle, Canvas, GitHub Classroom, ...); whether a notebook can be graded is
:mod:`autograder.notebooks`'; course ids come from an optional :mod:`autograder.roster`.

Files are read as :mod:`autograder.inputs` says (zips never extracted, ``..`` and symbolic
links refused, sizes capped). Only the assignment's notebooks are taken:
any other file (a ``lstm_ref.py`` that would shadow the course's package, data, a ``.so``)
is left out and listed, so nothing beside the notebook can change how it runs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import layouts, notebooks
from .inputs import MAX_NOTEBOOK_BYTES, Entry, folder_entries, read_file, read_zip, zip_entries
from .roster import STUDENT_ID, Roster

__all__ = ["MAX_NOTEBOOK_BYTES", "Collected", "Submission", "collect"]

MAX_TOTAL_BYTES = 2 * 1024**3  # all the notebooks read from one input together


@dataclass
class Submission:
    student: str
    notebooks: dict[str, bytes] = field(default_factory=dict)  # notebook name -> content
    ignored: list[str] = field(default_factory=list)  # "path: reason" for files left out
    notes: list[str] = field(default_factory=list)  # repairs and choices made
    rejected: dict[str, str] = field(default_factory=dict)  # notebook -> why not gradable
    name: str = ""  # the student's name where the LMS or roster gives one


@dataclass
class Collected:
    submissions: list[Submission] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # "path: reason", no student's
    missing: list[str] = field(default_factory=list)  # roster ids with no submission

    def __iter__(self):
        return iter(self.submissions)

    def __len__(self) -> int:
        return len(self.submissions)


def collect(path: Path, assignment: str, notebook_names: list[str],
            roster: Roster | None = None) -> Collected:  # fmt: skip
    """Every student's submission, sorted by student id, and every file left out."""
    path = Path(path)
    if path.is_dir():
        entries, read = folder_entries(path), read_file
    elif zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        entries, read = zip_entries(archive), lambda e: read_zip(archive, e.handle)
    else:
        raise ValueError(f"expected a folder or a zip of submissions, got {path}")
    out = Collected()
    groups: dict[str, tuple[Submission, list]] = {}
    placed = _place_all(entries, assignment, notebook_names, out)
    for (_, _, items), (student, name, notes) in zip(placed, _student_ids(placed, roster)):
        sub, pool = groups.setdefault(student, (Submission(student, name=name), []))
        sub.notes += [n for n in notes if n not in sub.notes]
        sub.name = sub.name or name
        pool.extend(items)  # two LMS ids mapped to one student share one pool
    budget = [MAX_TOTAL_BYTES]
    for student in sorted(groups):
        sub, pool = groups[student]
        _check(sub, _choose(sub, pool, notebook_names), read, budget)
        out.submissions.append(sub)
    if roster is not None:
        out.missing = [s for s in roster.ids if s not in groups]
    return out


def _place_all(entries: list[Entry], assignment, names, out: Collected):
    """[(LMS key, name, [(Placement, Entry or a line)])]; files of no student into ``out``."""
    paths = [e.parts for e in entries
             if e.parts and not e.refused and not layouts.is_junk(e.parts)]  # fmt: skip
    depth = layouts.container_depth(paths, assignment, names)
    container = paths[0][:depth] if paths else ()
    inside = [e.parts[depth:] if e.parts[:depth] == container else e.parts for e in entries]
    folders = sorted({p[0] for p in inside if len(p) > 1 and not layouts.is_junk(p[:1])})
    has_git = any(len(p) > 1 and p[1] == ".git" for p in inside)
    prefix = layouts.github_prefix(folders, assignment, has_git)
    canvas = layouts.is_canvas_download(inside)
    by_key: dict[str, tuple[str, list]] = {}
    junk: dict[tuple[str, str], int] = defaultdict(int)
    for entry, parts in zip(entries, inside):
        if parts and layouts.is_junk(parts):
            owner = None
            if not layouts.is_junk(parts[:1]):  # a student's hidden files: theirs, listed
                owner = layouts.place(parts[:1] + ("x",), assignment, names, prefix)
            junk[(_hidden_top(entry.path), owner.key if owner else "")] += 1
            if owner:
                by_key.setdefault(owner.key, (owner.name, []))
            continue
        placement = layouts.place(parts, assignment, names, prefix, canvas) if parts else None
        if placement is None:
            why = entry.refused or _unplaced_reason(parts, names)
            out.unplaced.append(f"{entry.path}: {why}")
            continue
        if entry.refused and placement.notebook is None:
            placement.why = entry.refused
        by_key.setdefault(placement.key, (placement.name, []))[1].append((placement, entry))
    for (top, key), count in sorted(junk.items()):
        line = f"{top} ({count} file{'s' * (count > 1)}): hidden or system files, not read"
        if key:
            by_key[key][1].append((None, line))
        else:
            out.unplaced.append(line)
    return [(key, name, items) for key, (name, items) in by_key.items()]


def _hidden_top(path: str) -> str:
    """The outermost hidden folder of ``path`` ("alice/.git/"), or the hidden file."""
    parts = path.split("/")
    for k, part in enumerate(parts):
        if layouts.is_junk((part,)):
            return "/".join(parts[: k + 1]) + ("/" if k + 1 < len(parts) else "")
    return path


def _unplaced_reason(parts: tuple[str, ...], names: list[str]) -> str:
    if not parts:
        return "outside the folder that holds the class"
    if layouts.notebook_of(parts[-1], names):
        return ("the assignment's notebook, but whose? Not in a student's folder, and not "
                "named <student>_<notebook>")  # fmt: skip
    return ("names no student: expected <student>/<notebook>, <student>_<notebook> or an "
            "LMS download's names")  # fmt: skip


def _student_ids(placed: list, roster: Roster | None) -> list[tuple[str, str, list[str]]]:
    """(course id, display name, notes) for each ``(key, name, items)`` of `placed`:
    a key on the roster gets its row's id; any other key is its own id, or one made
    from it (:func:`_made_id`)."""
    result = []
    for key, name, _ in placed:
        row = roster.match(key, name) if roster is not None else None
        if row is not None:
            note = [] if row.id == key else [f"{key!r} in the input is {row.id} on the roster"]
            result.append((row.id, row.name or name, note))
            continue
        student, notes = _made_id(key), []
        if student != key:
            notes.append(f"student id {student!r} made from {key!r}")
        if roster is not None:
            notes.append(f"{key!r} is not on the roster: graded under {student!r}")
        result.append((student, name if name != key or student != key else "", notes))
    return result


def _made_id(key: str) -> str:
    """`key` if it is a course id (``STUDENT_ID``), else one made from it: its letters in
    ASCII ("Müller" -> "Muller", "student" when none are left, as for "张伟"), then a
    digest of the name. The digest keeps two students apart whatever else a class
    holds, in every run and every assignment ("Müller" and "Möller"; "Anne Marie" and
    an id "Anne_Marie"), and is the same for a name however its accents are encoded
    (a zip made on a Mac writes them apart: NFD)."""
    if STUDENT_ID.match(key):
        return key
    key = unicodedata.normalize("NFC", key)
    plain = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9_.@-]+", "_", plain).strip("_.-")[:55] or "student"
    return f"{base}_{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def _choose(sub: Submission, pool: list, names: list[str]) -> dict[str, Entry]:
    """The newest file of each notebook, to read; the others listed in ``ignored``.

    For an assignment of one notebook, a student whose only notebook file has another
    name (``01_rnn_limits_final.ipynb``, Jupyter's ``…-Copy1.ipynb``) has it graded as
    that notebook, with a note: a renamed file is not "nothing submitted".
    """
    newest_ts = max((p.timestamp for p, _ in pool if p), default="")
    placed = [p for p, _ in pool if p is not None]
    ipynb = [(p, e) for p, e in pool if p is not None and p.timestamp == newest_ts
             and not e.refused and e.path.lower().endswith(".ipynb")]  # fmt: skip
    if len(names) == 1 and len(ipynb) == 1 and not any(p.notebook for p in placed):
        placement, entry = ipynb[0]
        placement.notebook = names[0]
        sub.notes.append(f"{entry.path} graded as {names[0]}: the only notebook this "
                         "student submitted, under another name")  # fmt: skip
    chosen: dict[str, tuple[layouts.Placement, Entry]] = {}
    for placement, entry in pool:
        if placement is None:  # a line about hidden files
            sub.ignored.append(entry)
        elif placement.timestamp < newest_ts:
            sub.ignored.append(f"{entry.path}: an earlier exchange submission "
                               f"({placement.timestamp}; the newest is {newest_ts})")  # fmt: skip
        elif placement.notebook is None:
            sub.ignored.append(f"{entry.path}: {placement.why}")
        elif placement.notebook not in chosen:
            chosen[placement.notebook] = (placement, entry)
        else:
            kept, other = chosen[placement.notebook], (placement, entry)
            if other[0].version > kept[0].version:
                kept, other = other, kept
            chosen[placement.notebook] = kept
            sub.ignored.append(f"{other[1].path}: superseded by {kept[1].path} "
                               "(the newest copy counts)")  # fmt: skip
            sub.notes.append(f"{kept[1].path} graded; {other[1].path} superseded")
    sub.notes += [f"{entry.path}: marked late by the LMS (LATE in its name)"
                  for placement, entry in chosen.values() if placement.late]  # fmt: skip
    return {notebook: entry for notebook, (_, entry) in chosen.items()}


def _check(sub: Submission, chosen: dict[str, Entry], read, budget: list[int]) -> None:
    """Read each chosen notebook and check it: into ``notebooks`` or ``rejected``."""
    for notebook, entry in sorted(chosen.items()):
        if entry.refused:
            sub.rejected[notebook] = f"{entry.path} {entry.refused}"
            continue
        if entry.size > budget[0]:
            sub.rejected[notebook] = (f"{entry.path} was not read: the input's notebooks "
                                      f"together exceed {MAX_TOTAL_BYTES >> 30} GiB")  # fmt: skip
            continue
        content, why = read(entry)
        if content is None:
            sub.rejected[notebook] = f"{entry.path} {why}"
            continue
        budget[0] -= len(content)
        checked = notebooks.check(content)
        if checked.content is None:
            sub.rejected[notebook] = f"{entry.path} {checked.reason}"
        else:
            sub.notebooks[notebook] = checked.content
            sub.notes += [f"{entry.path}: {note}" for note in checked.notes]
