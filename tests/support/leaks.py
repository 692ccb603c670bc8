"""Finding solutions where students could read them: markers, and the exact code of every
solution region and hidden test of solutions/, in any file, inside wheels and zips too."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat

from autograder.course import REPO, list_assignments

MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)\n[ \t]*### END \1", re.S)


def flat(text: str) -> str:
    """``text`` with each line stripped and blank lines dropped: code found however it
    was indented."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def secrets() -> list[str]:
    """The code of every solution region and hidden test in solutions/ (flat)."""
    found = []
    for path in sorted((REPO / "solutions").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            found += [flat(body) for _, body in REGION.findall(cell.source)]
    assert len(found) >= 2 * len(list_assignments())
    return found


def expand(name: str, data: bytes) -> Iterator[tuple[str, str]]:
    """(name, text) of a file, of each member of a wheel or zip (recursively), and of a
    notebook's cells as they read in Jupyter (JSON escapes quotes and newlines)."""
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from expand(f"{name}!{member}", archive.read(member))
        return
    text = data.decode(errors="ignore")
    yield name, text
    if name.endswith(".ipynb"):
        cells = json.loads(text)["cells"]
        yield f"{name} (cells)", "\n".join("".join(c["source"]) for c in cells)


def texts(folder: Path) -> Iterator[tuple[str, str]]:
    """(name, text) of every file under ``folder``'s parent, archives opened."""
    for path in sorted(p for p in folder.parent.rglob("*") if p.is_file()):
        yield from expand(path.relative_to(folder.parent).as_posix(), path.read_bytes())


def leaks(named_texts, regions: list[str]) -> list[str]:
    """What in ``named_texts`` holds a marker or a solution's code. A one-line solution may
    equal a line that lstm_ref ships by design (lstm_ref/grading), so one-line regions are
    looked for outside the package (a wheel) only."""
    found = []
    for name, text in named_texts:
        if MARKERS.search(text):
            found.append(f"{name}: a solution marker")
            continue
        in_package, code = ".whl!" in name, flat(text)
        for region in regions:
            if in_package and "\n" not in region:
                continue
            if region in code:
                found.append(f"{name} holds a solution:\n{region}")
    return found
