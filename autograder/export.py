"""Grades out of a graded workspace, in the layouts instructors import them with.

``course`` (grades-<assignment>.csv, the default): one row per student with a score per
exercise, the total, the status and the reason, then one row per roster student who
submitted nothing (status ``missing``) and per file that went to no student (status
``unplaced``), read from results/<assignment>/_collection.json when grading wrote one.
The ``notes`` column lists what was left out of or repaired in a submission.

``canvas`` (grades-<assignment>-canvas.csv): Canvas's gradebook import. Columns
``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>``, as a Canvas gradebook
export has them; the second row is ``Points Possible``. Canvas matches rows by ``ID``
(the numeric user id, the one in a Canvas bulk download's file names), so the student
ids must be Canvas's; name the column as Canvas's own export does ("Chapter 2 (12345)")
to fill an existing assignment, else Canvas offers to create a new one. Assumption: the
importer recognises the "Points Possible" row by its first cell and ignores empty SIS
and Section cells. Students who submitted nothing are left out (no grade is invented).
With anonymous grading the download names students ``anon_<id>``, and so does this file;
Canvas's import matches no such row, so enter those grades in SpeedGrader, which shows
the same ids.

``moodle`` (grades-<assignment>-moodle.csv): the assignment's offline grading worksheet
(Assignment > "Upload grading worksheet", with the "Offline grading worksheet" feedback
type on), the file that pairs with "Download all submissions": ``Identifier`` is
``Participant <n>``, the number in the download's folder names
(``Firstname Lastname_<n>_assignsubmission_file_``), then ``Full name, Email address,
Status, Grade, Maximum Grade, Grade can be changed, Last modified (submission),
Last modified (grade), Feedback comments``. Moodle reads Identifier and Grade (and the
comments when the feedback-comments plugin is on): the comments give why a submission was
not graded and the first line of each failed check. Names are the download's.
Assumption: ids that are not numbers are written as they are. Tick "Allow updating
records that have been modified more recently in Moodle" when grades were already entered
there.

``nbgrader``: what ``nbgrader export`` writes (nbgrader's CsvExportPlugin run on the
workspace's gradebook): ``assignment, duedate, timestamp, student_id, last_name,
first_name, email, raw_score, late_submission_penalty, score, max_score``.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

FORMATS = ("course", "canvas", "moodle", "nbgrader")


def export(workspace: Path, assignment: str, fmt: str = "course",
           column: str | None = None) -> Path:  # fmt: skip
    """Write ``assignment``'s grades in ``fmt``; ``column``: the LMS's assignment column."""
    from .course import Workspace

    ws = Workspace(Path(workspace).resolve())
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not (ws.root / "gradebook.db").is_file():
        raise ValueError(f"{ws.root} holds no gradebook: run `python -m autograder grade` "
                         "first")  # fmt: skip
    if fmt == "course":
        return export_csv(ws, assignment)
    if fmt == "nbgrader":
        return _nbgrader(ws, assignment)
    results = _results(ws.root, assignment)
    if not results:
        raise ValueError(f"no graded submissions of {assignment} in {ws.root}: run grade first")
    names = _collection(ws.root, assignment).get("names", {})  # as the LMS download gave them
    for r in results:
        r.setdefault("name", names.get(r["student"], ""))
    maximum = _max_score(ws, assignment)
    path = ws.root / f"grades-{assignment}-{fmt}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if fmt == "canvas":
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                             column or assignment])  # fmt: skip
            writer.writerow(["Points Possible", "", "", "", "", f"{maximum:g}"])
            for r in results:
                writer.writerow([_name(r, canvas=True), r["student"], "", "", "",
                                 f"{_total(r):g}"])  # fmt: skip
        else:
            writer.writerow(["Identifier", "Full name", "Email address", "Status", "Grade",
                             "Maximum Grade", "Grade can be changed",
                             "Last modified (submission)", "Last modified (grade)",
                             "Feedback comments"])  # fmt: skip
            for r in results:
                ident = r["student"]
                ident = f"Participant {ident}" if ident.isdigit() else ident
                comment = _comment(r)
                writer.writerow([ident, _name(r), r.get("email", ""), "Submitted for grading",
                                 f"{_total(r):.2f}", f"{maximum:.2f}", "Yes", "", "",
                                 comment])  # fmt: skip
    return path


def export_csv(ws, assignment: str) -> Path:
    """grades-<assignment>.csv: student, assignment, one column per exercise, total, max,
    status, reason, notes; then the missing students and the unplaced files."""
    results = _results(ws.root, assignment)
    collection = _collection(ws.root, assignment)
    exercises = _grade_ids(ws, assignment)
    maximum = _max_score(ws, assignment)
    path = ws.root / f"grades-{assignment}.csv"
    blank = [""] * len(exercises)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", *exercises, "total", "max", "status",
                         "reason", "notes"])  # fmt: skip
        for r in results:
            scores = [r["scores"].get(e, [0.0, 0.0])[0] for e in exercises]
            notes = [*r.get("ignored", []), *r.get("notes", []),
                     *collection.get("notes", {}).get(r["student"], []),
                     *(f"{name}: {why}" for name, why in
                       collection.get("rejected", {}).get(r["student"], {}).items())]  # fmt: skip
            joined = "; ".join(dict.fromkeys(notes))
            writer.writerow([r["student"], assignment, *scores, sum(scores), maximum,
                             r["status"], r["reason"], joined])  # fmt: skip
        for student in collection.get("missing", []):
            writer.writerow([student, assignment, *blank, "", maximum, "missing",
                             "on the roster, but nothing was submitted", ""])  # fmt: skip
        for item in collection.get("unplaced", []):
            writer.writerow(["", assignment, *blank, "", maximum, "unplaced", item, ""])
    return path


def _results(root: Path, assignment: str) -> list[dict]:
    from .grading import load_results

    return [r for r in load_results(root, assignment) if "student" in r and "scores" in r]


def _collection(root: Path, assignment: str) -> dict:
    """What grading could not attribute or grade (results/<assignment>/_collection.json)."""
    path = Path(root) / "results" / assignment / "_collection.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _comment(result: dict) -> str:
    """What the student should read first: why it was not graded, and the first line of
    each failed check's message ("✗ rnn_step: your output matches a known mistake: …")."""
    lines = [] if result["status"] == "graded" else [f"{result['status']}: {result['reason']}"]
    lines += [message.splitlines()[0] for message in result.get("messages", {}).values()
              if message.startswith("✗")]  # fmt: skip
    return "\n".join(lines)


