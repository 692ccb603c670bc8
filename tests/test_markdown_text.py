"""Prose that renders as written: no list started by accident in the middle of a sentence,
no control character where a backslash was meant.

In CommonMark (JupyterLab, MyST) a line that begins with "1. " or "- " ends the paragraph
above it and starts a list, even where the author only wrapped a sentence before a
number ("grows well past⏎1. The hidden state" rendered as a numbered list).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STARTS_LIST = re.compile(r"^(1[.)]|[-+*]) \S")  # what can interrupt a paragraph
LIST_ITEM = re.compile(r"^\s*(\d+[.)]|[-+*]) ")
FENCE = re.compile(r"^\s*(```|~~~|\$\$)")


def accidental_lists(text: str) -> list[str]:
    """Lines that start a list inside a paragraph of running prose, after a line that
    ends mid-sentence. Paragraphs that are lists already, tables, headings, directives,
    math and code are left alone."""
    found, fenced, previous, opener = [], False, "", ""
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.strip():
            if not previous.strip():
                opener = line  # the first line of this paragraph
            elif STARTS_LIST.match(line) and not LIST_ITEM.match(opener):
                in_prose = not opener.lstrip().startswith(("#", "|", ":", ">", "<", "$", "{"))
                if in_prose and not previous.rstrip().endswith((":", ".", "?", "!", ")")):
                    found.append(f"{previous.strip()[-40:]!r} ⏎ {line[:40]!r}")
        previous = "" if fenced else line
    return found


def markdown_sources():
    for path in sorted((ROOT / "book").glob("*.md")):
        yield path.relative_to(ROOT).as_posix(), path.read_text()
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*/*.ipynb")):
            cells = json.loads(path.read_text())["cells"]
            for n, cell in enumerate(cells):
                if cell["cell_type"] == "markdown":
                    yield f"{path.relative_to(ROOT).as_posix()} cell {n}", "".join(cell["source"])


def test_the_check_finds_the_case_that_was_reported():
    assert accidental_lists("it grows well past\n1. The hidden state stays") != []
    assert accidental_lists("Steps:\n1. first\n2. second") == []
    assert accidental_lists("A sentence.\n\n1. item") == []


SOURCES = dict(markdown_sources())


@pytest.mark.parametrize("name", list(SOURCES))
def test_no_list_starts_in_the_middle_of_a_sentence(name):
    assert accidental_lists(SOURCES[name]) == [], name


CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # all but newline, tab included


@pytest.mark.parametrize("name", list(SOURCES))
def test_no_control_characters(name):
    """A tab where "\\t" was meant ("\\text{parameters}" written through a string that
    read \\t as a tab) renders as "extparameters" in MathJax: found in chapter 1."""
    found = [m.start() for m in CONTROL.finditer(SOURCES[name])]
    assert found == [], f"{name}: control characters at offsets {found[:5]}"
