"""Exercise 4.1: backpropagation through time through an LSTM, by hand, in NumPy.

    lstm_bptt(d_out, dh_n, dc_n, caches) -> (dx, dh0, dc0, grads)
    d_out (L, N, H), dh_n, dc_n (N, H), caches from lstm_ref.numpy_ref.lstm_forward;
    dx (L, N, I), dh0, dc0 (N, H), grads {"W_ih", "W_hh", "b_ih", "b_hh"} summed over time

The runner unpacks ``grads`` into four outputs; the reference is
:func:`lstm_ref.numpy_ref.lstm_backward`. Every wrong variant is a keyword of
:func:`bptt_variant`; the gate order and the swapped (dh_n, dc_n) go through the
shared catalogue.
"""

from __future__ import annotations

import numpy as np

from lstm_ref.numpy_ref import lstm_backward, lstm_forward

from .. import catalogue
from ..cases import build_cases, cell_arrays
from ..core import Case, Check, GradingError, Mistake
from ..exercise import Exercise, Part

GRAD_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")
BPTT_LENGTH = {False: 5, True: 7}  # L of the visible and of the hidden cases
TORCH_ORDER = (0, 1, 2, 3)  # i, f, g, o


def _flat(result) -> tuple:
    """(dx, dh0, dc0, grads) -> (dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)."""
    dx, dh0, dc0, grads = result
    return (dx, dh0, dc0, *(grads[name] for name in GRAD_NAMES))


def runner(student):
    """The student's ``lstm_bptt`` returning seven plain outputs (grads unpacked)."""
    if not callable(student):
        raise GradingError(f"expected a function, got {type(student).__name__}")

    def run(d_out, dh_n, dc_n, caches):
        result = student(d_out, dh_n, dc_n, caches)
        if not isinstance(result, tuple | list) or len(result) != 4:
            raise GradingError("expected it to return (dx, dh0, dc0, grads), "
                               f"got {type(result).__name__}")  # fmt: skip
        grads = result[3]
        missing = [n for n in GRAD_NAMES if not isinstance(grads, dict) or n not in grads]
        if missing:
            raise GradingError(f"expected grads to be a dict with keys {list(GRAD_NAMES)}, "
                               f"missing {missing}")  # fmt: skip
        return _flat(result)

    return run


def reference(d_out, dh_n, dc_n, caches):
    return _flat(lstm_backward(d_out, dh_n, dc_n, caches))


def bptt_variant(d_out, dh_n, dc_n, caches, *, forget=True, tanh_path=True, d_out_at="h_t",
                 use_dh_n=True, use_dc_n=True, backward=True, accumulate=True,
                 unpack=TORCH_ORDER, stack=TORCH_ORDER, derivatives=True, transposed=False,
                 bias="both"):  # fmt: skip
    """BPTT through an LSTM written out, with one knob per catalogued mistake.

    With the defaults it equals lstm_backward. ``d_out_at``: "h_t" (right), "h_prev"
    (added after step t's backward) or None (ignored). ``unpack``: gate k is read as
    ``caches[t]["gates"][unpack[k]]``; ``stack``: da of gate k is put in block
    ``stack[k]`` of the (N, 4H) stack. ``bias``: "both", "b_ih" or "b_hh" (the only one
    given a gradient), or "split" (each gets half). ``accumulate``: True, False (each
    step overwrites the totals) or "b" (only the biases' totals are summed).
    """
    dh = dh_n if use_dh_n else np.zeros_like(dh_n)  # ∂L/∂h_t, from the future
    dc = dc_n if use_dc_n else np.zeros_like(dc_n)  # ∂L/∂c_t, from the future
    dx, grads = [None] * len(caches), {}
    s = (lambda v: v * (1 - v)) if derivatives else np.ones_like  # σ'(a) = σ(1 - σ)
    blocks = [stack.index(j) for j in range(4)]  # the gate whose da fills block j
    for t in reversed(range(len(caches))) if backward else range(len(caches)):
        x, h, W_ih, W_hh, _, _ = caches[t]["affine_inputs"]
        gates = caches[t]["gates"]
        i, f, g, o = (gates[k] for k in unpack)
        tanh_c, c = caches[t]["tanh_c_next"], caches[t]["c"]
        if d_out_at == "h_t":
            dh = dh + d_out[t]  # h_t feeds the loss directly, too
        dc_total = dc + (dh * o * (1 - tanh_c**2) if tanh_path else 0)  # ∂L/∂c_t
        da = [dc_total * g * s(i), dc_total * c * s(f),
              dc_total * i * (1 - g**2 if derivatives else 1), dh * tanh_c * s(o)]  # fmt: skip
        d_gates = np.concatenate([da[k] for k in blocks], axis=1)  # (N, 4H)
        dx[t], dh = d_gates @ W_ih, d_gates @ W_hh  # (N, I), (N, H)
        dc = dc_total * f if forget else dc_total  # ∂L/∂c_{t-1} = f ⊙ ∂L/∂c_t
        if d_out_at == "h_prev":
            dh = dh + d_out[t]
        db = d_gates.sum(axis=0)
        step = {"W_ih": d_gates.T @ x, "W_hh": d_gates.T @ h, "b_ih": db, "b_hh": db}
        if bias != "both":
            zero = np.zeros_like(db)
            step["b_ih"], step["b_hh"] = {"b_ih": (db, zero), "b_hh": (zero, db),
                                          "split": (db / 2, db / 2)}[bias]  # fmt: skip
        if transposed:
            step.update(W_ih=x.T @ d_gates, W_hh=h.T @ d_gates)
        if grads:  # running totals over time; accumulate="biases": only the biases'
            summed = [k for k in step if accumulate is True or (accumulate == k[0] == "b")]
            step = {k: grads[k] + v if k in summed else v for k, v in step.items()}
        grads = step
    return np.stack(dx), dh, dc, grads


