"""Messages for a student at 11 pm: what is wrong, where, what to try, in five lines.

Every failing verdict reads::

    ✗ rnn_step: <what is wrong>
      Hint: <what to try>
      Case: <the case that shows it>

with no frames from the grading code and no paths of the machine that graded it.
"""

from __future__ import annotations

import re

# what NumPy and torch say when operands do not fit
SHAPE_ERRORS = ("matmul", "mat1 and mat2", "not aligned", "size of tensor a", "broadcast",
                "must match the size", "Dimension out of range", "shapes cannot be multiplied",
                "Expected hidden", "input.size(-1)", "einsum()", "shape '[",
                "Expected target size", "Expected input batch_size")  # fmt: skip
MAX_LINE = 240
PATH = re.compile(r"(?:/[\w.+-]+){2,}/([\w.+-]+\.py)")  # an absolute path to a file


def clean(text: str) -> str:
    """One message line: no absolute paths (only the file's name), no runaway length."""
    text = PATH.sub(r"\1", " ".join(str(text).split()))
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def hint_for_error(error_type: str, error: str, shape_hint: str) -> str:
    """A hint for the errors students meet most, or ""."""
    if error_type == "NotImplementedError":
        return "the function is still the stub; replace `raise NotImplementedError()`."
    if error_type in ("FloatingPointError", "RuntimeWarning"):
        return "an overflow; large |inputs| need a numerically stable formula."
    if any(marker in error for marker in SHAPE_ERRORS):
        return shape_hint or "operands of incompatible shapes: check each array's shape."
    return ""


def compose(name: str, what: str, hint: str = "", case: str = "") -> str:
    """The failing message: at most five lines, the diagnosis first."""
    lines = [f"✗ {name}: {clean(what)}"]
    if hint:
        lines.append(f"  Hint: {clean(hint)}")
    if case:
        lines.append(f"  Case: {clean(case)}")
    return "\n".join(lines[:5])


def success(name: str, count: int, dtypes: list[str], devices: list[str],
            hidden: bool = False) -> str:  # fmt: skip
    """The ✓ line; ``hidden`` for the grader's own cases, so that feedback showing both
    calls of a test cell does not read as one line twice."""
    return (f"✓ {name}: all {count} {'hidden ' * hidden}cases match the reference "
            f"({', '.join(dtypes)} on {', '.join(devices)})")  # fmt: skip
