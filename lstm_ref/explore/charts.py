"""Charts for the explorers' Jupyter widgets: inline SVG, redrawn in about a millisecond.

Matplotlib takes 0.1 to 0.4 s to render a figure, too slow for a slider; these draw the
same kind of chart as ``LSTMExplore.lines`` in book/_static/explore/core.js.

Example:
    >>> svg = svg_lines([("a", [0, 1, 2], [1.0, 0.5, 0.25])], log=True)
    >>> svg.startswith("<svg") and 'data-name="a"' in svg
    True
"""

from __future__ import annotations

import html

import numpy as np

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
"""Series colours, as in book/_static/explore/explore.css."""


def svg_lines(
    series, *, log: bool, title: str = "", xlabel: str = "", floor: float = 1e-16, colors=None
) -> str:
    """A small SVG line chart, fast enough to redraw on every slider move (about 1 ms).

    Args:
        series: ``[(name, xs, ys), ...]``; y is drawn as log10(max(|y|, floor)) if `log`.
        log: logarithmic y axis.  title, xlabel: text.  floor: smallest y on a log axis.
        colors: one colour per series; by default COLORS in order.
    """
    W, H, left, right, top, bottom = 380, 230, 48, 56, 22, 34
    ty = (lambda v: np.log10(np.maximum(np.abs(v), floor))) if log else (lambda v: v)
    xs = np.concatenate([np.asarray(x, float) for _, x, _ in series])
    ys = np.concatenate([ty(np.asarray(y, float)) for _, _, y in series])
    x0, x1 = xs.min(), xs.max()
    y0, y1 = (ys.min(), ys.max()) if log else (min(ys.min(), 0.0), max(ys.max(), 1.0))
    y1 = y1 if y1 > y0 else y0 + 1

    def px(v):
        return left + (W - left - right) * (v - x0) / ((x1 - x0) or 1)

    def py(v):
        return top + (H - top - bottom) * (y1 - v) / (y1 - y0)

    tick = (lambda v: f"1e{v:.0f}") if log else (lambda v: f"{v:.2f}")
    parts = [
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-size="11" '
        f'font-family="sans-serif" fill="currentColor" role="img">',
        f'<rect x="{left}" y="{top}" width="{W - left - right}" '
        f'height="{H - top - bottom}" fill="none" stroke="#bbb"/>',
        f'<text x="{W / 2}" y="14" text-anchor="middle">{html.escape(title)}</text>',
        f'<text x="{px((x0 + x1) / 2)}" y="{H - 6}" text-anchor="middle">'
        f"{html.escape(xlabel)}</text>",
    ]
    for v in (y0, y1):
        parts.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{tick(v)}</text>')
    for v, anchor in ((x0, "start"), (x1, "end")):
        parts.append(
            f'<text x="{px(v):.1f}" y="{H - bottom + 14}" text-anchor="{anchor}">{v:.0f}</text>'
        )
    for k, (name, x, y) in enumerate(series):
        yt = ty(np.asarray(y, float))
        color = colors[k] if colors else COLORS[k % len(COLORS)]
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, yt))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" '
            f'stroke-width="2" data-name="{html.escape(name)}"/>'
        )
        parts.append(
            f'<text x="{W - right + 4}" y="{py(yt[-1]) + 4:.1f}" fill="{color}">'
            f"{html.escape(name)}</text>"
        )
    return "".join(parts) + "</svg>"
