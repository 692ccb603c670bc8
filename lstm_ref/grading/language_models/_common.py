"""What chapter 5's checks share: the guard against calling lstm_ref.text, a comparison
that also holds integer outputs to their dtype, and errors that name a mistake.

Two kinds of mistake show up as an error rather than as a wrong number: a state that
is not detached makes the next window's ``backward`` run into a freed graph, and
``torch.multinomial`` refuses logits. :class:`TextExercise` names them from the recorded
error and the case it happened on, a pure function of both, like every other judgement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import guard, messages
from ..core import Case, Verdict
from ..exercise import Part
from ..judge import where
from ..torch_cases import TorchExercise
from ..values import Outcome

INT_IDS = ("the ids are not int64 (torch.long)",
           "symbol ids are whole numbers: keep ids' own dtype; a buffer made with "
           "torch.zeros(...) is float32 unless you pass dtype=ids.dtype.")  # fmt: skip


def forbid_text(*functions, hint: str = "Write it with torch operations."):
    """While the student's code runs, calling these lstm_ref.text functions fails."""
    labels = [(f"lstm_ref.text.{f.__name__}", f) for f in functions]
    return guard.forbid(functions=labels, hint=hint)


@dataclass(frozen=True)
class KnownError:
    """An error that a known mistake raises: ``applies(case, error_type, error)``."""

    name: str
    hint: str
    applies: Callable[[Case, str, str], bool]


class TextExercise(TorchExercise):
    """A torch exercise that also names a mistake from the error it raised, and holds
    integer outputs (symbol ids) to int64, the dtype of the ids they come from."""

    def __init__(self, name: str, parts: Sequence[Part], doc: str = "",
                 errors: Sequence[KnownError] = (), ids: Sequence[str] = ()):  # fmt: skip
        """``errors``: the known mistakes that raise; ``ids``: the names of the outputs
        that are symbol ids, which must be int64 like the reference's."""
        super().__init__(name, parts, doc)
        self.errors, self.ids = list(errors), set(ids)

    def judge(self, outcomes: list[list[Outcome]], hidden: bool = False) -> Verdict:
        verdict = super().judge(outcomes, hidden)
        if verdict.passed:
            return self._integer_dtypes(outcomes, hidden) or verdict
        if verdict.mistake:
            return verdict
        return self._known_error(outcomes, hidden, verdict.case) or verdict

    def _known_error(self, outcomes, hidden: bool, label: str) -> Verdict | None:
        for part, got in zip(self.parts, outcomes):
            for case, outcome in zip(part.cases(hidden), got):
                if case.label != label or outcome.values is not None:
                    continue
                for known in self.errors:
                    if known.applies(case, outcome.error_type, outcome.error):
                        what = (f"your code raised {outcome.error_type}, a sign of a known "
                                f"mistake: {known.name}.")  # fmt: skip
                        text = messages.compose(self.name, what, known.hint, where(case, hidden))
                        return Verdict(False, text, known.name, case.label)
        return None

    def _integer_dtypes(self, outcomes, hidden: bool) -> Verdict | None:
        """A right answer in the wrong number type: float ids for int64 ones."""
        for part, got in zip(self.parts, outcomes):
            names = part.check.all_output_names
            for case, outcome in zip(part.cases(hidden), got):
                for name, value in zip(names, outcome.values):
                    if name in self.ids and value.kind == "tensor" and value.dtype != "int64":
                        what = (f"your output matches a known mistake: {INT_IDS[0]} "
                                f"({name} is {value.dtype}).")  # fmt: skip
                        text = messages.compose(self.name, what, INT_IDS[1], where(case, hidden))
                        return Verdict(False, text, INT_IDS[0], case.label)
        return None
