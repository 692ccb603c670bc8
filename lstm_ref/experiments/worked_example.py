"""One LSTM step worked through by hand, with every intermediate kept (chapter 2).

The step is the NumPy reference cell :func:`lstm_ref.numpy_ref.lstm_cell_forward`;
this module only names what it computes, so a page can print it as tables and an
animation can draw it. Gate order (i, f, g, o), as torch:

    a_t = x_t W_ih^T + h_{t-1} W_hh^T + (b_ih + b_hh)      pre-activations (N, 4H)
    i_t, f_t, o_t = σ(a_i), σ(a_f), σ(a_o)    g_t = tanh(a_g)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                       "kept" + "written"
    h_t = o_t ⊙ tanh(c_t)

Two hand-set cells come with it:

* :func:`worked_params`: input 2, hidden 2, weights that are multiples of 0.5, so
  every number of the worked step can be checked on paper;
* :func:`latch_params`: input 3 (value, write, read), hidden 1, a memory latch whose
  output gate stays shut while it holds a large cell state.

Example:
    >>> step = worked_step()
    >>> step.h.shape, step.c.shape
    ((1, 2), (1, 2))
    >>> bool(np.allclose(step.c, step.kept + step.written))
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from lstm_ref.nn import LSTMCell
from lstm_ref.numpy_ref import lstm_cell_forward
from lstm_ref.numpy_ref.affine import affine_forward

Params = dict[str, np.ndarray]
"""torch-layout weights: W_ih (4H, I), W_hh (4H, H), b_ih and b_hh (4H,)."""

GATES = ("i", "f", "g", "o")
"""torch's order of the gate blocks in W_ih, W_hh, b_ih and b_hh."""


@dataclass(frozen=True)
class LSTMStep:
    """Every quantity of one LSTM step. Arrays are (N, H) unless noted."""

    x: np.ndarray  # (N, I) x_t
    h_prev: np.ndarray  # h_{t-1}
    c_prev: np.ndarray  # c_{t-1}
    input_term: np.ndarray  # (N, 4H) x_t W_ih^T
    recurrent_term: np.ndarray  # (N, 4H) h_{t-1} W_hh^T
    bias: np.ndarray  # (4H,) b_ih + b_hh
    a_i: np.ndarray  # pre-activations, one block each
    a_f: np.ndarray
    a_g: np.ndarray
    a_o: np.ndarray
    i: np.ndarray  # input gate σ(a_i)
    f: np.ndarray  # forget gate σ(a_f)
    g: np.ndarray  # candidate tanh(a_g)
    o: np.ndarray  # output gate σ(a_o)
    kept: np.ndarray  # f_t ⊙ c_{t-1}
    written: np.ndarray  # i_t ⊙ g_t
    c: np.ndarray  # c_t = kept + written
    tanh_c: np.ndarray  # tanh(c_t)
    h: np.ndarray  # h_t = o_t ⊙ tanh(c_t)

    def as_dict(self) -> dict[str, np.ndarray]:
        """The fields by name, e.g. for an animation's frames."""
        return asdict(self)


def worked_params() -> Params:
    """The chapter's readable cell: input size 2, hidden size 2, gate order (i, f, g, o).

    Every weight is a multiple of 0.5. The forget gate's bias is 1, which lifts both
    forget gates of the worked step above 1/2 (without it both would be below); b_hh
    is zero, so the whole bias sits in b_ih.
    """
    blocks = {  # gate: (its 2 rows of W_ih, its 2 rows of W_hh, its bias)
        "i": ([[1.0, 0.5], [0.0, -1.0]], [[0.5, 0.0], [0.0, 0.5]], [0.0, 0.0]),
        "f": ([[0.0, 0.5], [-0.5, 0.0]], [[0.5, 0.0], [0.0, 0.5]], [1.0, 1.0]),
        "g": ([[1.0, 0.0], [0.5, -1.0]], [[0.0, -0.5], [0.5, 0.0]], [0.0, 0.0]),
        "o": ([[0.5, 0.5], [-1.0, 0.0]], [[0.0, 0.5], [-0.5, 0.0]], [0.0, -0.5]),
    }
    W_ih, W_hh, b_ih = (np.array([blocks[g][k] for g in GATES]) for k in range(3))
    return {
        "W_ih": W_ih.reshape(8, 2),  # (4H, I)
        "W_hh": W_hh.reshape(8, 2),  # (4H, H)
        "b_ih": b_ih.reshape(8),  # (4H,)
        "b_hh": np.zeros(8),
    }


