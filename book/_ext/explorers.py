"""Assets of the interactive explorers (issue 6): served from the site, nothing fetched.

A page shows an explorer by emitting the HTML of :func:`lstm_ref.explore.web.embed` from
an executed cell: a ``div.lstm-explorer`` carrying its precomputed data as JSON. The
scripts in book/_static/explore/ turn each such div into a player: ``core.js`` first
(``LSTMExplore.register``, sliders, bars, line charts), then one file per explorer.
book/_static is served by the site-wide extension, book/_ext/course_html.py.
"""

from __future__ import annotations

from pathlib import Path

EXPLORE = Path(__file__).resolve().parents[1] / "_static" / "explore"


def setup(app):
    app.add_css_file("explore/explore.css")
    scripts = sorted(p.name for p in EXPLORE.glob("*.js") if p.name != "core.js")
    for name in ["core.js", *scripts]:  # core defines LSTMExplore before the players use it
        app.add_js_file(f"explore/{name}", defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
