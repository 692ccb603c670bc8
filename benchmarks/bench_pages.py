"""Where a chapter page's seconds go: execute it as the site build does, cell by cell.

    .venv/bin/python benchmarks/bench_pages.py book/01_rnn_limits.md
    .venv/bin/python benchmarks/bench_pages.py book/0*.md --cells 3

Each page runs top to bottom in a fresh kernel with nbclient, which myst-nb also uses,
from the page's folder; the kernel's start is included in the total, as in myst-nb's
"Executed notebook in". Printed per page: the total, the page's own report of its CPU
time (kernel and worker processes) and wall time from its last hidden cell, where it has
one, and its slowest cells. A page is never cached: every run executes it again.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from myst_nb.core.read import read_myst_markdown_notebook
from nbclient import NotebookClient

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _seconds(cell) -> float | None:
    """Wall seconds of one executed cell, from the kernel's own timestamps."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def run(page: Path, cells: int) -> None:
    notebook = read_myst_markdown_notebook(page.read_text(encoding="utf-8"))
    notebook.metadata["kernelspec"] = KERNEL
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=900, record_timing=True,
                            resources={"metadata": {"path": str(page.parent)}})  # fmt: skip
    client.execute()
    print(f"{page}: {time.perf_counter() - start:.1f} s")
    code = [(k, c) for k, c in enumerate(notebook.cells) if c.cell_type == "code"]
    for _, cell in code:
        if "s CPU" in cell.source:  # the page's own "chapter N: … s CPU, … s wall"
            print("  " + "".join(o.get("text", "") for o in cell.get("outputs", [])).strip())
    timed = sorted(((_seconds(c), k, c.source) for k, c in code if _seconds(c) is not None),
                   reverse=True)  # fmt: skip
    for seconds, index, source in timed[:cells]:
        first = source.strip().splitlines()[0][:80] if source.strip() else ""
        print(f"  {seconds:6.1f} s  cell {index:3}  {first}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pages = "MyST pages, e.g. book/01_rnn_limits.md"
    parser.add_argument("pages", nargs="+", type=Path, help=pages)
    parser.add_argument("--cells", type=int, default=5, help="slowest cells to list (default 5)")
    args = parser.parse_args()
    for page in args.pages:
        run(page, args.cells)


if __name__ == "__main__":
    main()
