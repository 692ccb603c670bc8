"""Memory explorer: how a forget gate, or a recurrent weight, decays a stored value.

Two one-unit cells from :mod:`lstm_ref.nn` hold a value s_0 = START for T = STEPS
steps of zero input. Only their biases and W_hh are set; every other weight is 0.

    LSTM (LSTMCell, input gate shut: b_i = -30, and g_t = tanh(0) = 0):
        f = σ(b_f)                           W_hf = 0, so f is the same at every step
        c_t = f·c_{t-1} + i·g = f^t·c_0       ∂c_T/∂c_{T-k} = f^k
    RNN (RNNCell, W_hh = w, W_ih = 0, no bias):
        h_t = tanh(w·h_{t-1})                ∂h_T/∂h_{T-k} = ∏_{s=T-k+1}^{T} w·(1 - h_s²)

Both are measured, not typed in: the cells run in float64 and autograd gives
∂s_T/∂s_t for every t (:func:`decay`). The LSTM keeps value and gradient alike; the
RNN can keep a value (w > 1 drives h_t to a fixed point h* ≠ 0) but then
w·(1 - h*²) < 1, so its gradient still fades.

Example:
    >>> d = lstm_decay(3.0)
    >>> round(d.value[100].item(), 5), round(d.grad[100].item(), 5)  # σ(3)^100
    (0.00776, 0.00776)
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from torch import Tensor

from lstm_ref.explore.charts import svg_lines
from lstm_ref.explore.web import Embed, embed
from lstm_ref.nn import LSTMCell, RNNCell

STEPS = 100
"""T: steps the value is held."""
START = 0.5
"""s_0: the value stored in c_0 (LSTM) and h_0 (RNN)."""
FORGET_BIASES = np.round(np.linspace(-2.0, 6.0, 41), 2)
"""The forget-gate biases b_f of the slider (the website has a frame for each)."""
RNN_WEIGHTS = np.round(np.linspace(0.0, 2.0, 41), 2)
"""The RNN weights w of the slider."""
SHUT = -30.0
"""Input-gate bias: i = σ(-30) ≈ 1e-13."""


@dataclass(frozen=True)
class Decay:
    """What is left of a held value after t steps, and of its gradient k steps back."""

    value: Tensor  # (T+1,) s_t / s_0, t = 0 … T
    grad: Tensor  # (T+1,) ∂s_T/∂s_{T-k}, k = 0 … T


def decay(step, state: tuple[Tensor, ...], index: int, steps: int = STEPS) -> Decay:
    """Run ``state = step(state)`` `steps` times; measure s_t/s_0 and ∂s_T/∂s_{T-k}.

    `index` picks the held part of the state (h: 0, c: 1). Shapes: each state (1, 1).
    """
    state = tuple(s.detach().clone().requires_grad_(i == index) for i, s in enumerate(state))
    held = [state[index]]
    for _ in range(steps):
        state = step(state)
        held.append(state[index])  # s_t: (1, 1)
    grads = torch.autograd.grad(held[-1], held[:-1])  # ∂s_T/∂s_t, t = 0 … T-1
    by_time = torch.cat([torch.cat(grads).flatten(), torch.ones(1, dtype=held[0].dtype)])
    values = torch.cat(held).flatten().detach()
    return Decay(values / values[0], by_time.flip(0))  # grad index k = T - t


@torch.no_grad()
def _zeroed(cell):
    for weight in cell.parameters():
        weight.zero_()
    return cell


def lstm_decay(forget_bias: float, steps: int = STEPS, start: float = START) -> Decay:
    """An LSTMCell, input gate shut, holding c_0 = `start`: c_t/c_0 = f^t = ∂c_T/∂c_{T-t}."""
    cell = _zeroed(LSTMCell(1, 1, dtype=torch.float64))
    with torch.no_grad():
        cell.bias_ih[0] = SHUT  # b_i: gate order i, f, g, o
        cell.bias_ih[1] = forget_bias  # b_f, so f = σ(b_f)
    x = torch.zeros(1, 1, dtype=torch.float64)  # (N, I)
    state = (torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), start, dtype=torch.float64))
    return decay(lambda s: cell(x, s), state, index=1, steps=steps)


def rnn_decay(weight: float, steps: int = STEPS, start: float = START) -> Decay:
    """An RNNCell with W_hh = w, holding h_0 = `start`: h_t = tanh(w·h_{t-1})."""
    cell = _zeroed(RNNCell(1, 1, dtype=torch.float64))
    with torch.no_grad():
        cell.weight_hh[0, 0] = weight
    x = torch.zeros(1, 1, dtype=torch.float64)
    state = (torch.full((1, 1), start, dtype=torch.float64),)
    return decay(lambda s: (cell(x, s[0]),), state, index=0, steps=steps)


def charts(lstm: Decay, rnn: Decay, log: bool) -> str:
    """Held value against t and gradient against k, LSTM beside RNN, as inline SVG."""
    steps = np.arange(len(lstm.value))
    value = [("LSTM", steps, lstm.value.numpy()), ("RNN", steps, rnn.value.numpy())]
    grad = [("LSTM", steps, lstm.grad.numpy()), ("RNN", steps, rnn.grad.numpy())]
    return svg_lines(value, log=log, title="held value s_t / s_0", xlabel="step t") + svg_lines(
        grad, log=log, title="gradient ∂s_T / ∂s_(T−k)", xlabel="lag k"
    )


class MemoryExplorer(widgets.VBox):
    """Sliders for b_f and w; the decay of value and gradient, redrawn on every move.

    Attributes: ``forget_bias``, ``rnn_weight`` (sliders), ``log_scale`` (checkbox),
    ``chart`` (HTML, inline SVG), ``readout`` (HTML), ``lstm`` and ``rnn`` (the last
    :class:`Decay` of each).
    """

    def __init__(self) -> None:
        self.forget_bias = widgets.FloatSlider(2.0, min=-2, max=6, step=0.2,
                                               description="forget bias b_f")  # fmt: skip
        self.rnn_weight = widgets.FloatSlider(1.0, min=0, max=2, step=0.05,
                                              description="RNN weight w")  # fmt: skip
        self.log_scale = widgets.Checkbox(True, description="log scale")
        self.chart, self.readout = widgets.HTML(), widgets.HTML()
        for control in (self.forget_bias, self.rnn_weight, self.log_scale):
            control.style.description_width = "initial"
            control.observe(self.update, names="value")
        controls = [self.forget_bias, self.rnn_weight, self.log_scale]
        super().__init__([widgets.HBox(controls), self.readout, self.chart])
        self.update()

    def update(self, change=None) -> None:
        """Measure both cells at the sliders' values and redraw."""
        self.lstm = lstm_decay(self.forget_bias.value)
        self.rnn = rnn_decay(self.rnn_weight.value)
        self.chart.value = charts(self.lstm, self.rnn, self.log_scale.value)
        f = 1 / (1 + np.exp(-self.forget_bias.value))
        self.readout.value = (
            f"f = σ(b_f) = {f:.3f}. After T = {STEPS} steps: "
            f"LSTM c_T/c_0 = {self.lstm.value[-1]:.3g}, ∂c_T/∂c_0 = {self.lstm.grad[-1]:.3g}; "
            f"RNN h_T/h_0 = {self.rnn.value[-1]:.3g}, ∂h_T/∂h_0 = {self.rnn.grad[-1]:.3g}"
        )


def widget() -> MemoryExplorer:
    """The memory explorer for JupyterLab."""
    return MemoryExplorer()


def web_data() -> dict:
    """Every frame the website's player shows: one per slider position, both cells."""
    lstm = [lstm_decay(b) for b in FORGET_BIASES]
    rnn = [rnn_decay(w) for w in RNN_WEIGHTS]
    return {
        "steps": STEPS,
        "forget_biases": FORGET_BIASES,
        "rnn_weights": RNN_WEIGHTS,
        "lstm": {"value": [d.value.numpy() for d in lstm], "grad": [d.grad.numpy() for d in lstm]},
        "rnn": {"value": [d.value.numpy() for d in rnn], "grad": [d.grad.numpy() for d in rnn]},
    }


DIGITS = 4  # significant digits on the page: the player shows 3, and 16,000 numbers ride along


def web() -> Embed:
    """The memory explorer for the website (book/_static/explore/memory.js plays it)."""
    return embed("memory", web_data(), title="Memory explorer: forget gate against RNN weight",
                 digits=DIGITS)  # fmt: skip
