"""The grading vocabulary: a case, a check, a known mistake, a verdict.

A check is judged in two halves that never share a process when a class is graded:

* **running** (:mod:`lstm_ref.grading.run`, in the student's kernel): the student's
  function on every case, each output turned into plain data (:mod:`.values`);
* **judging** (:mod:`lstm_ref.grading.judge`, a pure function of the case inputs and
  those outputs): the reference, the comparison, the name of the mistake, the verdict.

In a notebook both halves run in the kernel for instant feedback; ``python -m autograder
grade`` judges in its own process from the recorded outputs, so nothing a student's code
does can change a grade.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

# (rtol, atol) by the dtype of the inputs: loose enough for any correct formulation
# (separate matrices, loops, another order of operations), tight enough for any mistake.
WIDTH = 82  # nbgrader validate cuts lines past 87 characters, after its 4-space indent
TOLERANCE = {np.dtype("float64"): (1e-7, 1e-9), np.dtype("float32"): (2e-4, 2e-5)}


class GradingError(AssertionError):
    """A check failed; the message is written for the student.

    In Jupyter the error shows as its message alone, wrapped to fit ``nbgrader validate``'s
    lines: no frames of the grading code, no paths (IPython's ``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:
        lines = [f"{type(self).__name__}:"]
        for line in str(self).splitlines():
            indent = line[: len(line) - len(line.lstrip())] + "  "
            lines += textwrap.wrap(line, WIDTH, subsequent_indent=indent) or [""]
        return lines


@dataclass(frozen=True)
class Case:
    """One set of arguments, and a label a student can read ("batch 1, float32, cpu").

    ``dtype`` and ``device`` are those of the floating inputs; outputs must follow them.
    """

    label: str
    args: tuple
    dtype: np.dtype = np.dtype("float64")
    device: str = "cpu"


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant: ``fn(*case.args)`` computes what that mistake returns."""

    name: str
    hint: str
    fn: Callable


@dataclass
class Check:
    """What to call, what to compare it with, and what can go wrong.

    Attributes:
        name: what the student wrote ("rnn_step"), the first word of every message.
        reference: ``reference(*case.args)`` -> the expected output(s).
        output_names: one name per output, in order ("h_next", "c_next").
        mistakes: this exercise's own mistakes; :mod:`.catalogue`'s shared ones (swapped
            outputs, wrong dtype, a cut gradient, batch-first for time-major, ...) are
            tried as well unless ``shared_mistakes`` is False.
        forbid: from scratch: calling torch's recurrent layers or lstm_ref fails.
        wrt: torch exercises: positions of the arguments (tensors, or tuples of them)
            that gradients must reach; the outputs then include ∂L/∂ of each, for a fixed
            weighted sum L of the floating outputs.
        arg_names: names of the arguments, for the gradients' names ("∂L/∂W_ih").
        shape_hint: what to say when the student's code raises a shape error.
        hints: this exercise's own hint for a shared mistake ("dtype", "device",
            "gradient"), where the catalogue's general one does not fit.
        criterion: for outputs with no single right value (a trained model's forecasts):
            ``criterion(case, got, expected) -> problem or None``, on lists of
            :class:`~.values.Value`, replaces the comparison with the reference's outputs.
    """

    name: str
    reference: Callable
    output_names: Sequence[str]
    mistakes: Sequence[Mistake] = field(default_factory=tuple)
    forbid: bool = True
    wrt: Sequence[int] = ()
    arg_names: Sequence[str] = ()
    shape_hint: str = ""
    shared_mistakes: bool = True
    criterion: Callable | None = None
    hints: dict[str, str] = field(default_factory=dict)  # "dtype", "device", "gradient"

    @property
    def all_output_names(self) -> list[str]:
        """The output names, then one ∂L/∂name per argument in ``wrt``."""
        return [*self.output_names, *(f"∂L/∂{self.arg_name(i)}" for i in self.wrt)]

    def arg_name(self, position: int) -> str:
        names = list(self.arg_names)
        return names[position] if position < len(names) else f"argument {position + 1}"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one check call: passed, and if not, the message and the mistake."""

    passed: bool
    message: str  # the ✓ line, or at most five lines that say what is wrong
    mistake: str = ""  # the name of the known mistake, when one was recognised
    case: str = ""  # the label of the case that showed it

    def raise_or_print(self) -> None:
        """The notebook's behaviour: print the ✓ line, or raise :class:`GradingError`."""
        if not self.passed:
            __tracebackhide__ = True  # noqa: F841 - read by IPython and pytest
            raise GradingError(self.message)
        print(self.message)
