"""The course's nbgrader configuration: source in solutions/, student release in notebooks/.

Use it from the repository root, e.g.
    nbgrader generate_assignment rnn_limits --config autograder/nbgrader_config.py --no-db
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

ROOT = Path(__file__).resolve().parents[1]
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "lstm-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Each graded cell runs within 30 s on a 2-core CPU (the exercises are sized for it).
c.ExecutePreprocessor.timeout = 30

# A student who deletes or edits a test cell gets the original back when graded.
c.OverwriteCells.add_missing_cells = True

# Warnings never cost points: nbgrader zeroes a graded cell with stderr output, so drop
# stderr outputs that are Python warnings ("file.py:3: UserWarning: ..."). Failures
# reach nbgrader as errors, never as stderr.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: "

# Huge outputs are cut, not stored: at most 200 lines per cell.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
