"""Recognise whose file each path of a class's submissions is, in the layouts LMSs write.

``place(parts, ...)`` takes one file's path (split into folders, wrapping folders already
removed by :func:`container_depth`) and says which student it belongs to, which of the
assignment's notebooks it is (or None) and how new it is:

    <student>/<assignment>/NB, submitted/<student>/...     nbgrader's collect tree
    <student>+<assignment>+<timestamp>[+<random>]/NB         nbgrader exchange's inbound/
    Firstname Lastname_123456_assignsubmission_file_/NB      Moodle "download all"
    Firstname Lastname_123456_assignsubmission_file_NB       Moodle, flat
    lastfirst[_LATE]_12345_678901_NB                         Canvas bulk download
    [LATE_]anon_Ab3xY_678901_NB                              Canvas, anonymous grading
    <assignment-slug>-<githubuser>/.../NB                    GitHub Classroom clones
    <student>/.../NB, <student>.ipynb, <student>_NB          a folder or file per student

NB may carry a browser's or Canvas's copy suffix (``NB (1).ipynb``, ``NB-2.ipynb``): the
highest suffix is the newest. Among exchange submissions, the newest timestamp counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MOODLE_DIR = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<kind>[a-z]+)_$")
# the first "_<id>_assignsubmission_" is Moodle's: a student names the file after it
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<kind>[a-z]+)_(?P<f>.+)$")
CANVAS_FILE = re.compile(r"^(?P<name>[^_]+)_(?P<late>LATE_)?(?P<id>\d+)_(?P<sub>\d+)_(?P<f>.+)$")
# with anonymous grading Canvas writes no name and "anon_<anonymous id>" for the user id,
# LATE first when late (canvas-lms lib/content_zipper.rb, get_filename)
CANVAS_ANONYMOUS_FILE = re.compile(
    r"^(?P<late>LATE_)?(?P<name>(?P<id>anon_[A-Za-z0-9]+))_(?P<sub>\d+)_(?P<f>.+)$"
)
COPY = r"(?:\s*\((?P<n1>\d+)\)|-(?P<n2>\d+))?"  # "NB (1).ipynb", "NB(2).ipynb", "NB-1.ipynb"
JUNK = ("__MACOSX", "Thumbs.db", "desktop.ini")
NBGRADER_FILES = {"timestamp.txt": "nbgrader's submission time (read from the folder name)"}


@dataclass
class Placement:
    key: str  # the student as the input names them (LMS id, folder name)
    name: str  # for display: the student's name where the LMS gives one
    notebook: str | None  # which of the assignment's notebooks, or None
    version: tuple = ()  # larger is newer: (timestamp, copy suffix, -depth)
    timestamp: str = ""  # exchange submissions only
    why: str = ""  # when notebook is None: why the file is not graded
    late: bool = False  # the LMS marked the file late (Canvas's LATE_)


def is_junk(parts: tuple[str, ...]) -> bool:
    """Files no student meant to submit: hidden files and folders, macOS and Windows debris."""
    return any((p.startswith(".") and p != "..") or p in JUNK for p in parts)


def notebook_of(filename: str, names: list[str]) -> tuple[str, int] | None:
    """(notebook name, copy number) when ``filename`` is one of ``names``, maybe renamed."""
    for name in names:
        stem = re.escape(name.removesuffix(".ipynb"))
        match = re.fullmatch(stem + COPY + r"\.ipynb", filename, flags=re.IGNORECASE)
        if match:
            return name, int(match["n1"] or match["n2"] or 0)
    return None


def container_depth(paths: list[tuple[str, ...]], assignment: str, names: list[str]) -> int:
    """How many wrapping folders all paths share (``zip -r class.zip class/``): the folder
    that wraps the class, never a student's own folder."""
    depth = 0
    while paths and all(len(p) > depth + 1 for p in paths):
        top = {p[depth] for p in paths}
        if len(top) != 1:
            break
        folder, below = top.pop(), [p[depth + 1 :] for p in paths]
        if folder not in ("submitted", "inbound") and _is_student_folder(folder, below,
                                                                        assignment, names):
            break
        depth += 1
    return depth


def _is_student_folder(folder: str, below, assignment: str, names: list[str]) -> bool:
    """Whether ``folder`` (holding the paths ``below``) is one student's, not the class's."""
    if MOODLE_DIR.match(folder) or f"+{assignment}+" in folder:
        return True
    if any(p[0] in (assignment, ".git") for p in below):
        return True
    students = {p[0] for p in below if len(p) > 1 and notebook_of(p[-1], names)}
    students |= {p[0] for p in below if len(p) == 1 and _lms_file(p[0], names)}
    return not students and any(len(p) == 1 and notebook_of(p[0], names) for p in below)


def github_prefix(folders: list[str], assignment: str, has_git: bool) -> str:
    """The GitHub Classroom repository prefix shared by the student folders (or "")."""
    plain = [f for f in folders if not MOODLE_DIR.match(f) and "+" not in f]
    if len(plain) < 2:
        return ""
    prefix = plain[0]
    for folder in plain[1:]:
        while not folder.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix[: prefix.rfind("-") + 1]
    if not prefix or any(len(f) == len(prefix) for f in plain):
        return ""
    words = {w for w in re.split(r"[-_]", assignment.lower()) if len(w) >= 3}
    named = words & set(re.split(r"[-_]", prefix.lower()))
    return prefix if has_git or named else ""