def _total(result: dict) -> float:
    return sum(score for score, _ in result["scores"].values())


def _name(result: dict, canvas: bool = False) -> str:
    """The student's name as the LMS gave it ("Last, First" for Canvas), else the id."""
    first, last = result.get("first_name") or "", result.get("last_name") or ""
    if not (first or last) and result.get("name"):
        first, _, last = str(result["name"]).strip().rpartition(" ")
    if not (first or last):
        return result["student"]
    if canvas:
        return f"{last}, {first}" if first and last else first or last
    return f"{first} {last}".strip()


def _nbgrader(ws, assignment: str) -> Path:
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    from .course import fast_gradebooks

    fast_gradebooks()
    path = ws.root / f"grades-{assignment}-nbgrader.csv"
    plugin = CsvExportPlugin(to=str(path), assignment=[assignment])
    with _quiet(), Gradebook(ws.gradebook_url) as gradebook:
        plugin.export(gradebook)
    return path


def _grade_ids(ws, assignment: str) -> list[str]:
    from nbgrader.api import Gradebook

    with _quiet(), Gradebook(ws.gradebook_url) as gradebook:
        notebooks = gradebook.find_assignment(assignment).notebooks
        return [c.name for nb in notebooks for c in nb.grade_cells if c.cell_type == "code"]


def _max_score(ws, assignment: str) -> float:
    from nbgrader.api import Gradebook

    with _quiet(), Gradebook(ws.gradebook_url) as gradebook:
        return float(gradebook.find_assignment(assignment).max_score)


class _quiet(warnings.catch_warnings):
    """No SQLAlchemy autoflush notes (SAWarning) from nbgrader's models on screen."""

    def __enter__(self):
        super().__enter__()
        from sqlalchemy.exc import SAWarning

        warnings.simplefilter("ignore", SAWarning)
