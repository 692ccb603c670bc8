"""Data-flow animation: chapter 2's worked step, gate by gate.

Five stages, in the order the numbers can be computed by hand
(:func:`lstm_ref.experiments.worked_example.worked_step`, gate order i, f, g, o):

    forget      f_t = σ(a_f)          kept    = f_t ⊙ c_{t-1}
    input       i_t = σ(a_i)
    candidate   g_t = tanh(a_g)       written = i_t ⊙ g_t
    cell        c_t = kept + written
    output      o_t = σ(a_o)          h_t     = o_t ⊙ tanh(c_t)

Every frame is precomputed here: a table of the step's quantities (those not reached yet
left blank, the stage's own highlighted) and an SVG of the cell with the stage's part
highlighted. Numbers are printed as the chapter's tables print them (4 decimals), so the
animation shows exactly the chapter's digits. The website's player
(book/_static/explore/dataflow.js) only plays these frames.

>>> [frame["stage"] for frame in frames()]
['forget', 'input', 'candidate', 'cell', 'output']
>>> frames()[3]["values"]["c"] == [f"{v:.4f}" for v in worked_step().c[0]]
True
"""

from __future__ import annotations

import ipywidgets as widgets

from lstm_ref.experiments.worked_example import LSTMStep, worked_step

from .web import embed

DIGITS = 4  # as the chapter's tables (worked_example.markdown_table's default)
STAGES = (  # (name, title, equation, quantities it computes)
    ("forget", "Forget gate", "fₜ = σ(a_f),  kept = fₜ ⊙ cₜ₋₁",
     ("a_f", "f", "kept")),
    ("input", "Input gate", "iₜ = σ(a_i)", ("a_i", "i")),
    ("candidate", "Candidate", "gₜ = tanh(a_g),  written = iₜ ⊙ gₜ",
     ("a_g", "g", "written")),
    ("cell", "Cell update", "cₜ = kept + written", ("kept", "written", "c")),
    ("output", "Output gate", "oₜ = σ(a_o),  hₜ = oₜ ⊙ tanh(cₜ)",
     ("a_o", "o", "tanh_c", "h")),
)  # fmt: skip
GIVEN = ("x", "h_prev", "c_prev")  # shown from the first frame on
LABELS = {
    "x": "input xₜ", "h_prev": "hₜ₋₁", "c_prev": "old cell state cₜ₋₁",
    "a_f": "pre-activation a_f", "f": "forget gate fₜ", "kept": "kept fₜ ⊙ cₜ₋₁",
    "a_i": "pre-activation a_i", "i": "input gate iₜ", "a_g": "pre-activation a_g",
    "g": "candidate gₜ", "written": "written iₜ ⊙ gₜ", "c": "new cell state cₜ",
    "a_o": "pre-activation a_o", "o": "output gate oₜ", "tanh_c": "tanh(cₜ)",
    "h": "hidden state hₜ",
}  # fmt: skip
ACTIVE, IDLE = "#1f77b4", "#999999"

