"""The class at a glance: score distribution per exercise and the most common mistakes.

Reads what ``grade`` wrote in the workspace (results/<assignment>/*.json) and writes
report-<assignment>.md (tables) and report-<assignment>.png (one histogram per exercise).
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

from .grading import load_results

MISTAKE = re.compile(r"matches a known mistake: (.+?)\.(?:\n|$)")  # lstm_ref.grading.judge


def summarise(results: list[dict]) -> dict:
    """Per-exercise scores, mistake counts and statuses, as plain data."""
    exercises = sorted({grade_id for r in results for grade_id in r["scores"]})
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
    return {"exercises": exercises, "scores": scores, "maxima": maxima,
            "mistakes": mistakes, "statuses": statuses, "students": len(results)}  # fmt: skip


def markdown(summary: dict, assignment: str) -> str:
    n = summary["students"]
    lines = [f"# {assignment}: {n} submissions", "",
             "| exercise | max | mean | full marks | zero |", "|---|---|---|---|---|"]  # fmt: skip
    for e in summary["exercises"]:
        s, top = summary["scores"][e], summary["maxima"][e]
        full = sum(v == top for v in s)
        zero = sum(v == 0 for v in s)
        lines.append(f"| {e} | {top:g} | {sum(s) / n:.2f} | {full} | {zero} |")
    lines += ["", "| most common diagnosed mistake | exercise | students |", "|---|---|---|"]
    for (grade_id, name), count in summary["mistakes"].most_common(10):
        lines.append(f"| {name} | {grade_id} | {count} |")
    lines += ["", "| status | submissions |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in summary["statuses"].most_common()]
    return "\n".join(lines) + "\n"


def plot(summary: dict, assignment: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exercises = summary["exercises"]
    fig, axes = plt.subplots(1, len(exercises), figsize=(3.2 * len(exercises), 2.8),
                             squeeze=False)  # fmt: skip
    for ax, e in zip(axes[0], exercises):
        counts = collections.Counter(summary["scores"][e])
        values = sorted(counts)
        ax.bar([f"{v:g}" for v in values], [counts[v] for v in values], color="#4477aa")
        ax.set_title(e, fontsize=9)
        ax.set_xlabel(f"score (of {summary['maxima'][e]:g})")
    axes[0][0].set_ylabel("submissions")
    fig.suptitle(f"{assignment}: scores per exercise", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(workspace: Path, assignment: str) -> tuple[Path, Path]:
    results = load_results(workspace, assignment)
    if not results:
        raise ValueError(f"no graded submissions of {assignment} in {workspace}: run grade first")
    summary = summarise(results)
    table = Path(workspace) / f"report-{assignment}.md"
    table.write_text(markdown(summary, assignment))
    figure = Path(workspace) / f"report-{assignment}.png"
    plot(summary, assignment, figure)
    return table, figure
