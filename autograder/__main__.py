"""``python -m autograder COMMAND``: the instructor's side of the course.

release    regenerate notebooks/ (the student release) from solutions/
validate   check that every solution earns full marks and every release earns zero
"""

from __future__ import annotations

import argparse
import sys

from . import commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [("release", "regenerate notebooks/ from solutions/"),
                       ("validate", "solutions earn full marks, releases earn zero")]:  # fmt: skip
        command = sub.add_parser(name, help=text)
        command.add_argument("assignments", nargs="*", help="default: every assignment")
    args = parser.parse_args(argv)
    if args.command == "release":
        for path in commands.release(args.assignments or None):
            print(f"wrote {path.relative_to(commands.REPO)}")
        return 0
    ok = True
    for assignment, scores in commands.validate(args.assignments or None).items():
        solution, maximum = scores["solution"]
        blank = scores["release"][0]
        good = solution == maximum and blank == 0
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {assignment}: solution {solution:g}/{maximum:g}, "
              f"release {blank:g}/{maximum:g}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