def place(parts: tuple[str, ...], assignment: str, names: list[str], prefix: str = "",
          canvas: bool = False):  # fmt: skip
    """Where one file belongs: a Placement, or None when it names no student.

    ``canvas``: the input is a Canvas download (:func:`is_canvas_download`), so a Canvas
    name is the student's whatever the file (a PDF handed in instead of the notebook).
    """
    if len(parts) > 2 and parts[0] in ("submitted", "inbound"):  # nbgrader's own folders
        parts = parts[1:]
    if len(parts) == 1:
        return _place_file(parts[0], assignment, names, canvas)
    folder, rest, timestamp = parts[0], list(parts[1:]), ""
    if exchange := re.fullmatch(rf"(.+)\+{re.escape(assignment)}\+([^+]+)(?:\+[^+]*)?", folder):
        key, timestamp = exchange[1], exchange[2]
        name = key
    elif moodle := MOODLE_DIR.match(folder):
        key, name = moodle["id"], moodle["name"]
    else:
        key = folder[len(prefix) :] if prefix and folder.startswith(prefix) else folder
        name = key
    if len(rest) > 1 and rest[0] == assignment:
        rest = rest[1:]
    found = notebook_of(rest[-1], names)
    if found is None:
        why = NBGRADER_FILES.get(rest[-1], f"not one of {', '.join(names)}")
        return Placement(key, name, None, timestamp=timestamp, why=why)
    return Placement(key, name, found[0], (timestamp, found[1], -len(rest)), timestamp)


def _place_file(filename: str, assignment: str, names: list[str], canvas: bool = False):
    if placement := _lms_file(filename, names, canvas):
        return placement
    if notebook_of(filename, names):
        return None  # the notebook itself, with no student named
    if filename.lower().endswith(".ipynb"):
        copy = re.fullmatch(r"(?P<key>.+?)(?:\s*\((?P<n>\d+)\))?", filename[: -len(".ipynb")])
        key = copy["key"]  # "alice (1).ipynb": a browser's copy ("-1" may be the student's)
        if len(names) == 1:
            return Placement(key, key, names[0], ("", int(copy["n"] or 0), 0))
        return Placement(key, key, None, why=f"which notebook? name it {key}_<notebook>, "
                                              f"one of {', '.join(names)}")  # fmt: skip
    return None


def _lms_file(filename: str, names: list[str], canvas: bool = False) -> Placement | None:
    """A file whose name says whose it is: Moodle's, Canvas's, or <student>_NB.

    Moodle and Canvas write a prefix and then the student's own file name, which the
    student chose: where both patterns match, the one whose id comes first is the LMS's
    (a file a student named ``x_999_assignsubmission_file_…`` is still theirs). After an
    LMS prefix, the file may be the notebook, ``<anything>_NB``, or another ``.ipynb``:
    a Moodle name, or a Canvas name ending in .ipynb, is this student's whatever the file,
    placed as no notebook with why (the collection may still grade it as the student's
    only notebook: :mod:`autograder.submissions`).
    """
    patterns = (MOODLE_FILE, CANVAS_FILE, CANVAS_ANONYMOUS_FILE)
    matches = [m for m in (pattern.match(filename) for pattern in patterns) if m]
    if matches:
        match = min(matches, key=lambda m: m.start("id"))
        found = notebook_of(match["f"], names)
        if found is None and (suffixed := _suffixed(match["f"], names)):
            found = suffixed[1:]
        late = bool(match.groupdict().get("late"))
        if found:
            return Placement(match["id"], match["name"], found[0], ("", found[1], 0), late=late)
        if match.re is MOODLE_FILE or canvas or match["f"].lower().endswith(".ipynb"):
            why = f"not one of {', '.join(names)}"
            return Placement(match["id"], match["name"], None, why=why)
    if suffixed := _suffixed(filename, names):
        key, name, copy = suffixed
        return Placement(key, key, name, ("", copy, 0))
    return None


def is_canvas_download(paths: list[tuple[str, ...]]) -> bool:
    """Some top-level file is a notebook under a Canvas name: the input is Canvas's, and
    its other Canvas-named files are students' too (elsewhere a top-level
    ``notes_2024_10_draft.txt`` is nobody's, not a student 2024)."""
    return any(len(p) == 1 and p[0].lower().endswith(".ipynb")
               and (CANVAS_FILE.match(p[0]) or CANVAS_ANONYMOUS_FILE.match(p[0]))
               for p in paths)  # fmt: skip


def _suffixed(filename: str, names: list[str]) -> tuple[str, str, int] | None:
    """(what comes before, notebook, copy number) when ``filename`` is
    ``<before>_NB`` (or "-", " " before NB)."""
    for name in names:
        stem = re.escape(name.removesuffix(".ipynb"))
        pattern = rf"(?P<key>.+?)[_ -]{stem}{COPY}\.ipynb"
        if match := re.fullmatch(pattern, filename, flags=re.IGNORECASE):
            return match["key"], name, int(match["n1"] or match["n2"] or 0)
    return None
