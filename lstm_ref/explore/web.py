"""Embedding an explorer's precomputed data in a page, for the JavaScript players.

>>> html = embed("demo", {"x": [0.5, 1.0]}, title="A demo")._repr_html_()
>>> 'data-explorer="demo"' in html and '"x":[0.5,1.0]' in html
True
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass

import numpy as np


def _plain(value, digits: int):
    """JSON-ready: arrays to lists, floats rounded to ``digits`` significant digits."""
    if isinstance(value, dict):
        return {str(k): _plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), digits)
    if isinstance(value, (np.integer, bool, int, str)) or value is None:
        return value.item() if isinstance(value, np.integer) else value
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"explorer data must be finite, got {value}")
    return float(f"{value:.{digits}g}")


@dataclass(frozen=True)
class Embed:
    """A placeholder div that book/_static/explore/<kind>.js turns into a player.

    The div is a region named by ``title`` (core.js shows the title and names the region
    by it), so a screen reader can find each explorer from the page's landmarks.
    """

    kind: str
    data: dict
    title: str = ""

    def _repr_html_(self) -> str:
        payload = json.dumps(self.data, separators=(",", ":"))  # no spaces: bytes on every page
        payload = payload.replace("</", "<\\/")  # no early </script>
        return (
            f'<div class="lstm-explorer" data-explorer="{html.escape(self.kind)}"'
            f' role="region" aria-label="{html.escape(self.title)}">'
            f'<script type="application/json" class="lstm-explorer-data">{payload}</script>'
            "<noscript>This explorer needs JavaScript.</noscript></div>"
        )


def embed(kind: str, data: dict, *, title: str = "", digits: int = 6) -> Embed:
    """Precomputed ``data`` for the player ``kind``, ready to be a cell's HTML output."""
    if not kind.isidentifier():
        raise ValueError(f"explorer kind must be an identifier, got {kind!r}")
    return Embed(kind, _plain(data, digits), title)