# The diagram: (stage or "", tag, attributes, text). Cell line on top, gates below.
_BOX = {"width": 52, "height": 28, "rx": 4}  # room for "tanh g" at 12 px on a phone
DIAGRAM = [
    ("", "line", {"x1": 20, "y1": 40, "x2": 119, "y2": 40}, ""),
    ("forget", "circle", {"cx": 130, "cy": 40, "r": 11}, "×"),
    ("forget", "line", {"x1": 130, "y1": 136, "x2": 130, "y2": 51}, ""),
    ("forget", "rect", {"x": 104, "y": 136, **_BOX}, "σ f"),
    ("input", "rect", {"x": 184, "y": 136, **_BOX}, "σ i"),
    ("input", "polyline", {"points": "210,136 210,95 229,95"}, ""),
    ("candidate", "rect", {"x": 244, "y": 136, **_BOX}, "tanh g"),
    ("candidate", "polyline", {"points": "270,136 270,95 251,95"}, ""),
    ("candidate", "circle", {"cx": 240, "cy": 95, "r": 11}, "×"),
    ("candidate", "line", {"x1": 240, "y1": 84, "x2": 240, "y2": 51}, ""),
    ("cell", "line", {"x1": 141, "y1": 40, "x2": 229, "y2": 40}, ""),
    ("cell", "circle", {"cx": 240, "cy": 40, "r": 11}, "+"),
    ("cell", "line", {"x1": 251, "y1": 40, "x2": 460, "y2": 40}, ""),
    ("output", "line", {"x1": 350, "y1": 40, "x2": 350, "y2": 82}, ""),
    ("output", "rect", {"x": 324, "y": 82, "width": 52, "height": 26, "rx": 13}, "tanh"),
    ("output", "line", {"x1": 376, "y1": 95, "x2": 399, "y2": 95}, ""),
    ("output", "circle", {"cx": 410, "cy": 95, "r": 11}, "×"),
    ("output", "rect", {"x": 384, "y": 136, **_BOX}, "σ o"),
    ("output", "line", {"x1": 410, "y1": 136, "x2": 410, "y2": 106}, ""),
    ("output", "line", {"x1": 421, "y1": 95, "x2": 460, "y2": 95}, ""),
    ("", "polyline", {"points": "20,185 410,185"}, ""),
    *[("", "line", {"x1": x, "y1": 185, "x2": x, "y2": 164}, "") for x in (130, 210, 270, 410)],
]
_CAPTIONS = [(20, 32, "start", "cₜ₋₁"), (460, 32, "end", "cₜ"),
             (460, 88, "end", "hₜ"), (20, 198, "start", "hₜ₋₁, xₜ")]  # fmt: skip


def stage_name(active: str = "") -> str:
    """The diagram's accessible name: the cell, and which stage's part is highlighted."""
    titles = {stage: title for stage, title, _, _ in STAGES}
    where = f"; the {titles[active].lower()} stage highlighted" if active in titles else ""
    return f"Diagram of the LSTM cell: cell state along the top, gates below{where}"


def diagram(active: str = "") -> str:
    """The cell as inline SVG, the parts of stage ``active`` drawn thick and coloured."""
    title = stage_name(active)
    parts = ['<svg viewBox="0 0 480 205" role="img" style="width:100%;max-width:480px"'
             f' font-size="12" aria-label="{title}"><title>{title}</title>']  # fmt: skip
    for stage, tag, attrs, text in DIAGRAM:
        on = bool(stage) and stage == active
        color, width = (ACTIVE, 3) if on else (IDLE, 1.5)
        fill = "rgba(31,119,180,0.15)" if on and tag in ("rect", "circle") else "none"
        shape = " ".join(f'{k}="{v}"' for k, v in attrs.items())
        parts.append(f'<{tag} {shape} data-stage="{stage}" stroke="{color}"'
                     f' stroke-width="{width}" fill="{fill}"/>')  # fmt: skip
        if text:
            x = attrs.get("cx", attrs.get("x", 0) + attrs.get("width", 0) / 2)
            y = attrs.get("cy", attrs.get("y", 0) + attrs.get("height", 0) / 2)
            parts.append(f'<text x="{x}" y="{y + 4}" text-anchor="middle"'
                         f' fill="currentColor">{text}</text>')  # fmt: skip
    for x, y, anchor, text in _CAPTIONS:
        parts.append(
            f'<text x="{x}" y="{y}" text-anchor="{anchor}" fill="currentColor">{text}</text>'
        )
    return "".join(parts) + "</svg>"


