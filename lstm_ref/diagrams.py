"""Static diagrams of the cells, drawn with matplotlib, for readers without JavaScript.

The explorers in the chapters are interactive; these figures show the same data flow on
paper, in print and to anyone whose browser runs no scripts. Each element is labelled
with text, so no information is carried by colour alone (the colours are the Okabe–Ito
palette, safe for the common colour-vision deficiencies).

Example:
    >>> fig = lstm_cell_diagram()
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("$c"))
    ['$c_t$', '$c_{t-1}$']
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

OKABE_ITO = {"f": "#E69F00", "i": "#56B4E9", "g": "#009E73", "o": "#CC79A7"}
"""One colour per block (orange, sky blue, bluish green, reddish purple)."""
FONT_SIZE = 12  # points; at the figure's size this stays above 10 px on a phone

_GATES = (  # block, x position, nonlinearity, meaning
    ("f", 2.6, r"$\sigma$", "forget"),
    ("i", 3.9, r"$\sigma$", "input"),
    ("g", 5.2, r"$\tanh$", "candidate"),
    ("o", 6.6, r"$\sigma$", "output"),
)
_C_LINE, _GATE_Y, _BUS_Y = 4.7, 2.1, 0.8  # heights of the cell-state line, gates, input bus


def _arrow(ax, start, end, **style) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.6, **style))


def _op(ax, x, y, symbol) -> None:
    """A round node for an element-wise operation (⊙ or +)."""
    ax.add_patch(Circle((x, y), 0.28, facecolor="white", edgecolor="black", lw=1.4, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=FONT_SIZE + 2, zorder=4)


def _box(ax, x, y, label, color, width=0.9) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.3),
            width,
            0.6,
            boxstyle="round,pad=0.05",
            facecolor=color,
            edgecolor="black",
            lw=1.2,
            zorder=3,
        )
    )
    ax.text(x, y, label, ha="center", va="center", fontsize=FONT_SIZE, zorder=4)


def lstm_cell_diagram(ax: plt.Axes | None = None) -> Figure:
    """Draw one LSTM step: c_{t-1} → (⊙ f_t) → (+ i_t ⊙ g_t) → c_t, and h_t = o_t ⊙ tanh(c_t).

    The four blocks read the same inputs, h_{t-1} and x_t (the bus along the bottom), in
    PyTorch's order i, f, g, o (drawn left to right as f, i, g, o so that each block sits
    under the node it feeds). Equations: Hochreiter & Schmidhuber (1997) with the forget
    gate of Gers et al. (2000), as in :func:`lstm_ref.nn.functional.lstm_step`.

    Args:
        ax: axes to draw on; a new 8 × 4.6 inch figure if None.

    Returns:
        The figure drawn on.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
    ax.set_xlim(-0.4, 10.4), ax.set_ylim(-0.5, 5.6), ax.set_aspect("equal"), ax.axis("off")
    ax.add_patch(
        FancyBboxPatch(
            (1.3, 0.45),
            7.6,
            4.75,
            boxstyle="round,pad=0.1",
            facecolor="#F2F2F2",
            edgecolor="#555555",
            lw=1.2,
            zorder=0,
        )
    )
    text = {"fontsize": FONT_SIZE, "va": "center"}

    # The cell state: kept (⊙ f_t), then added to (+ i_t ⊙ g_t). No squashing on this line.
    ax.text(-0.3, _C_LINE, r"$c_{t-1}$", ha="left", **text)
    _arrow(ax, (0.5, _C_LINE), (2.32, _C_LINE), color="black")
    _op(ax, 2.6, _C_LINE, r"$\odot$")
    _arrow(ax, (2.88, _C_LINE), (4.92, _C_LINE), color="black")
    _op(ax, 5.2, _C_LINE, "+")
    _arrow(ax, (5.48, _C_LINE), (9.6, _C_LINE), color="black")
    ax.text(9.7, _C_LINE, r"$c_t$", ha="left", **text)

    # The input bus: h_{t-1} from the left, x_t from below, read by all four blocks.
    ax.text(-0.3, _BUS_Y, r"$h_{t-1}$", ha="left", **text)
    ax.plot([0.6, 6.6], [_BUS_Y, _BUS_Y], color="black", lw=1.6)
    ax.text(1.75, -0.35, r"$x_t$", ha="center", **text)
    _arrow(ax, (1.75, -0.1), (1.75, _BUS_Y), color="black")
    for block, x, symbol, meaning in _GATES:
        _arrow(ax, (x, _BUS_Y), (x, _GATE_Y - 0.36), color="black")
        _box(ax, x, _GATE_Y, symbol, OKABE_ITO[block])
        label_at = (x, _GATE_Y + 0.6, "center") if block == "o" else (x - 0.1, 2.85, "right")
        ax.text(label_at[0], label_at[1], f"${block}_t$", ha=label_at[2], **text)
        ax.text(x + 0.08, 1.4, meaning, ha="left", fontsize=FONT_SIZE - 2, va="center")

    _arrow(ax, (2.6, _GATE_Y + 0.36), (2.6, _C_LINE - 0.3), color="black")  # f_t ⊙ c_{t-1}
    _op(ax, 5.2, 3.45, r"$\odot$")  # i_t ⊙ g_t
    _arrow(ax, (3.9, _GATE_Y + 0.36), (4.95, 3.35), color="black")
    _arrow(ax, (5.2, _GATE_Y + 0.36), (5.2, 3.17), color="black")
    _arrow(ax, (5.2, 3.73), (5.2, _C_LINE - 0.3), color="black")

    # The output: h_t = o_t ⊙ tanh(c_t), to the layer above and to the next step.
    ax.plot([8.0, 8.0], [_C_LINE, 3.75], color="black", lw=1.6)
    _box(ax, 8.0, 3.4, r"$\tanh$", "white")
    _op(ax, 8.0, _GATE_Y, r"$\odot$")
    _arrow(ax, (8.0, 3.08), (8.0, _GATE_Y + 0.28), color="black")
    _arrow(ax, (7.08, _GATE_Y), (7.72, _GATE_Y), color="black")
    _arrow(ax, (8.28, _GATE_Y), (9.6, _GATE_Y), color="black")
    ax.text(9.7, _GATE_Y, r"$h_t$", ha="left", **text)
    return ax.figure
