"""The class at a glance: score distribution per exercise and the most common mistakes.

Reads what ``grade`` wrote in the workspace (results/<assignment>/*.json) and writes
report-<assignment>.md (tables) and report-<assignment>.png: a histogram of the total
score, then one per exercise, in the notebook's order, in a grid that fits a laptop screen.
"""

from __future__ import annotations

import collections
import math
import re
from pathlib import Path

from .course import REPO
from .feedback import points
from .grading import load_results

MISTAKE = re.compile(r"matches a known mistake: (.+?)\.(?:\n|$)")  # lstm_ref.grading.judge


def notebook_order(assignment: str) -> list[str]:
    """The assignment's graded cells (grade_ids), in the order its notebooks show them."""
    folder = REPO / "solutions" / assignment
    return [grade_id for path in sorted(folder.glob("*.ipynb"))
            for grade_id in points(path.read_bytes())]  # fmt: skip


def summarise(results: list[dict], order: list[str] = ()) -> dict:
    """Per-exercise scores (in ``order``, then any others by name), total scores, mistake
    counts and statuses, as plain data."""
    found = {grade_id for r in results for grade_id in r["scores"]}
    exercises = [e for e in order if e in found] + sorted(found - set(order))
    scores = {e: [r["scores"].get(e, [0.0, 0.0])[0] for r in results] for e in exercises}
    maxima = {e: max((r["scores"][e][1] for r in results if e in r["scores"]), default=0.0)
              for e in exercises}  # fmt: skip
    mistakes = collections.Counter(
        (grade_id, name)
        for r in results
        for grade_id, message in r["messages"].items()
        for name in MISTAKE.findall(message + " ")
    )
    statuses = collections.Counter(r["status"] for r in results)
    totals = [sum(scores[e][i] for e in exercises) for i in range(len(results))]
    return {"exercises": exercises, "scores": scores, "maxima": maxima, "totals": totals,
            "maximum": sum(maxima.values()), "mistakes": mistakes, "statuses": statuses,
            "students": len(results)}  # fmt: skip


def markdown(summary: dict, assignment: str) -> str:
    n = summary["students"]
    lines = [f"# {assignment}: {n} submissions", "",
             "| exercise | max | mean | full marks | zero |", "|---|---|---|---|---|"]  # fmt: skip
    rows = [(e, summary["scores"][e], summary["maxima"][e]) for e in summary["exercises"]]
    for e, s, top in [*rows, ("**total**", summary["totals"], summary["maximum"])]:
        full = sum(v == top for v in s)
        zero = sum(v == 0 for v in s)
        lines.append(f"| {e} | {top:g} | {sum(s) / n:.2f} | {full} | {zero} |")
    if summary["mistakes"]:
        lines += ["", "| most common diagnosed mistake | exercise | students |",
                  "|---|---|---|"]  # fmt: skip
        for (grade_id, name), count in summary["mistakes"].most_common(10):
            lines.append(f"| {name} | {grade_id} | {count} |")
    else:
        lines += ["", "No mistakes diagnosed: no failed test matched a known mistake."]
    lines += ["", "| status | submissions |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in summary["statuses"].most_common()]
    return "\n".join(lines) + "\n"


def plot(summary: dict, assignment: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("total", summary["totals"], summary["maximum"], "#aa3377")]
    panels += [(e, summary["scores"][e], summary["maxima"][e], "#4477aa")
               for e in summary["exercises"]]  # fmt: skip
    columns = min(3, len(panels))  # at most 3 across: about 1200 px wide at 100 dpi
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.9 * rows), squeeze=False)
    for ax, (title, scores, top, color) in zip(axes.flat, panels):
        counts = collections.Counter(scores)
        values = sorted(counts)
        ax.bar([f"{v:g}" for v in values], [counts[v] for v in values], color=color)
        ax.set_title(title, fontsize=10, fontweight="bold" if title == "total" else "normal")
        ax.set_xlabel(f"score (of {top:g})")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{assignment}: {summary['students']} submissions, total and per exercise "
                 "(in notebook order)", fontsize=11)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(workspace: Path, assignment: str) -> tuple[Path, Path]:
    results = load_results(workspace, assignment)
    if not results:
        raise ValueError(f"no graded submissions of {assignment} in {workspace}: run grade first")
    summary = summarise(results, notebook_order(assignment))
    table = Path(workspace) / f"report-{assignment}.md"
    table.write_text(markdown(summary, assignment))
    figure = Path(workspace) / f"report-{assignment}.png"
    plot(summary, assignment, figure)
    return table, figure