def worked_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x_t, h_{t-1}, c_{t-1}) of the worked step, batch 1: shapes (1, 2) each."""
    x = np.array([[1.0, -1.0]])
    h_prev = np.array([[0.5, -0.5]])
    c_prev = np.array([[2.0, -1.0]])
    return x, h_prev, c_prev


def worked_step(
    x: np.ndarray | None = None,
    h_prev: np.ndarray | None = None,
    c_prev: np.ndarray | None = None,
    params: Params | None = None,
) -> LSTMStep:
    """Run one LSTM step with lstm_ref's NumPy cell and keep every intermediate.

    Args:
        x, h_prev, c_prev: (N, I), (N, H), (N, H); default :func:`worked_inputs`.
        params: torch-layout weights; default :func:`worked_params`.
    """
    defaults = worked_inputs()
    x, h_prev, c_prev = (d if v is None else v for v, d in zip((x, h_prev, c_prev), defaults))
    params = worked_params() if params is None else params
    h, c, cache = lstm_cell_forward(x, h_prev, c_prev, **params)
    i, f, g, o = cache["gates"]  # (N, H) each
    W_ih, W_hh, b_ih, b_hh = (params.get(k) for k in ("W_ih", "W_hh", "b_ih", "b_hh"))
    input_term, recurrent_term = affine_forward(x, h_prev, W_ih, W_hh)  # (N, 4H) each
    bias = sum(b for b in (b_ih, b_hh) if b is not None) + np.zeros(W_ih.shape[0])
    a_i, a_f, a_g, a_o = np.split(input_term + recurrent_term + bias, 4, axis=1)
    return LSTMStep(
        x=x, h_prev=h_prev, c_prev=c_prev,
        input_term=input_term, recurrent_term=recurrent_term, bias=bias,
        a_i=a_i, a_f=a_f, a_g=a_g, a_o=a_o, i=i, f=f, g=g, o=o,
        kept=f * c_prev, written=i * g, c=c, tanh_c=cache["tanh_c_next"], h=h,
    )  # fmt: skip


def worked_sequence(
    inputs: np.ndarray,
    params: Params,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> list[LSTMStep]:
    """Loop :func:`worked_step` over time; one LSTMStep per step.

    Shapes:
        inputs (L, N, I); h0, c0 (N, H), zeros when omitted.
    """
    L, N, _ = inputs.shape
    H = params["W_hh"].shape[1]
    h = np.zeros((N, H)) if h0 is None else h0
    c = np.zeros((N, H)) if c0 is None else c0
    steps = []
    for t in range(L):
        step = worked_step(inputs[t], h, c, params)
        steps.append(step)
        h, c = step.h, step.c
    return steps


def lstm_cell_from(params: Params) -> LSTMCell:
    """A float64 :class:`lstm_ref.nn.LSTMCell` holding `params` (torch's names)."""
    four_H, I = params["W_ih"].shape
    cell = LSTMCell(I, four_H // 4, dtype=torch.float64)
    names = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
    state = {names[k]: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    cell.load_state_dict(state)
    return cell


def cell_check(step: LSTMStep, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(h_t, c_t) from :class:`lstm_ref.nn.LSTMCell` on the step's own inputs."""
    cell = lstm_cell_from(params)
    x, h_prev, c_prev = (torch.from_numpy(a) for a in (step.x, step.h_prev, step.c_prev))
    with torch.no_grad():
        h, c = cell(x, (h_prev, c_prev))
    return h.numpy(), c.numpy()


def fold_biases(params: Params) -> Params:
    """The same cell with b_hh moved into b_ih: b_ih + b_hh, and b_hh = 0."""
    folded = dict(params)
    folded["b_ih"] = params["b_ih"] + params["b_hh"]
    folded["b_hh"] = np.zeros_like(params["b_hh"])
    return folded


def latch_params(gain: float = 10.0) -> Params:
    """A one-unit memory latch. Input channels: (value, write, read).

        a_i = gain·(write - 1/2)      open only while writing
        a_f = gain/2                  always nearly 1: keep c_{t-1}
        a_g = value                   what would be written: tanh(value)
        a_o = gain·(read - 1/2)       open only while reading

    W_hh is zero, so each gate is set by the input alone.
    """
    k = gain
    W_ih = np.array([
        [0.0, k, 0.0],    # i
        [0.0, 0.0, 0.0],  # f
        [1.0, 0.0, 0.0],  # g
        [0.0, 0.0, k],    # o
    ])  # fmt: skip
    b_ih = np.array([-k / 2, k / 2, 0.0, -k / 2])
    return {"W_ih": W_ih, "W_hh": np.zeros((4, 1)), "b_ih": b_ih, "b_hh": np.zeros(4)}


def latch_inputs(
    value: float = 3.0, write_steps: int = 3, hold_steps: int = 8, read_steps: int = 1
) -> np.ndarray:
    """Write `value` for `write_steps`, hold, then read. Shape (L, 1, 3)."""
    L = write_steps + hold_steps + read_steps
    inputs = np.zeros((L, 1, 3))
    inputs[:write_steps, 0, :2] = (value, 1.0)  # value and write flag
    inputs[L - read_steps :, 0, 2] = 1.0  # read flag
    return inputs


def run_latch(**kwargs) -> list[LSTMStep]:
    """The latch of :func:`latch_params` on :func:`latch_inputs` (kwargs go there)."""
    return worked_sequence(latch_inputs(**kwargs), latch_params())


def markdown_table(header: list[str], rows: list[list], digits: int = 4) -> str:
    """A Markdown table; floats rounded to `digits` decimals, everything else str()."""

    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            return f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
