"""nbgrader's configuration when started from the repository root (`.venv/bin/jupyter lab`).

The Formgrader and `nbgrader` commands run here read this file: the course's own settings
(autograder/nbgrader_config.py: source in solutions/, release in notebooks/, so the
Formgrader lists the seven assignments). A grading workspace made by
`python -m autograder grade` has its own nbgrader_config.py; open the Formgrader there
to see the graded class (README, "For instructors").
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
load_subconfig(str(Path(__file__).resolve().parent / "autograder" / "nbgrader_config.py"))  # noqa: F821

# nbgrader runs `alembic` by name to open a gradebook: without this Python's bin folder on
# PATH (an environment not activated), the Formgrader hangs on "Loading".
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")
