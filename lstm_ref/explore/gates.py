"""Gate explorer: move x_t, h_{t-1}, c_{t-1} and each gate's weight and bias, watch the gates.

A scalar cell (input size 1, hidden size 1) in torch's layout, computed by lstm_ref's
NumPy cells. Each gate k has an input weight w_k (slider), a recurrent weight u_k (fixed,
:data:`RECURRENT`) and a bias b_k (slider); b_hh = 0. LSTM, gate order (i, f, g, o):

    a_k = w_k x_t + u_k h_{t-1} + b_k                 k in (i, f, g, o)
    i, f, o = σ(a_i), σ(a_f), σ(a_o)    g = tanh(a_g)
    c_t = f c_{t-1} + i g        h_t = o tanh(c_t)

GRU, gate order (r, z, n), torch's convention (r applied after u_n):

    r = σ(w_r x_t + b_r + u_r h_{t-1})    z = σ(w_z x_t + b_z + u_z h_{t-1})
    n = tanh(w_n x_t + b_n + r (u_n h_{t-1}))      h_t = (1 - z) n + z h_{t-1}

The website's player (book/_static/explore/gates.js) evaluates the same scalar cell in
JavaScript from :func:`web`'s data; tests/test_explore_gates.py holds it to :func:`compute`.

>>> values = compute("LSTM", {"x": 0.0, "h_prev": 0.0, "b_f": 0.0})
>>> round(values["f"], 6), round(values["c"], 6) == round(values["f"] * 1.0, 6)
(0.5, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import ipywidgets as widgets
import numpy as np

from lstm_ref.numpy_ref import gru_cell_forward, lstm_cell_forward

from .web import embed


@dataclass(frozen=True)
class Slider:
    name: str
    label: str
    min: float
    max: float
    step: float
    value: float


GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n")}  # torch's block order
OUTPUTS = {"LSTM": ("i", "f", "g", "o", "c", "h"), "GRU": ("r", "z", "n", "h")}
"""What the bars show, gates in torch's block order (the equations' i, f, g, o), then states."""
LABELS = {"i": "i input gate", "f": "f forget gate", "g": "g candidate", "o": "o output gate",
          "c": "cₜ cell state", "h": "hₜ hidden state", "r": "r reset gate",
          "z": "z update gate", "n": "n candidate"}  # fmt: skip
STATES = ("c", "h")
"""The new states: their bars share one scale, wide enough for c (|c_t| < 2 + 1 = 3)."""
RANGES = {"c": (-3.0, 3.0), "h": (-3.0, 3.0)}  # bar range of each output; (-1, 1) if not listed
RECURRENT = {"i": 0.5, "f": 0.5, "g": -0.5, "o": 0.5, "r": 0.5, "z": 0.5, "n": -1.0}  # u_k
DEFAULTS = {"i": (1.0, 0.0), "f": (0.5, 1.0), "g": (1.0, 0.0), "o": (1.0, -0.5),
            "r": (1.0, 0.0), "z": (-1.0, 0.5), "n": (1.0, 0.0)}  # (w_k, b_k)  # fmt: skip
STATE = (
    Slider("x", "input xₜ", -2.0, 2.0, 0.05, 1.0),
    Slider("h_prev", "previous hₜ₋₁", -1.0, 1.0, 0.05, 0.5),
    Slider("c_prev", "previous cₜ₋₁", -2.0, 2.0, 0.05, 1.0),
)


def sliders(mode: str) -> list[Slider]:
    """The sliders of ``mode`` ("LSTM" or "GRU"): the state, then w_k and b_k per gate."""
    state = [s for s in STATE if mode == "LSTM" or s.name != "c_prev"]
    weights = [
        Slider(f"w_{k}", f"weight w_{k}", -3.0, 3.0, 0.05, DEFAULTS[k][0]) for k in GATES[mode]
    ]
    biases = [Slider(f"b_{k}", f"bias b_{k}", -3.0, 3.0, 0.05, DEFAULTS[k][1]) for k in GATES[mode]]
    return state + weights + biases


def params(mode: str, values: dict[str, float]) -> dict[str, np.ndarray]:
    """torch-layout weights of the scalar cell: W_ih, W_hh (G, 1), b_ih, b_hh (G,)."""
    gates = GATES[mode]
    return {
        "W_ih": np.array([[values[f"w_{k}"]] for k in gates]),  # (G, I=1)
        "W_hh": np.array([[RECURRENT[k]] for k in gates]),  # (G, H=1)
        "b_ih": np.array([values[f"b_{k}"] for k in gates]),  # (G,)
        "b_hh": np.zeros(len(gates)),
    }


def compute(mode: str, values: dict[str, float] | None = None) -> dict[str, float]:
    """Every output of ``mode`` (:data:`OUTPUTS`) at the slider ``values`` (defaults fill in)."""
    if mode not in GATES:
        raise ValueError(f"expected mode 'LSTM' or 'GRU', got {mode!r}")
    values = {s.name: s.value for s in sliders(mode)} | dict(values or {})
    x, h = np.array([[values["x"]]]), np.array([[values["h_prev"]]])  # (N=1, 1) each
    if mode == "LSTM":
        c = np.array([[values["c_prev"]]])
        h_next, c_next, cache = lstm_cell_forward(x, h, c, **params(mode, values))
        out = dict(zip("ifgo", cache["gates"]), c=c_next, h=h_next)
    else:
        h_next, cache = gru_cell_forward(x, h, **params(mode, values))
        out = dict(zip("rzn", cache["gates"]), h=h_next)
    return {k: float(out[k].item()) for k in OUTPUTS[mode]}


def fmt(value: float) -> str:
    """As the website shows numbers (core.js ``fmt``): 3 decimals, a true minus sign."""
    return f"{value:.3f}".replace("-", "\u2212")


def bar_html(name: str, value: float) -> str:
    """One output as a labelled bar on its range, zero line at the origin of the fill."""
    lo, hi = RANGES.get(name, (-1.0, 1.0))
    at = (min(max(value, lo), hi) - lo) / (hi - lo)  # where the value sits on [0, 1]
    zero = (0.0 - lo) / (hi - lo)
    left, width = 100 * min(at, zero), 100 * abs(at - zero)
    color = "#d62728" if value < 0 else "#1f77b4"
    return (
        f'<div style="display:flex;align-items:center;gap:0.6em" data-name="{name}">'
        f'<span style="width:9em">{LABELS[name]}</span>'
        '<span style="position:relative;flex:1;height:1em;background:rgba(128,128,128,0.2)">'
        f'<span style="position:absolute;top:0;bottom:0;left:{left:.2f}%;width:{width:.2f}%;'
        f'background:{color}"></span></span>'
        f'<code style="width:4.5em;text-align:right">{fmt(value)}</code></div>'
    )


class GateExplorer(widgets.VBox):
    """The ipywidgets explorer: ``sliders`` (name -> FloatSlider), ``mode`` (LSTM/GRU),
    ``bars`` (output -> HTML), ``values`` (the last :func:`compute`)."""

    def __init__(self):
        self.mode = widgets.ToggleButtons(options=list(GATES), value="LSTM", description="cell")
        every = {s.name: s for mode in GATES for s in sliders(mode)}  # x, h_prev shared
        style = {"description_width": "8em"}
        self.sliders = {
            name: widgets.FloatSlider(value=s.value, min=s.min, max=s.max, step=s.step,
                                      description=s.label, style=style)
            for name, s in every.items()
        }  # fmt: skip
        self.bars = {name: widgets.HTML() for name in LABELS}
        self.values: dict[str, float] = {}
        for control in (self.mode, *self.sliders.values()):
            control.observe(self.update, names="value")
        super().__init__()
        self.update()

    def update(self, change=None) -> None:
        """Show the current mode's sliders and bars, in its order, recomputed from the sliders."""
        mode = self.mode.value
        shown = [self.sliders[s.name] for s in sliders(mode)]
        self.values = compute(mode, {s.name: self.sliders[s.name].value for s in sliders(mode)})
        for name, value in self.values.items():
            self.bars[name].value = bar_html(name, value)
        self.children = [self.mode, *shown, *(self.bars[name] for name in OUTPUTS[mode])]


def widget() -> GateExplorer:
    """The gate explorer for Jupyter (ipywidgets 8)."""
    return GateExplorer()


def web():
    """The gate explorer for the website: each mode's sliders, outputs and fixed weights."""
    modes = {
        mode: {
            "sliders": [asdict(s) for s in sliders(mode)],
            "gates": list(GATES[mode]),
            "recurrent": {k: RECURRENT[k] for k in GATES[mode]},
            "outputs": [
                {
                    "name": k,
                    "label": LABELS[k],
                    "range": list(RANGES.get(k, (-1.0, 1.0))),
                    "group": "states" if k in STATES else "gates",
                }
                for k in OUTPUTS[mode]
            ],
        }
        for mode in GATES
    }
    return embed("gates", {"modes": modes}, title="Gate explorer: LSTM and GRU cell")
