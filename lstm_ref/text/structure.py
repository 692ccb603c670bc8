"""Where each character of Python source sits: string, comment, brackets, line, indent.

These are the labels against which a language model's hidden units are compared, in
the manner of Karpathy, Johnson & Fei-Fei (2015), "Visualizing and understanding
recurrent networks". Each label is a value per character, taken *after* that character
is read, so an opening quote is inside its string and a closing quote is not:

    text       x = f("a(b", 2)  # c
    string     00000011110000000000      (the closing quote reads 0)
    brackets   00000111111111000000      inside (), [] or {} outside strings/comments
    comment    00000000000000000111

A small scanner, not a parser: it knows single, double and triple quotes, backslash
escapes, comments and bracket depth, and starts outside any string, so give it text
that starts at the beginning of a statement. String prefixes (r, b, f) need no
handling: they come before the quote. A one-line string left open at a newline is
closed there.
"""

from __future__ import annotations

import torch
from torch import Tensor

LABELS = ("string", "comment", "brackets", "column", "indent")
"""The labels of :func:`python_structure`: three 0/1 flags and two counts."""


def python_structure(text: str) -> dict[str, Tensor]:
    """Per-character labels of Python source, each a (len(text),) float tensor.

    string    1 inside a string literal (opening quote included, closing excluded)
    comment   1 from "#" to the end of its line (the newline excluded)
    brackets  1 while a (, [ or { opened outside strings and comments is still open
    column    characters since the last newline (a newline itself is column 0)
    indent    leading spaces of the current line read so far

    Example:
        >>> labels = python_structure('x = f("a(b", 2)  # c')
        >>> "".join(str(int(v)) for v in labels["string"])
        '00000011110000000000'
        >>> "".join(str(int(v)) for v in labels["brackets"])
        '00000111111111000000'
        >>> "".join(str(int(v)) for v in labels["comment"])
        '00000000000000000111'
    """
    rows = {name: [] for name in LABELS}
    quote, in_comment, depth, column, indent, leading = None, False, 0, 0, 0, True
    t = 0
    while t < len(text):
        ch, width = text[t], 1  # width: characters this token spans
        if in_comment:
            in_comment = ch != "\n"
        elif quote is not None:
            if ch == "\\":
                width = 2  # an escape and the character it escapes
            elif text.startswith(quote, t):
                width, quote = len(quote), None
            elif ch == "\n" and len(quote) == 1:
                quote = None  # an unterminated one-line string ends with its line
        elif text.startswith(('"""', "'''"), t):
            width, quote = 3, text[t : t + 3]
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            in_comment = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        for j in range(t, min(t + width, len(text))):  # every character of the token
            if text[j] == "\n":
                column, indent, leading = 0, 0, True
            else:
                column += 1
                leading = leading and text[j] == " "
                indent += leading
            rows["string"].append(float(quote is not None))
            rows["comment"].append(float(in_comment))
            rows["brackets"].append(float(depth > 0))
            rows["column"].append(float(column))
            rows["indent"].append(float(indent))
        t += width
    return {name: torch.tensor(values) for name, values in rows.items()}