def frames(step: LSTMStep | None = None) -> list[dict]:
    """One frame per stage: its name, title, equation, the numbers and which are shown."""
    step = worked_step() if step is None else step
    data = step.as_dict()
    values = {name: [f"{v:.{DIGITS}f}" for v in data[name][0]] for name in LABELS}
    out, shown = [], list(GIVEN)
    for number, (stage, title, equation, names) in enumerate(STAGES, start=1):
        shown += [n for n in names if n not in shown]
        out.append({
            "stage": stage, "number": number, "title": title, "equation": equation,
            "values": {n: values[n] for n in shown}, "active": list(names),
        })  # fmt: skip
    return out


def table_html(frame: dict) -> str:
    """Every quantity of the step, one column per unit; blank until its stage is reached."""
    units = len(next(iter(frame["values"].values())))
    head = "".join(f'<th style="text-align:right">unit {k + 1}</th>' for k in range(units))
    rows = [f"<tr><th>quantity</th>{head}</tr>"]
    for name, label in LABELS.items():
        values = frame["values"].get(name, [""] * units)
        on = name in frame["active"]
        style = "background:rgba(31,119,180,0.15);font-weight:bold" if on else ""
        cells = "".join(f'<td style="text-align:right;padding:0 0.6em">{v}</td>' for v in values)
        rows.append(f'<tr data-name="{name}" data-active="{str(on).lower()}" style="{style}">'
                    f"<td>{label}</td>{cells}</tr>")  # fmt: skip
    return '<table class="lstm-x-dataflow">' + "".join(rows) + "</table>"


def stage_text(frame: dict) -> str:
    """The stage indicator, e.g. 'Stage 2 of 5: Input gate'."""
    return f"Stage {frame['number']} of {len(STAGES)}: {frame['title']}"


class DataflowExplorer(widgets.VBox):
    """The ipywidgets animation: ``play`` (widgets.Play) linked to ``stage`` (IntSlider,
    0-based frame), ``back``/``forward`` buttons, and the shown ``indicator``, ``equation``,
    ``diagram`` and ``table`` (HTML). ``frame`` is the frame on show."""

    def __init__(self, interval_ms: int = 1500):
        self.frames = frames()
        last = len(self.frames) - 1
        self.play = widgets.Play(min=0, max=last, interval=interval_ms, description="play")
        self.stage = widgets.IntSlider(min=0, max=last, description="stage", readout=False)
        widgets.link((self.play, "value"), (self.stage, "value"))
        self.back = widgets.Button(description="◀ step back")
        self.forward = widgets.Button(description="step forward ▶")
        self.back.on_click(lambda _: self._move(-1))
        self.forward.on_click(lambda _: self._move(+1))
        self.indicator, self.equation = widgets.HTML(), widgets.HTML()
        self.diagram, self.table = widgets.HTML(), widgets.HTML()
        self.stage.observe(self.update, names="value")
        controls = widgets.HBox([self.play, self.back, self.forward, self.stage])
        parts = [controls, self.indicator, self.equation, self.diagram, self.table]
        super().__init__(parts)
        self.update()

    def _move(self, by: int) -> None:
        self.stage.value = min(max(self.stage.value + by, 0), len(self.frames) - 1)

    def update(self, change=None) -> None:
        """Show the frame the slider points at."""
        self.frame = self.frames[self.stage.value]
        self.indicator.value = f"<b>{stage_text(self.frame)}</b>"
        self.equation.value = f"<code>{self.frame['equation']}</code>"
        self.diagram.value = diagram(self.frame["stage"])
        self.table.value = table_html(self.frame)


def widget() -> DataflowExplorer:
    """The data-flow animation for Jupyter (ipywidgets 8)."""
    return DataflowExplorer()


def web():
    """The animation for the website: every frame's text, diagram and table, precomputed."""
    shown = [
        {**frame, "indicator": stage_text(frame), "diagram": diagram(frame["stage"]),
         "table": table_html(frame)}
        for frame in frames()
    ]  # fmt: skip
    return embed("dataflow", {"frames": shown}, title="One LSTM step, gate by gate")
