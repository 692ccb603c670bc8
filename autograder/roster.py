"""The class roster (``--roster students.csv``): course ids for the ids an LMS gives.

A CSV with a header row. Columns (any order, case and spaces ignored):

    id          the student's id in the course: the id graded, in the gradebook and CSV
    lms_id      optional: the id in the LMS download (Moodle's participant number, Canvas's
                user id, a GitHub user name, a folder name)
    email       optional
    first_name  optional, with last_name: matched against the names Moodle and Canvas
    last_name   put in their file names ("Jane Doe", "doejane")

A submission is matched by lms_id, then id, then email, then name; one matching no row
is graded under the id it came with (and noted). Roster ids with no submission are listed
as missing.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
COLUMNS = ("id", "lms_id", "email", "first_name", "last_name")


@dataclass
class Student:
    id: str
    lms_id: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Roster:
    students: list[Student] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.students]

    def match(self, key: str, name: str = "") -> Student | None:
        """The roster row for a submission the LMS calls ``key`` (and ``name``)."""
        for column in ("lms_id", "id"):
            found = [s for s in self.students if getattr(s, column) == key]
            if len(found) == 1:
                return found[0]
        found = [s for s in self.students if s.email and s.email.lower() == key.lower()]
        if len(found) == 1:
            return found[0]
        wanted = {_squash(key), _squash(name)} - {""}
        found = [s for s in self.students if wanted & _names(s)]
        return found[0] if len(found) == 1 else None


def _squash(text: str) -> str:
    """"Jane Doe" and "doejane" alike: lower case ASCII letters and digits only."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _names(student: Student) -> set[str]:
    if not (student.first_name and student.last_name):
        return set()
    return {_squash(student.first_name + student.last_name),
            _squash(student.last_name + student.first_name)}  # fmt: skip


def load(path: Path) -> Roster:
    """Read a roster; raise ValueError saying which line is wrong."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {(h or "").strip().lower().replace(" ", "_"): h for h in reader.fieldnames or []}
        if "id" not in header:
            raise ValueError(f"{path}: the roster needs an 'id' column (found: "
                             f"{', '.join(reader.fieldnames or []) or 'no header'})")  # fmt: skip
        roster, seen = Roster(), {}
        for line, row in enumerate(reader, start=2):
            values = {c: (row.get(header[c]) or "").strip() for c in COLUMNS if c in header}
            if not any(values.values()):
                continue
            if not STUDENT_ID.match(values["id"]):
                raise ValueError(f"{path}, line {line}: id {values['id']!r} is not usable as a "
                                 "student id (letters, digits, and _ . @ - only)")  # fmt: skip
            if values["id"] in seen:
                raise ValueError(f"{path}, line {line}: id {values['id']!r} is already on line "
                                 f"{seen[values['id']]}")  # fmt: skip
            seen[values["id"]] = line
            roster.students.append(Student(**values))
    return roster