def _mistake(name: str, hint: str, **knobs) -> Mistake:
    return Mistake(name, hint, lambda *args: _flat(bptt_variant(*args, **knobs)))


def _gate_orders() -> list[Mistake]:
    """The catalogue's gate orders, in the three forms a student writes them: the cached
    gates unpacked in another order, the da blocks stacked in another order, or both."""
    mistakes = []
    for form in ("unpack", "stack", "both"):
        def ordered(order, *args, form=form):
            knobs = {key: tuple(int(k) for k in order) for key in ("unpack", "stack")
                     if form in (key, "both")}  # fmt: skip
            return _flat(bptt_variant(*args, **knobs))

        # the order vector arange(4) is the "stacked" argument the catalogue permutes
        for m in catalogue.gate_order(ordered, gates=4, stacked=[0]):
            mistakes.append(Mistake(m.name, m.hint,
                                    lambda *args, m=m: m.fn(np.arange(4), *args)))  # fmt: skip
    return mistakes


def _swapped_state() -> Mistake:
    """The catalogue's (c, h) for (h, c): dh starts from dc_n and dc from dh_n."""
    mistake = catalogue.swapped_state(lambda d_out, state, caches: reference(d_out, *state,
                                                                              caches), 1)
    return Mistake(mistake.name, "the arguments are (d_out, dh_n, dc_n, caches): dh starts "
                   "from dh_n and dc from dc_n.",
                   lambda d_out, dh_n, dc_n, caches: mistake.fn(d_out, (dh_n, dc_n), caches))


BIAS_HINT = ("b_ih and b_hh are both added to the pre-activation a, so each gets the full "
             "gradient: db_ih = db_hh = Σ_t Σ_n da.")  # fmt: skip

LSTM_BPTT = Check(
    name="lstm_bptt",
    reference=reference,
    output_names=["dx", "dh0", "dc0", 'grads["W_ih"]', 'grads["W_hh"]', 'grads["b_ih"]',
                  'grads["b_hh"]'],
    arg_names=("d_out", "dh_n", "dc_n", "caches"),
    shape_hint="da is (N, 4H), W_ih (4H, I), W_hh (4H, H): dx_t = da @ W_ih, "
               "dh = da @ W_hh, dW_ih += da.T @ x_t, dW_hh += da.T @ h_prev.",
    mistakes=[
        *(_mistake("the weight gradients are overwritten at each step instead of summed "
                   "over time", "the same weights act at every step: add each step's "
                   "gradients into running totals.", accumulate=form) for form in (False, "b")),
        _mistake("the cell-state gradient is passed back without the forget gate "
                 "(dc_prev = dc instead of f ⊙ dc)", "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, "
                 "so ∂L/∂c_{t-1} = f_t ⊙ ∂L/∂c_t.", forget=False),
        _mistake("the path from h_t through tanh(c_t) is missing from dc",
                 "h_t = o_t ⊙ tanh(c_t) depends on c_t too: "
                 "dc_t = dc + dh ⊙ o_t ⊙ (1 - tanh²(c_t)).", tanh_path=False),
        _mistake("the per-step output gradients d_out are ignored (only dh_n is used)",
                 "every h_t feeds the loss: at step t, dh = d_out[t] + the gradient "
                 "from step t+1.", d_out_at=None),
        _mistake("d_out[t] is added after step t's backward (to h_{t-1}) instead of "
                 "before it (to h_t)", "add d_out[t] to dh first, then backpropagate "
                 "through step t.", d_out_at="h_prev"),
        _mistake("the loop runs forward in time", "BPTT starts from the last step: "
                 "for t in reversed(range(L)).", backward=False),
        _mistake("dh_n, the gradient on the final hidden state, is ignored",
                 "start the loop from dh = dh_n, not from zeros.", use_dh_n=False),
        _mistake("dc_n, the gradient on the final cell state, is ignored",
                 "start the loop from dc = dc_n, not from zeros.", use_dc_n=False),
        _mistake("the derivatives of the gates' nonlinearities are left out",
                 "through a gate, multiply by σ'(a) = s(1 - s) for i, f, o and "
                 "tanh'(a) = 1 - g² for g.", derivatives=False),
        _mistake("the weight gradients are transposed (x.T @ da instead of da.T @ x)",
                 "dW_ih = da.T @ x_t has W_ih's shape (4H, I); dW_hh = da.T @ h_{t-1}.",
                 transposed=True),
        _mistake("only one of the two biases gets a gradient", BIAS_HINT, bias="b_ih"),
        _mistake("only one of the two biases gets a gradient", BIAS_HINT, bias="b_hh"),
        _mistake("the bias gradient is split between the two biases", BIAS_HINT,
                 bias="split"),
        _swapped_state(),
        *_gate_orders(),
    ],
)  # fmt: skip


def _arrays(length: int):
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
        for case in build_cases(_arrays(L), "numpy", hidden, shapes=shapes):
            x, h0, c0, W_ih, W_hh, b_ih, b_hh, d_out, dh_n, dc_n = case.args
            params = {"W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
            *_, caches = lstm_forward(x, h0, c0, params)
            cases.append(Case(f"L={L}, {case.label}", (d_out, dh_n, dc_n, caches),
                              case.dtype, case.device))  # fmt: skip
    return cases


check_lstm_bptt = Exercise(
    "lstm_bptt", [Part(LSTM_BPTT, bptt_cases, runner)],
    doc="Check ``lstm_bptt(d_out, dh_n, dc_n, caches) -> (dx, dh0, dc0, grads)``.")
