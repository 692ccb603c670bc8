"""``python -m autograder.autograde_one ASSIGNMENT STUDENT``, run inside the sandbox.

Autogrades one student's submission in the current folder (a prepared nbgrader course)
and makes its feedback, in one process through nbgrader's Python API.
"""

import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader


def main(assignment: str, student: str) -> int:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(Path.cwd())).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for step in (api.autograde, api.generate_feedback):
        result = step(assignment, student, force=True)
        if not result["success"]:
            print(result.get("log", ""), result.get("error", ""), sep="\n")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
