"""A real text corpus read at run time: the Python standard library's own source.

Every Python install carries its standard library as source, so the course can train on
real text without downloading or copying any. The rule that picks it is fixed:

    the public top-level modules, stdlib/<name>.py with <name> not starting with "_",
    in sorted order of file name, read whole as UTF-8 and joined; the first `max_chars`
    characters of that stream.

The directory is ``sysconfig.get_paths()["stdlib"]``. The source differs a little between
Python versions (modules are added, changed and removed), so the text is the same on
every install of one version, not across versions; its length is always `max_chars`.
Any character other than a newline and printable ASCII (32–126) becomes "?", which keeps
the vocabulary within 96 symbols; the standard library's source is almost all ASCII.

The text is Python's, distributed under the PSF License Agreement (Python Software
Foundation License Version 2); the course reads it in place and redistributes none.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

REPLACEMENT = "?"
"""What a character outside newline + printable ASCII becomes."""


def stdlib_files(stdlib: str | Path | None = None) -> list[Path]:
    """The public top-level modules of the standard library, sorted by file name.

    Args:
        stdlib: the directory to read; None means ``sysconfig.get_paths()["stdlib"]``.

    Raises:
        FileNotFoundError: if the directory holds no such module (a build without
            source files).
    """
    root = Path(stdlib if stdlib is not None else sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if not p.name.startswith("_"))
    if not files:
        raise FileNotFoundError(f"no public top-level *.py modules in {root}")
    return files


def ascii_only(text: str) -> str:
    """`text` with every character but "\\n" and chr(32) … chr(126) replaced by "?"."""
    return "".join(ch if ch == "\n" or " " <= ch <= "~" else REPLACEMENT for ch in text)


def stdlib_corpus(max_chars: int = 500_000, stdlib: str | Path | None = None) -> str:
    """The first `max_chars` characters of the standard library's public modules.

    Files are read in the order of :func:`stdlib_files` (universal newlines, so "\\n"
    ends every line) and only as many as needed.

    Returns:
        A str of exactly `max_chars` characters, newline and printable ASCII only.

    Raises:
        ValueError: if ``max_chars < 1`` or the modules hold fewer characters.
    """
    if max_chars < 1:
        raise ValueError(f"expected max_chars >= 1, got {max_chars}")
    parts, total = [], 0
    for path in stdlib_files(stdlib):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            return ascii_only("".join(parts)[:max_chars])
    raise ValueError(f"the standard library holds only {total} characters, not {max_chars}")


def split_text(text: str, valid: float = 0.05, test: float = 0.05) -> tuple[str, str, str]:
    """Cut `text` into contiguous training, validation and test parts, in that order.

    The test part is the last ``int(test * len(text))`` characters, validation the
    ``int(valid * len(text))`` before it, training everything before that. Held-out
    text is thus a stretch of source the model never read, not lines scattered among
    the training text.

    Raises:
        ValueError: unless 0 < valid, 0 < test and valid + test < 1.

    Example:
        >>> split_text("abcdefghijklmnopqrst", valid=0.1, test=0.25)
        ('abcdefghijklm', 'no', 'pqrst')
    """
    if not (valid > 0 and test > 0 and valid + test < 1):
        raise ValueError(f"expected 0 < valid, 0 < test, valid + test < 1; got {valid}, {test}")
    n_test, n_valid = int(test * len(text)), int(valid * len(text))
    n_train = len(text) - n_valid - n_test
    return text[:n_train], text[n_train : n_train + n_valid], text[n_train + n_valid :]
