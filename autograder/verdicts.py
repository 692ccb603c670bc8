"""The grade of each test cell, decided here, in a process that runs no student code.

The graded kernel runs each test cell's checks on the student's code and records the
outputs as plain data (``lstm_ref.grading.exercise``: one ``.npz`` per test cell and call,
read without pickle). This module reads which checks each test cell calls from the
course's own source notebook (never from the submission), makes the cases again from
their seeds, computes the reference and judges the recorded outputs. A test cell earns its
points when every check it calls passes here; what the kernel printed or raised does not
count. A missing or unreadable record earns zero, with the reason.

    calls = test_calls(source_notebook)          # {grade_id: [Call(...), ...]}
    verdicts = judge_cells(calls, records_dir)   # {grade_id: CellVerdict}
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lstm_ref.grading import Exercise
from lstm_ref.grading import values as records
from lstm_ref.grading.exercise import record_name

from .progress import code_fingerprint


@dataclass(frozen=True)
class Call:
    """``check(student, hidden=...)`` in a test cell: its exercise and the cell's fingerprint."""

    exercise: Exercise
    hidden: bool
    cell: str


@dataclass
class CellVerdict:
    passed: bool
    message: str  # the ✓ lines, or the first failing check's message
    mistakes: list[str] = field(default_factory=list)


def _imports(notebook) -> dict[str, str]:
    """name -> module, for every ``from lstm_ref.grading... import name`` in the notebook."""
    names = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "lstm_ref.grading"
            ):
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return names


def test_calls(source: bytes | str) -> dict[str, list[Call]]:
    """grade_id -> the checks its test cell calls, read from the course's source notebook.

    Only test cells that consist of check calls are listed; any other test cell keeps
    nbgrader's own grade.
    """
    notebook = nbformat.reads(source if isinstance(source, str) else source.decode(), 4)
    imported = _imports(notebook)
    cells = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        calls = _calls(cell.source, imported)
        if calls:
            cells[meta["grade_id"]] = calls
    return cells


def _calls(source: str, imported: dict[str, str]) -> list[Call] | None:
    tree = ast.parse(source)
    calls = []
    for statement in tree.body:
        node = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return None
        target = imported.get(node.func.id)
        if target is None:
            return None
        module, name = target.split(":")
        exercise = getattr(importlib.import_module(module), name, None)
        if not isinstance(exercise, Exercise):
            return None
        hidden = any(k.arg == "hidden" and isinstance(k.value, ast.Constant) and k.value.value
                     for k in node.keywords)  # fmt: skip
        calls.append(Call(exercise, bool(hidden), code_fingerprint(source)))
    return calls or None


def judge_cells(cells: dict[str, list[Call]], folder: Path) -> dict[str, CellVerdict]:
    """The verdict on each test cell from the records in ``folder``."""
    verdicts = {}
    for grade_id, calls in cells.items():
        lines, verdict = [], None
        for call in calls:
            one = _judge_call(call, folder)
            if not one.passed:
                verdict = CellVerdict(False, one.message, [one.mistake] if one.mistake else [])
                break
            lines.append(one.message)
        verdicts[grade_id] = verdict or CellVerdict(True, "\n".join(lines))
    return verdicts


NOT_RUN = "the test did not run to its check"
UNKNOWN_STOP = " (an error before it, such as a name that is not defined?)"
TIMED_OUT = ("CellTimeoutError", "KeyboardInterrupt")  # nbclient's, and the interrupt it sent


def explain_stop(verdict: CellVerdict, errors: list[tuple[str, str]]) -> CellVerdict:
    """`verdict`, its "did not run to its check" told by the errors its test cell showed
    in the kernel (ename, evalue), when it has that message: a cell that ran past its
    time, or the error the student's code raised. The errors only word the message; the
    verdict stays what the records decided."""
    errors = [(ename, evalue) for ename, evalue in errors if ename != "GradingError"]
    if verdict.passed or not errors or UNKNOWN_STOP not in verdict.message:
        return verdict  # a GradingError is the kernel's own verdict: not the cause
    names = [ename for ename, _ in errors]
    if any(ename in TIMED_OUT for ename in names):
        why = (" and stopped at the time a cell may take: an endless loop, or far more "
               "work than the exercise needs?")  # fmt: skip
    else:
        ename, evalue = errors[-1]
        why = f": it stopped with {ename}: {evalue.strip()[:200]}"
    return CellVerdict(False, verdict.message.replace(UNKNOWN_STOP, why), verdict.mistakes)


def _judge_call(call: Call, folder: Path):
    from lstm_ref.grading import Verdict

    name = call.exercise.name
    path = folder / record_name(call.cell, name, call.hidden)
    if not path.exists():
        return Verdict(False, f"✗ {name}: {NOT_RUN}{UNKNOWN_STOP}")
    try:
        outcomes = records.load(path)
    except Exception as error:  # noqa: BLE001 - whatever is in the file, it earns zero
        return Verdict(False, f"✗ {name}: the recorded results could not be read "
                              f"({type(error).__name__})")  # fmt: skip
    try:
        return call.exercise.judge(outcomes, call.hidden)
    except Exception as error:  # noqa: BLE001 - a malformed record earns zero, with a reason
        return Verdict(False, f"✗ {name}: the recorded results could not be judged "
                              f"({type(error).__name__}: {str(error)[:200]})")  # fmt: skip


def explain_stops(verdicts: dict[str, dict], autograded: Path) -> None:
    """Word each "did not run to its check" by the errors its test cell showed (the
    autograded notebook, before the verdicts are written into it); scores stay as judged."""
    for name, cells in verdicts.items():
        try:
            notebook = nbformat.read(autograded / name, as_version=4)
        except Exception:  # noqa: BLE001 - no notebook, no wording: the verdict stands
            continue
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in cells:
                errors = [(str(output.get("ename", "")), str(output.get("evalue", "")))
                          for output in cell.get("outputs", [])
                          if output.get("output_type") == "error"]  # fmt: skip
                cells[grade_id] = explain_stop(cells[grade_id], errors)
