"""Cap what a submission's cells print in bytes, as nbgrader caps it in lines.

nbgrader's ``LimitOutput`` keeps at most 200 lines of a cell's printed text; one line of
60 MB (``print("x" * 60_000_000)``) passes it whole, into the autograded notebook, the
feedback page and the memory of the process that collects the class's results.
:class:`LimitOutputBytes` also keeps at most ``max_bytes`` of each cell's outputs.
What a cell printed never decides a grade (:mod:`autograder.verdicts` judges the
records the checks wrote), so the cut changes only what the student reads.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

MAX_OUTPUT_BYTES = 100_000
"""Bytes of output kept per cell: a few thousand lines of text, or a figure or two."""


class LimitOutputBytes(LimitOutput):
    """nbgrader's LimitOutput, then at most ``max_bytes`` of each code cell's outputs.

    Text outputs past the budget are cut, with a line that says how much was left out;
    a rich output (a figure, a table) that does not fit is replaced by such a line.
    """

    max_bytes = Integer(MAX_OUTPUT_BYTES, help="bytes of output kept per cell").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code":
            cell.outputs = _capped(cell.outputs, self.max_bytes)
        return cell, resources


def _capped(outputs: list, budget: int) -> list:
    kept = []
    for output in outputs:
        size = _size(output)
        if size <= budget:
            kept.append(output)
            budget -= size
        elif output.output_type == "stream":
            text = output.text.encode()[: max(budget, 0)].decode(errors="ignore")
            left = size - len(text.encode())
            output.text = text + f"\n... Output truncated ({left:,} more bytes) ...\n"
            kept.append(output)
            budget = 0
        else:
            kept.append(new_output("stream", name="stdout", text=(
                f"... Output removed ({size:,} bytes, over the {MAX_OUTPUT_BYTES:,} kept "
                "per cell) ...\n")))  # fmt: skip
    return kept


def _size(output) -> int:
    """Bytes of an output's text or data (what the notebook would store)."""
    if output.output_type == "stream":
        return len(output.get("text", "").encode())
    data = output.get("data", {})
    total = sum(len(v.encode()) if isinstance(v, str) else len(str(v)) for v in data.values())
    if output.output_type == "error":
        total += sum(len(line.encode()) for line in output.get("traceback", []))
    return total


def autograde_preprocessors() -> list:
    """nbgrader's autograde pipeline with :class:`LimitOutputBytes` for LimitOutput."""
    from nbgrader.converters import Autograde

    return [LimitOutputBytes if p is LimitOutput else p
            for p in Autograde.class_traits()["autograde_preprocessors"].default()]  # fmt: skip
