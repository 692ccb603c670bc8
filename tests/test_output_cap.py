"""grade's byte cap on printed output (autograder.outputs), on notebooks built here."""

from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.outputs import (
    MAX_NOTEBOOK_BYTES,
    MAX_OUTPUT_BYTES,
    LimitOutputBytes,
    autograde_preprocessors,
)


def capped(cells: list) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    LimitOutputBytes().preprocess(notebook, {})
    return notebook


def size(cell) -> int:
    return len(json.dumps(cell.outputs, ensure_ascii=False).encode())


def cell(*outputs):
    return new_code_cell("pass", outputs=list(outputs))


def test_one_long_line_is_cut_and_says_how_much():
    notebook = capped([cell(new_output("stream", name="stdout", text="x" * 5_000_000))])
    (output,) = notebook.cells[0].outputs
    assert output.output_type == "stream" and size(notebook.cells[0]) < MAX_OUTPUT_BYTES + 200
    assert output.text.endswith("more bytes) ...\n") and "truncated (4,9" in output.text


def test_the_bytes_said_cut_are_the_texts_not_its_json():
    """A quote takes two bytes in JSON and one in the text: the message counts what the
    student printed and did not see, and the cut keeps the cell within its bytes."""
    text = '"' * 3_000_000  # one line: 3 000 000 bytes of text, 6 000 002 of JSON
    notebook = capped([cell(new_output("stream", name="stdout", text=text))])
    (output,) = notebook.cells[0].outputs
    kept = output.text[: output.text.index("\n... Output truncated")]
    assert text.startswith(kept) and len(kept) > MAX_OUTPUT_BYTES // 3
    assert f"({len(text) - len(kept):,} more bytes)" in output.text
    assert size(notebook.cells[0]) < MAX_OUTPUT_BYTES + 200


def test_rich_outputs_and_their_metadata_count_and_keep_their_type():
    figure = new_output("display_data", data={"text/plain": "<Figure>"},
                        metadata={"pad": "z" * 20_000_000})  # fmt: skip
    result = new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1)
    notebook = capped([cell(figure, result)])
    shown, score = notebook.cells[0].outputs
    assert shown.output_type == "display_data" and "Output removed" in shown.data["text/plain"]
    assert shown.metadata == {} and score.data == {"text/plain": "0.5"}  # small: kept


def test_an_error_stays_an_error_however_much_came_before():
    error = new_output("error", ename="ValueError", evalue="v" * 1_000_000,
                       traceback=["line " * 100_000, "ValueError: " + "v" * 1_000_000])
    notebook = capped([cell(new_output("stream", name="stdout", text="p" * 100_000), error)])
    printed, kept = notebook.cells[0].outputs
    assert kept.output_type == "error" and kept.ename == "ValueError"
    assert len(kept.evalue) < 2_100 and all(len(line) < 2_100 for line in kept.traceback)


def test_many_cells_share_one_budget_for_the_notebook():
    cells = [cell(new_output("stream", name="stdout", text="y" * 99_000)) for _ in range(300)]
    notebook = capped(cells)
    total = sum(size(c) for c in notebook.cells)
    assert total < MAX_NOTEBOOK_BYTES + 300 * 200  # the cut lines say what was left out
    assert size(notebook.cells[0]) > 99_000 and size(notebook.cells[-1]) < 200


def test_grade_pipeline_has_the_byte_cap_in_nbgraders_place():
    names = [p.__name__ for p in autograde_preprocessors()]
    assert "LimitOutputBytes" in names and "LimitOutput" not in names
    assert names.index("LimitOutputBytes") < names.index("SaveAutoGrades")
