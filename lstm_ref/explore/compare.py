"""Comparison explorer: memory retention against lag, and parameter counts, for RNN, GRU,
LSTM and bidirectional LSTM (chapter 3, "Which to pick").

Retention is chapter 4's gradient curve (:mod:`lstm_ref.experiments.gradients`): for a
freshly initialised float64 layer of H = RETENTION_HIDDEN units, input size 1,

    retention[k] = geomean over seeds of ‖∂loss/∂x_{T-k}‖ / ‖∂loss/∂x_T‖,
    loss = Σ_n ⟨y_T[n], v⟩,   k = 0 … 100,

with the LSTMs' forget-gate bias as torch initialises it or set to 1 or 3. A
bidirectional layer's y_T is [h→_T ; h←_T], and h←_T has read x_T alone, so only the
forward half carries anything from x_{T-k}, k > 0.

Parameter counts are sum(p.numel()) over the layers themselves (built on the "meta"
device, which allocates nothing), for every input size m and hidden size d of the
sliders; :func:`lstm_ref.params.param_count` is their closed form.

Example:
    >>> counts(input_size=32, hidden_size=128)
    {'RNN': 20736, 'GRU': 62208, 'LSTM': 82944, 'BiLSTM': 165888}
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import numpy as np
import torch
from torch import nn

from lstm_ref.experiments.gradients import CURVE_LENGTH, geometric_mean, lag_curves, relative
from lstm_ref.experiments.memory import SEEDS
from lstm_ref.experiments.models import set_forget_bias
from lstm_ref.experiments.variants import numel
from lstm_ref.explore.charts import COLORS, svg_lines
from lstm_ref.explore.web import Embed, embed
from lstm_ref.nn import GRU, LSTM, RNN

MODELS = ("RNN", "GRU", "LSTM", "BiLSTM")
INITS = {"torch's init": None, "b_f = 1": 1.0, "b_f = 3": 3.0}
"""Forget-gate bias of the LSTMs (None: as torch initialises it); RNN and GRU have none."""
RETENTION_HIDDEN = 32
HIDDEN_SIZES = tuple(range(8, 257, 8))
INPUT_SIZES = tuple(range(8, 129, 8))


def build(model: str, input_size: int, hidden_size: int, **kwargs) -> nn.Module:
    """The layer `model` of :data:`MODELS`, from lstm_ref.nn; kwargs go to it (dtype, device)."""
    if model not in MODELS:
        raise ValueError(f"expected a model in {MODELS}, got {model!r}")
    layer = {"RNN": RNN, "GRU": GRU, "LSTM": LSTM, "BiLSTM": LSTM}[model]
    return layer(input_size, hidden_size, bidirectional=model == "BiLSTM", **kwargs)


def counts(input_size: int, hidden_size: int) -> dict[str, int]:
    """sum(p.numel()) of every model at these sizes."""
    return {m: numel(build(m, input_size, hidden_size, device="meta")) for m in MODELS}


@functools.cache
def retention(model: str, init: str = "torch's init") -> np.ndarray:
    """Relative gradient at lags 0 … CURVE_LENGTH-1, geometric mean over SEEDS. Cached.

    Shapes: returns (CURVE_LENGTH,), read-only.
    """
    forget_bias = INITS[init] if "LSTM" in model else None

    def make() -> nn.Module:
        layer = build(model, 1, RETENTION_HIDDEN, dtype=torch.float64)
        if forget_bias is not None:
            set_forget_bias(layer, forget_bias)
        return layer

    curves = relative(lag_curves(make, seeds=SEEDS, seq_len=CURVE_LENGTH))  # (S, L)
    curve = geometric_mean(curves).numpy()
    curve.flags.writeable = False
    return curve


def _table(header: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th style='padding:0 .6em'>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:0 .6em;text-align:right'>{c}</td>" for c in r)
        + "</tr>" for r in rows
    )  # fmt: skip
    return f"<table><tr>{cells}</tr>{body}</table>"


class CompareExplorer(widgets.VBox):
    """Toggle models, pick the LSTMs' initialisation, move lag and sizes; redrawn live.

    Attributes: ``shown`` ({model: ToggleButton}), ``init`` (ToggleButtons),
    ``log_scale`` (Checkbox), ``lag``, ``hidden_size``, ``input_size`` (IntSliders);
    outputs ``chart``, ``retention_table``, ``count_table`` (HTML); last values
    ``curves`` ({model: retention}) and ``counts`` ({model: parameters}), shown models only.
    """

    def __init__(self) -> None:
        self.shown = {m: widgets.ToggleButton(True, description=m) for m in MODELS}
        self.init = widgets.ToggleButtons(options=list(INITS), description="LSTMs")
        self.log_scale = widgets.Checkbox(True, description="log scale")
        self.lag = widgets.IntSlider(10, min=0, max=CURVE_LENGTH - 1, description="lag k")
        self.hidden_size = widgets.IntSlider(128, min=HIDDEN_SIZES[0], max=HIDDEN_SIZES[-1],
                                             step=8, description="hidden d")  # fmt: skip
        self.input_size = widgets.IntSlider(32, min=INPUT_SIZES[0], max=INPUT_SIZES[-1],
                                            step=8, description="input m")  # fmt: skip
        self.chart, self.retention_table, self.count_table = (widgets.HTML() for _ in range(3))
        controls = [*self.shown.values(), self.init, self.log_scale, self.lag,
                    self.hidden_size, self.input_size]  # fmt: skip
        for control in controls:
            control.observe(self.update, names="value")
        super().__init__([
            widgets.HBox(list(self.shown.values())), self.init, self.log_scale, self.chart,
            self.lag, self.retention_table, widgets.HBox([self.hidden_size, self.input_size]),
            self.count_table,
        ])  # fmt: skip
        self.update()

    def update(self, change=None) -> None:
        """Recompute what the controls select (retention is cached) and redraw."""
        models = [m for m in MODELS if self.shown[m].value]
        self.curves = {m: retention(m, self.init.value) for m in models}
        every = counts(self.input_size.value, self.hidden_size.value)
        self.counts = {m: every[m] for m in models}
        lags = np.arange(CURVE_LENGTH)
        series = [(m, lags, c) for m, c in self.curves.items()]
        colors = [COLORS[MODELS.index(m)] for m in models]  # one colour per model
        title = f"retention, H = {RETENTION_HIDDEN}"
        self.chart.value = svg_lines(series, log=self.log_scale.value, title=title,
            xlabel="lag k", floor=1e-25, colors=colors) if series else ""  # fmt: skip
        k = self.lag.value
        self.retention_table.value = _table(
            ["model", f"retention at lag {k}"], [[m, f"{c[k]:.3g}"] for m, c in self.curves.items()]
        )
        ratio = {m: n / every["LSTM"] for m, n in self.counts.items()}
        self.count_table.value = _table(
            ["model", "parameters", "× LSTM"],
            [[m, f"{n:,}", f"{ratio[m]:.2f}"] for m, n in self.counts.items()],
        )


def widget() -> CompareExplorer:
    """The comparison explorer for JupyterLab."""
    return CompareExplorer()


def web_data() -> dict:
    """Retention for every model and init, counts for every size pair: [hidden][input]."""
    grid = [[counts(m, d) for m in INPUT_SIZES] for d in HIDDEN_SIZES]
    return {
        "models": MODELS,
        "inits": list(INITS),
        "hidden": RETENTION_HIDDEN,
        "retention": {i: {m: retention(m, i) for m in MODELS} for i in INITS},
        "hidden_sizes": HIDDEN_SIZES,
        "input_sizes": INPUT_SIZES,
        "params": {
            m: [[row[j][m] for j in range(len(INPUT_SIZES))] for row in grid] for m in MODELS
        },
    }


def web() -> Embed:
    """The comparison explorer for the website (book/_static/explore/compare.js plays it)."""
    return embed("compare", web_data(), title="RNN, GRU, LSTM, BiLSTM: retention and parameters")
