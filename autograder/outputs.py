"""Cap what a submission's cells print in bytes, as nbgrader caps it in lines.

nbgrader's ``LimitOutput`` keeps at most 200 lines of a cell's printed text; one line of
60 MB (``print("x" * 60_000_000)``) passes it whole, into the autograded notebook, the
feedback page and the memory of the process that collects the class's results.
:class:`LimitOutputBytes` also keeps at most ``max_bytes`` of each cell's outputs and
``max_notebook_bytes`` of the notebook's, each output counted as the JSON the notebook
stores (its metadata too). What a cell printed never decides a grade
(:mod:`autograder.verdicts` judges the records the checks wrote), so the cut changes
only what the student reads; even so an output keeps its type, and an error stays an
error (its message and traceback lines shortened).
"""

from __future__ import annotations

import json

from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

MAX_OUTPUT_BYTES = 100_000
"""Bytes of output kept per cell: a few thousand lines of text, or a figure or two."""
MAX_NOTEBOOK_BYTES = 1_000_000
"""Bytes of output kept per notebook."""
ERROR_LINE_CHARS = 2_000
"""Characters kept of an error's message and of each line of its traceback."""


class LimitOutputBytes(LimitOutput):
    """nbgrader's LimitOutput, then at most ``max_bytes`` of each code cell's outputs
    and ``max_notebook_bytes`` of all of them.

    Printed text past the budget is cut, with a line that says how much was left out;
    a rich output (a figure, a table) that does not fit keeps only such a line as its
    text; an error keeps its type, with its message and traceback lines shortened.
    """

    max_bytes = Integer(MAX_OUTPUT_BYTES, help="bytes of output kept per cell").tag(config=True)
    max_notebook_bytes = Integer(MAX_NOTEBOOK_BYTES, help="bytes of output kept per "
                                 "notebook").tag(config=True)  # fmt: skip

    def preprocess(self, nb, resources):
        self._left = self.max_notebook_bytes  # the notebook's budget, spent cell by cell
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code":
            budget = min(self.max_bytes, self._left)
            cell.outputs, spent = _capped(cell.outputs, budget)
            self._left -= spent
        return cell, resources


def _capped(outputs: list, budget: int) -> tuple[list, int]:
    """The outputs within `budget` bytes (each cut or emptied in turn), and bytes used."""
    spent = 0
    for output in outputs:
        size = _size(output)
        left = max(budget - spent, 0)
        if size > left:
            if output.output_type == "stream":
                text = output.text.encode()
                kept = _within(text[:left].decode(errors="ignore"), left)
                cut = len(text) - len(kept.encode())  # of the text, not of its JSON
                output.text = kept + (f"\n... Output truncated ({cut:,} more "
                                      f"byte{'s' * (cut != 1)}) ...\n")  # fmt: skip
            elif output.output_type == "error":
                output.evalue = _shorter(output.get("evalue", ""))
                output.traceback = [_shorter(line) for line in output.get("traceback", [])]
            else:  # a figure, a table: its type stays, its content goes
                output.data = {"text/plain": f"... Output removed ({size:,} bytes, more than "
                                             "the cell's share) ..."}  # fmt: skip
                output.metadata = {}
            size = _size(output)
        spent += size
    return outputs, spent


def _within(text: str, budget: int) -> str:
    """The longest start of `text` found whose JSON takes at most `budget` bytes: quotes,
    backslashes and control characters take two bytes or more in JSON, one in text."""
    while text and (stored := len(json.dumps(text, ensure_ascii=False).encode())) > budget:
        text = text[: len(text) * budget // stored]
    return text


def _size(output) -> int:
    """Bytes of an output as the notebook stores it (as JSON)."""
    return len(json.dumps(output, ensure_ascii=False).encode())


def _shorter(text: str) -> str:
    if len(text) <= ERROR_LINE_CHARS:
        return text
    return text[:ERROR_LINE_CHARS] + f"... ({len(text) - ERROR_LINE_CHARS:,} more characters)"


def autograde_preprocessors() -> list:
    """nbgrader's autograde pipeline with :class:`LimitOutputBytes` for LimitOutput."""
    from nbgrader.converters import Autograde

    return [LimitOutputBytes if p is LimitOutput else p
            for p in Autograde.class_traits()["autograde_preprocessors"].default()]  # fmt: skip
