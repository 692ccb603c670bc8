"""Checks for chapter 4's exercises: BPTT through an LSTM by hand, and the forget bias.

Student functions:

    lstm_bptt(d_out, dh_n, dc_n, caches) -> dx, dh0, dc0, grads      NumPy, from scratch
    init_forget_bias(lstm, value) -> None                  torch.nn.LSTM or lstm_ref.nn.LSTM
    first_step_gradient(forget_bias, length, seeds) -> float    ‖∂loss/∂x_0‖, seed mean

``caches`` is the list :func:`lstm_ref.numpy_ref.lstm_forward` returns. The oracles are
:func:`lstm_ref.numpy_ref.lstm_backward` and
:func:`lstm_ref.gradflow.seeded_input_gradient_norms`. Each check wraps the student's
function in a small adapter (``.student`` holds the function) that turns its results
into the arrays the comparison reads.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

import lstm_ref.nn as ref_nn
from lstm_ref.gradflow import seeded_input_gradient_norms
from lstm_ref.numpy_ref import lstm_backward, lstm_forward

from .cases import DTYPES, build_cases, cell_arrays, devices
from .core import Case, Check, GradingError, Mistake
from .exercise import run_check

# ---------------------------------------------------------------- 1. BPTT by hand

GRAD_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")
BPTT_LENGTH = {False: 5, True: 7}  # L of the visible and of the hidden cases


class _Flattened:
    """Call ``lstm_bptt`` and return (dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)."""

    def __init__(self, student):
        self.student = student

    def __call__(self, d_out, dh_n, dc_n, caches):
        result = self.student(d_out, dh_n, dc_n, caches)
        if not isinstance(result, tuple | list) or len(result) != 4:
            raise GradingError(
                f"lstm_bptt: expected it to return (dx, dh0, dc0, grads), "
                f"got {type(result).__name__}"
            )
        dx, dh0, dc0, grads = result
        missing = [n for n in GRAD_NAMES if not isinstance(grads, dict) or n not in grads]
        if missing:
            raise GradingError(
                f"lstm_bptt: expected grads to be a dict with keys {list(GRAD_NAMES)}, "
                f"missing {missing}"
            )
        return (dx, dh0, dc0, *(grads[name] for name in GRAD_NAMES))


def bptt_variant(d_out, dh_n, dc_n, caches, *, forget=True, tanh_path=True, d_out_at="h_t",
                 use_dh_n=True, use_dc_n=True, backward=True, accumulate=True,
                 gate_order=(0, 1, 2, 3), derivatives=True, transposed=False):  # fmt: skip
    """BPTT through an LSTM written out, with one knob per catalogued mistake.

    With the defaults it equals lstm_backward. ``d_out_at``: "h_t" (right), "h_prev"
    (added after step t's backward) or None (ignored).
    """
    dh = dh_n if use_dh_n else np.zeros_like(dh_n)  # ∂L/∂h_t, from the future
    dc = dc_n if use_dc_n else np.zeros_like(dc_n)  # ∂L/∂c_t, from the future
    dx, grads = [None] * len(caches), {}
    s = (lambda v: v * (1 - v)) if derivatives else np.ones_like  # σ'(a) = σ(1 - σ)
    for t in reversed(range(len(caches))) if backward else range(len(caches)):
        x, h, W_ih, W_hh, _, _ = caches[t]["affine_inputs"]
        i, f, g, o = caches[t]["gates"]
        tanh_c, c = caches[t]["tanh_c_next"], caches[t]["c"]
        if d_out_at == "h_t":
            dh = dh + d_out[t]  # h_t feeds the loss directly, too
        dc_total = dc + (dh * o * (1 - tanh_c**2) if tanh_path else 0)  # ∂L/∂c_t
        da = [dc_total * g * s(i), dc_total * c * s(f),
              dc_total * i * (1 - g**2 if derivatives else 1), dh * tanh_c * s(o)]  # fmt: skip
        d_gates = np.concatenate([da[k] for k in gate_order], axis=1)  # (N, 4H)
        dx[t], dh = d_gates @ W_ih, d_gates @ W_hh  # (N, I), (N, H)
        dc = dc_total * f if forget else dc_total  # ∂L/∂c_{t-1} = f ⊙ ∂L/∂c_t
        if d_out_at == "h_prev":
            dh = dh + d_out[t]
        step = {"W_ih": d_gates.T @ x, "W_hh": d_gates.T @ h, "b_ih": d_gates.sum(axis=0),
                "b_hh": d_gates.sum(axis=0)}  # fmt: skip
        if transposed:
            step.update(W_ih=x.T @ d_gates, W_hh=h.T @ d_gates)
        grads = {k: grads[k] + v for k, v in step.items()} if grads and accumulate else step
    return np.stack(dx), dh, dc, grads


def _bptt_mistake(name: str, hint: str, **knobs) -> Mistake:
    return Mistake(name, hint, _Flattened(lambda *args: bptt_variant(*args, **knobs)))


LSTM_BPTT = Check(
    name="lstm_bptt",
    reference=_Flattened(lstm_backward),
    output_names=["dx", "dh0", "dc0", 'grads["W_ih"]', 'grads["W_hh"]', 'grads["b_ih"]',
                  'grads["b_hh"]'],
    mistakes=[
        _bptt_mistake("the weight gradients are overwritten at each step instead of summed "
                      "over time", "the same weights act at every step: add each step's "
                      "gradients into running totals.", accumulate=False),
        _bptt_mistake("the cell-state gradient is passed back without the forget gate "
                      "(dc_prev = dc instead of f ⊙ dc)", "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, "
                      "so ∂L/∂c_{t-1} = f_t ⊙ ∂L/∂c_t.", forget=False),
        _bptt_mistake("the path from h_t through tanh(c_t) is missing from dc",
                      "h_t = o_t ⊙ tanh(c_t) depends on c_t too: "
                      "dc_t = dc + dh ⊙ o_t ⊙ (1 - tanh²(c_t)).", tanh_path=False),
        _bptt_mistake("the per-step output gradients d_out are ignored (only dh_n is used)",
                      "every h_t feeds the loss: at step t, dh = d_out[t] + the gradient "
                      "from step t+1.", d_out_at=None),
        _bptt_mistake("d_out[t] is added after step t's backward (to h_{t-1}) instead of "
                      "before it (to h_t)", "add d_out[t] to dh first, then backpropagate "
                      "through step t.", d_out_at="h_prev"),
        _bptt_mistake("the loop runs forward in time", "BPTT starts from the last step: "
                      "for t in reversed(range(L)).", backward=False),
        _bptt_mistake("dh_n, the gradient on the final hidden state, is ignored",
                      "start the loop from dh = dh_n, not from zeros.", use_dh_n=False),
        _bptt_mistake("dc_n, the gradient on the final cell state, is ignored",
                      "start the loop from dc = dc_n, not from zeros.", use_dc_n=False),
        _bptt_mistake("the gate gradients are stacked in the wrong order", "torch's gate "
                      "order is i, f, g, o: stack [da_i, da_f, da_g, da_o].",
                      gate_order=(0, 1, 3, 2)),
        _bptt_mistake("the derivatives of the gates' nonlinearities are left out",
                      "through a gate, multiply by σ'(a) = s(1 - s) for i, f, o and "
                      "tanh'(a) = 1 - g² for g.", derivatives=False),
        _bptt_mistake("the weight gradients are transposed (x.T @ da instead of da.T @ x)",
                      "dW_ih = da.T @ x_t has W_ih's shape (4H, I); dW_hh = da.T @ h_{t-1}.",
                      transposed=True),
    ],
)  # fmt: skip


def _bptt_arrays(length: int):
    """``make_args`` for BPTT: a forward pass's inputs, then the loss's gradients."""
    forward = cell_arrays(gates=4, with_cell=True, length=length)

    def make(rng, N, I, H, scale):
        d_out, dh_n, dc_n = rng.normal(size=(length, N, H)), *rng.normal(size=(2, N, H))
        return (*forward(rng, N, I, H, scale), d_out, dh_n, dc_n)

    return make


LENGTH_ONE = [("length 1", 2, 3, 4, 1.0)]  # (label, N, I, H, weight scale)


def bptt_cases(hidden: bool = False) -> list[Case]:
    """Cases (d_out, dh_n, dc_n, caches), caches from lstm_ref.numpy_ref.lstm_forward;
    the sequences have BPTT_LENGTH steps, plus one case of a single step."""
    cases = []
    for L, shapes in [(BPTT_LENGTH[hidden], None), (1, LENGTH_ONE)]:
        cases += _bptt_cases(L, hidden, shapes)
    return cases


def _bptt_cases(L: int, hidden: bool, shapes) -> list[Case]:
    cases = []
    for case in build_cases(_bptt_arrays(L), "numpy", hidden, shapes=shapes):
        x, h0, c0, W_ih, W_hh, b_ih, b_hh, d_out, dh_n, dc_n = case.args
        params = {"W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
        *_, caches = lstm_forward(x, h0, c0, params)
        args = (d_out, dh_n, dc_n, caches)
        cases.append(Case(f"L={L}, {case.label}", args, case.dtype, case.device))
    return cases


def check_lstm_bptt(lstm_bptt, hidden: bool = False) -> None:
    """Check ``lstm_bptt(d_out, dh_n, dc_n, caches) -> (dx, dh0, dc0, grads)``."""
    if not callable(lstm_bptt):
        raise GradingError(f"lstm_bptt: expected a function, got {type(lstm_bptt).__name__}")
    run_check(LSTM_BPTT, _Flattened(lstm_bptt), bptt_cases(hidden))


# ---------------------------------------------------------------- 2. the forget bias


def init_forget_bias_reference(lstm, value: float) -> None:
    """b_ih[H:2H] = value and b_hh[H:2H] = 0 in every layer and direction (gates i, f, g, o)."""
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = value  # b_if = value
            elif name.startswith("bias_hh"):
                parameter[H : 2 * H] = 0.0  # b_hf = 0, so b_if + b_hf = value


def forget_bias_variant(lstm, value, *, block=1, b_hh=0.0, first_layer_only=False,
                        forward_only=False, zero_others=False, size=None) -> None:  # fmt: skip
    """The reference with knobs for the catalogue; ``b_hh=None`` leaves b_hh alone."""
    H = size or lstm.hidden_size
    rows = slice(block * H, (block + 1) * H)
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            layer = int(name.split("_l")[1].split("_")[0])  # bias_ih_l1_reverse -> 1
            if (first_layer_only and layer > 0) or (forward_only and "reverse" in name):
                continue
            fill = value if name.startswith("bias_ih") else b_hh
            if name.startswith("bias") and fill is not None:
                if zero_others:
                    parameter.zero_()
                parameter[rows] = fill


class _BiasesAfter:
    """Call ``init_forget_bias(lstm, value)``, then read the module's parameters back.

    Returns b_ih and b_hh stacked over layers and directions (LD, 4H), and every weight
    matrix flattened into one vector (they must not change).
    """

    def __init__(self, student):
        self.student = student

    def __call__(self, lstm, value):
        names = [name for name, _ in lstm.named_parameters()]
        try:
            self.student(lstm, value)
        except RuntimeError as error:
            if "leaf Variable" not in str(error):
                raise
            raise GradingError(
                "init_forget_bias: an in-place change to a parameter that requires grad.\n"
                "  Hint: do it inside `with torch.no_grad():`."
            ) from None
        params = dict(lstm.named_parameters())
        if list(params) != names:
            raise GradingError(
                f"init_forget_bias: the module's parameters were {names}, now {list(params)}"
            )

        def stacked(prefix):
            return torch.stack([p.detach() for n, p in params.items() if n.startswith(prefix)])

        weights = [p.detach().flatten() for n, p in params.items() if n.startswith("weight")]
        return stacked("bias_ih"), stacked("bias_hh"), torch.cat(weights)


def _forget_mistake(name: str, hint: str, init) -> Mistake:
    return Mistake(name, hint, _BiasesAfter(init))


INIT_FORGET_BIAS = Check(
    name="init_forget_bias",
    reference=_BiasesAfter(init_forget_bias_reference),
    output_names=["bias_ih (rows: l0, l0_reverse, l1, ...)",
                  "bias_hh (rows: l0, l0_reverse, l1, ...)", "the weights, flattened"],
    mistakes=[
        _forget_mistake("the input gate's block (rows 0:H) is set instead of the forget "
                        "gate's (rows H:2H)", "torch stacks the gates i, f, g, o: the forget "
                        "gate is rows H:2H.", lambda m, v: forget_bias_variant(m, v, block=0)),
        _forget_mistake("bias_hh's forget block is set to value too (effective forget bias "
                        "2·value)", "the LSTM adds b_ih + b_hh: set b_ih[H:2H] = value and "
                        "b_hh[H:2H] = 0.", lambda m, v: forget_bias_variant(m, v, b_hh=v)),
        _forget_mistake("bias_hh's forget block is left as it was (effective forget bias "
                        "value + b_hh)", "also set b_hh[H:2H] = 0, so that b_ih + b_hh = value.",
                        lambda m, v: forget_bias_variant(m, v, b_hh=None)),
        _forget_mistake("only layer 0 is changed", "loop over every layer: bias_ih_l0, "
                        "bias_ih_l1, ... (there are lstm.num_layers).",
                        lambda m, v: forget_bias_variant(m, v, first_layer_only=True)),
        _forget_mistake("only the forward direction is changed", "a bidirectional LSTM also "
                        "has bias_ih_l0_reverse, ...: set those too (named_parameters() "
                        "lists them all).", lambda m, v: forget_bias_variant(m, v,
                                                                            forward_only=True)),
        _forget_mistake("the other gates' biases are zeroed", "change only rows H:2H; leave "
                        "the other three gates' biases as they were.",
                        lambda m, v: forget_bias_variant(m, v, zero_others=True)),
        _forget_mistake("the block size is taken from input_size instead of hidden_size",
                        "each gate has H = lstm.hidden_size rows; the biases have 4·H.",
                        lambda m, v: forget_bias_variant(m, v, size=m.input_size)),
        _forget_mistake("the module passed in is left unchanged (a copy was modified)",
                        "change lstm's own parameters in place, e.g. "
                        "lstm.bias_ih_l0[H:2*H] = value inside torch.no_grad().",
                        lambda m, v: forget_bias_variant(copy.deepcopy(m), v)),
    ],
    forbid=False,  # the exercise is about the module itself
)  # fmt: skip

# (label, layer class, input_size, hidden_size, extra arguments, value); input != hidden
FORGET_CONFIGS = {
    False: [("1 layer", torch.nn.LSTM, 3, 4, {}, 1.0),
            ("2 layers, bidirectional", torch.nn.LSTM, 2, 5,
             {"num_layers": 2, "bidirectional": True}, 3.0),
            ("3 layers", ref_nn.LSTM, 3, 4, {"num_layers": 3}, 1.0)],
    True: [("bidirectional", torch.nn.LSTM, 4, 3, {"bidirectional": True}, 2.0),
           ("2 layers, bidirectional", ref_nn.LSTM, 2, 6,
            {"num_layers": 2, "bidirectional": True}, -1.0),
           ("hidden size 1, 2 layers", torch.nn.LSTM, 2, 1, {"num_layers": 2}, 5.0),
           ("with proj_size", torch.nn.LSTM, 3, 6, {"proj_size": 2}, 1.0)],
}  # fmt: skip


def forget_bias_cases(hidden: bool = False) -> list[Case]:
    """Freshly initialised LSTMs (torch's and lstm_ref's), every dtype and device."""
    cases = []
    for k, (label, layer, I, H, extra, value) in enumerate(FORGET_CONFIGS[hidden]):
        arguments = "".join(f", {key}={val}" for key, val in extra.items())
        for dtype in DTYPES:
            for device in devices("torch"):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(k + (1000 if hidden else 0))
                    lstm = layer(I, H, **extra, dtype=getattr(torch, np.dtype(dtype).name))
                text = (f"{label}: {layer.__module__.split('.')[0]}.nn.LSTM({I}, {H}{arguments}),"
                        f" value={value}, {np.dtype(dtype).name}, {device}")  # fmt: skip
                cases.append(Case(text, (lstm.to(device), value), np.dtype(dtype), device))
    return cases


def check_init_forget_bias(init_forget_bias, hidden: bool = False) -> None:
    """Check ``init_forget_bias(lstm, value)`` on several LSTMs, torch's and lstm_ref's."""
    if not callable(init_forget_bias):
        raise GradingError(
            f"init_forget_bias: expected a function, got {type(init_forget_bias).__name__}"
        )
    run_check(INIT_FORGET_BIAS, _BiasesAfter(init_forget_bias), forget_bias_cases(hidden))


# ---------------------------------------------------------------- 3. its measured effect

PROBE_HIDDEN_SIZE, PROBE_BATCH = 32, 8  # the probed LSTM(1, 32) and x of shape (L, 8, 1)


def first_step_gradient_reference(forget_bias: float, length: int, seeds) -> float:
    """Mean over seeds of ‖∂loss/∂x_0‖ for a fresh LSTM(1, 32) with this forget bias."""
    return first_step_variant(forget_bias, length, seeds)


def first_step_variant(forget_bias, length, seeds, *, step=0, set_bias=True,
                       reduce="mean", batch_first_input=False) -> float:  # fmt: skip
    """The reference with knobs for the catalogue of mistakes."""

    def make_module():
        lstm = torch.nn.LSTM(1, PROBE_HIDDEN_SIZE)
        if set_bias:
            init_forget_bias_reference(lstm, forget_bias)
        return lstm

    shape = (PROBE_BATCH, length, 1) if batch_first_input else (length, PROBE_BATCH, 1)
    norms = seeded_input_gradient_norms(make_module, lambda: torch.randn(shape), seeds)  # (S, L)
    if reduce == "steps":
        return norms.mean().item()
    at_step = norms[:, step]  # (S,)
    return {"mean": at_step.mean(), "sum": at_step.sum(), "first": at_step[0]}[reduce].item()


class _Log10:
    """Call ``first_step_gradient`` and return log10 of its result.

    The norms span many decades (1e-13 … 1e-2), so the comparison is on their logarithm.
    """

    def __init__(self, student):
        self.student = student

    def __call__(self, forget_bias, length, seeds):
        value = self.student(forget_bias, length, seeds)
        size = value.numel() if isinstance(value, torch.Tensor) else np.size(value)
        if size != 1:
            raise GradingError(f"first_step_gradient: expected one number, got {size} values")
        value = float(value)
        return math.log10(value) if value > 0 else -math.inf


def _step_mistake(name: str, hint: str, **knobs) -> Mistake:
    return Mistake(name, hint, _Log10(lambda *args: first_step_variant(*args, **knobs)))


FIRST_STEP_GRADIENT = Check(
    name="first_step_gradient",
    reference=_Log10(first_step_gradient_reference),
    output_names=["log10 of the gradient norm at x_0"],
    mistakes=[
        _step_mistake("the forget bias is never set on the module", "call "
                      "init_forget_bias(lstm, forget_bias) inside make_module.", set_bias=False),
        _step_mistake("the gradient at the last step x_{L-1} instead of the first x_0",
                      "the curve's entry t is ‖∂loss/∂x_t‖: take column 0.", step=-1),
        _step_mistake("the mean over every step instead of step 0", "take column 0 of the "
                      "(S, L) curves, then average over the seeds.", reduce="steps"),
        _step_mistake("only the first seed is used", "average column 0 over all the seeds: "
                      "norms[:, 0].mean().", reduce="first"),
        _step_mistake("the seeds are summed instead of averaged", "use .mean() over the "
                      "seeds, not .sum().", reduce="sum"),
        _step_mistake("the input is drawn as (N, L, 1) instead of time-major (L, N, 1)",
                      "torch.nn.LSTM reads (L, N, I): torch.randn(length, 8, 1).",
                      batch_first_input=True),
    ],
    forbid=False,  # measuring torch.nn.LSTM is the point
)  # fmt: skip

# (forget biases, length, seeds): the effect needs a long lag; float32 does not underflow
EFFECT = {False: ((0.0, 1.0, 3.0), 50, (0, 1, 2)), True: ((0.0, 2.0), 40, (3, 4))}


def check_first_step_gradient(first_step_gradient, hidden: bool = False) -> None:
    """Check ``first_step_gradient(forget_bias, length, seeds) -> float``, then show the effect.

    After matching the reference, the gradient reaching x_0 must grow with the forget
    bias: the property the exercise is about. The numbers are printed.
    """
    if not callable(first_step_gradient):
        raise GradingError(f"first_step_gradient: expected a function, got "
                           f"{type(first_step_gradient).__name__}")  # fmt: skip
    biases, length, seeds = EFFECT[hidden]
    cases = [Case(f"forget_bias={b}, length={length}, seeds={seeds}", (b, length, seeds),
                  np.dtype("float32")) for b in biases]  # fmt: skip
    run_check(FIRST_STEP_GRADIENT, _Log10(first_step_gradient), cases)
    norms = [first_step_gradient(b, length, seeds) for b in biases]
    print(f"  ‖∂loss/∂x_0‖ after {length - 1} steps, mean of {len(seeds)} seeds:")
    for b, norm in zip(biases, norms):
        ratio = f"{norm / norms[0]:.3g}" if norms[0] > 0 else "inf"
        print(f"    forget bias {b:g}: {norm:.3g}  ({ratio} × bias {biases[0]:g})")
    if not all(later > earlier for earlier, later in zip(norms, norms[1:])):
        raise GradingError("first_step_gradient: expected the gradient at x_0 to grow with "
                           "the forget bias")  # fmt: skip
