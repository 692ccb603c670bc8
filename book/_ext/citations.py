"""Author–year labels in the reference list, to match the author–year citations in the text.

sphinxcontrib-bibtex cites "[Elman, 1990]" in the text (``bibtex_reference_style:
author_year``), but its list styles label entries "[Elm90]" (alpha) or "[1]" (plain).
This registers a pybtex style, ``authoryear``, whose labels are written the way the
text cites: "Elman, 1990", "Hochreiter and Schmidhuber, 1997", "Gers et al., 2000",
with a, b, ... after the year where two entries would share a label, and whose list
is sorted by author, year and title.
"""

from __future__ import annotations

import re
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    """The printed last name(s), without BibTeX's protective braces."""
    return re.sub(r"[{}]", "", " ".join(person.prelast_names + person.last_names))


def author_year(entry) -> str:
    """"Elman, 1990" / "A and B, 1997" / "A et al., 2000", as sphinxcontrib-bibtex cites."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if len(names) >= 3:
        who = f"{names[0]} et al."
    elif names:
        who = " and ".join(names)
    else:
        who = entry.fields.get("organization") or entry.fields.get("institution") or entry.key
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(entry) for entry in entries]
        shared = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if shared[label] > 1:  # "Gers et al., 2000a", "... 2000b"
                seen[label] += 1
                label = f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"
            yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
