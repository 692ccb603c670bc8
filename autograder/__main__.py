"""``python -m autograder COMMAND``: the instructor's side of the course.

release          regenerate notebooks/ (the student release) from solutions/
validate         check that every solution earns full marks and every release earns zero
student-release  build what students get (notebooks, lstm_ref's wheel, Binder
                 configuration) into one folder, to publish where the site's links point
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import commands
from .export import FORMATS, export
from .sandbox import Limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [("release", "regenerate notebooks/ from solutions/"),
                       ("validate", "solutions earn full marks, releases earn zero")]:  # fmt: skip
        command = sub.add_parser(name, help=text)
        command.add_argument("assignments", nargs="*", help="default: every assignment")
    g = sub.add_parser("grade", help="autograde a class in parallel")
    g.add_argument("assignment")
    g.add_argument("--submissions", required=True, type=Path, help="folder or zip")
    g.add_argument("--roster", type=Path, help="CSV of the class: id, and optionally lms_id, "
                   "email, first_name, last_name (maps LMS ids; lists who submitted nothing)")
    g.add_argument(
        "--workspace",
        type=Path,
        default=Path("grading"),
        help="where the gradebook, feedback and CSV go (default: ./grading)",
    )
    g.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786)")
    g.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    g.add_argument("--timeout", type=float, default=300, help="seconds per submission")
    g.add_argument(
        "--cell-timeout",
        type=int,
        default=None,
        help="seconds per cell (default: nbgrader_config.py's, 30)",
    )
    g.add_argument("--memory-mb", type=int, default=4096, help="memory per submission")
    g.add_argument("--sandbox", choices=["auto", "bwrap", "none"], default="auto")
    for command in (g, e := sub.add_parser("export", help="grades of a graded workspace, "
                                           "for an LMS (canvas, moodle) or nbgrader")):  # fmt: skip
        command.add_argument("--format", choices=FORMATS, default="course",
                             help="also write the grades as Canvas's gradebook import, Moodle's "
                             "grading worksheet or nbgrader's export (default: the course CSV)")
        command.add_argument("--column", help="the LMS's name of the assignment column, e.g. "
                             "'Chapter 2 (12345)' from a Canvas gradebook export")  # fmt: skip
    e.add_argument("assignment")
    e.add_argument("--workspace", type=Path, default=g.get_default("workspace"),
                   help="the workspace that grade wrote")  # fmt: skip
    s = sub.add_parser("student-release", help="notebooks/, lstm_ref's wheel and Binder "
                       "configuration in one folder, to publish (see README)")  # fmt: skip
    s.add_argument("--out", required=True, type=Path, help="a new or empty folder")
    s.add_argument("--zip", action="store_true", help="also write OUT.zip")
    r = sub.add_parser("report", help="score distribution and common mistakes")
    r.add_argument("assignment")
    r.add_argument("--workspace", type=Path, default=Path("grading"))
    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(args)
    if args.command == "export":
        print(f"wrote {export(args.workspace, args.assignment, args.format, args.column)}")
        return 0
    if args.command == "report":
        from .report import report

        table, figure = report(args.workspace, args.assignment)
        print(table.read_text(), f"\nwrote {table} and {figure}", sep="")
        return 0
    if args.command == "student-release":
        return _student_release(args)
    if args.command == "release":
        for path in commands.release(args.assignments or None):
            print(f"wrote {path.relative_to(commands.REPO)}")
        return 0
    ok = True
    for assignment, scores in commands.validate(args.assignments or None,
                                                progress=True).items():
        solution, maximum = scores["solution"]
        blank = scores["release"][0]
        good = solution == maximum and blank == 0
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {assignment}: solution {solution:g}/{maximum:g}, "
              f"release {blank:g}/{maximum:g}")  # fmt: skip
    return 0 if ok else 1


def _student_release(args) -> int:
    from .student_release import CONFIG, build, configured_release

    try:
        release = configured_release()
        out = build(args.out, release, zip_too=args.zip)
    except (OSError, ValueError, RuntimeError) as error:  # a used folder, a stale notebook
        print(f"student-release: {error}", file=sys.stderr)
        return 1
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        print(f"{path.stat().st_size:>9,d}  {path.relative_to(out)}")
    print(f"wrote {out}" + (f" and {out}.zip" if args.zip else ""))
    if release:
        print(f"install cells point at {release.repository}/tree/{release.branch}; "
              f"publish it there (see README)")  # fmt: skip
    else:
        print(f"exercise_launch.release is empty in {CONFIG.name}: install cells use "
              "../wheels/, and the site shows download links only")  # fmt: skip
    return 0


def _grade(args) -> int:
    from .grading import grade

    limits = Limits(
        timeout=args.timeout,
        memory_mb=args.memory_mb,
        sandbox=args.sandbox,
        cell_timeout=args.cell_timeout,
    )
    results = grade(args.assignment, args.submissions, args.workspace, roster=args.roster,
                    scheduler=args.scheduler, workers=args.workers, limits=limits)  # fmt: skip
    collection = args.workspace / "results" / args.assignment / "_collection.json"
    notes = json.loads(collection.read_text())
    for r in results:
        maximum = sum(m for _, m in r.scores.values())
        note = f"  ({r.status}: {r.reason})" if r.status != "graded" or r.reason else ""
        print(f"{r.student:20s} {r.total:5g}/{maximum:g}{note}")
        said = [n for n in notes["notes"].get(r.student, []) if not n.endswith("superseded")]
        for line in [f"left out: {i}" for i in r.ignored] + said:  # superseded: in ignored
            print(f"{'':22s}{line}")
    for line in notes["unplaced"]:
        print(f"not graded, no student's: {line}")
    if notes["missing"]:
        print(f"on the roster, submitted nothing: {', '.join(notes['missing'])}")
    print(f"wrote {args.workspace / f'grades-{args.assignment}.csv'} and feedback/ for "
          f"{len(results)} submissions; what was left out is in {collection}")  # fmt: skip
    if args.format != "course":
        print(f"wrote {export(args.workspace, args.assignment, args.format, args.column)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
