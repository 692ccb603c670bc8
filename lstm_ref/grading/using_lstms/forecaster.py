"""Exercise 6.1: an LSTM forecaster, trained by the student, judged by its forecasts.

    Forecaster(hidden_size).forward(x (W, N, 1)) -> x̂ (N, 1)      an nn.Module, trained

The kernel only runs the trained model and returns its forecasts: on seeded probe
windows (as drawn, with the newest value of each nudged, and in reverse order) and on
held-out windows of normal series. The judgement is a pure function of those forecasts
and the cases, which the grader draws again from their seeds: the shape, whether the
last step is read, whether the windows stay apart, and the held-out MSE against two
forecasts that need no training (repeating the last value, the window's mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import lstm_ref.nn as ref_nn
from lstm_ref.tasks import make_windows, seasonal_series

from .. import messages
from ..core import Case, Check, GradingError, Verdict
from ..exercise import Exercise, Part

WINDOW = 24
"""W: the past values a forecaster reads (one period of the daily cycle, p = 24)."""
PROBE_BATCH = {False: 5, True: 7}  # N of the probe windows; unlike W, so layouts differ
HELD_OUT = {False: (10**6, 4), True: (10**6 + 1, 3)}  # (seed, N) of normal held-out series
MSE_RATIO = 0.6  # the held-out MSE must be below this × the better of the two baselines
LSTM_TYPES = (nn.LSTM, nn.LSTMCell, ref_nn.LSTM, ref_nn.LSTMCell, ref_nn.PeepholeLSTM,
              ref_nn.PeepholeLSTMCell)  # fmt: skip
NAME = "Forecaster"
SHAPE_HINT = ("forward gets x of shape (W, N, 1), time-major: nn.LSTM(1, hidden_size) reads it "
              "as it is (batch_first=False), and self.out(output[-1]) is (N, 1).")  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """What is wrong with the forecasts: a known mistake (``name``) or a plain ``text``."""

    text: str
    hint: str = ""
    name: str = ""

    @property
    def what(self) -> str:
        return f"your output matches a known mistake: {self.name}." if self.name else self.text


def _mistake(name: str, hint: str) -> Finding:
    return Finding(name, hint, name)


MISTAKES = {
    "no_lstm": _mistake("there is no LSTM inside the model", "build it around "
                        "torch.nn.LSTM(1, hidden_size) (or lstm_ref.nn.LSTM) and read the "
                        "window with it."),
    "first_step": _mistake("the forecast ignores the window's newest value: it is read from "
                           "the first time step (output[0]), not the last", "after the whole "
                           "window, the LSTM's last output output[-1] (or h_n[-1]) sums it up."),
    "no_linear": _mistake("there is no final linear layer: the output has hidden_size "
                          "columns", "map the last output to one value with "
                          "nn.Linear(hidden_size, 1)."),
    "batch_first": _mistake("the windows are read batch-first, as (N, W, 1): one forecast per "
                            "time step comes back, (W, 1); x is time-major, (W, N, 1)",
                            "leave batch_first=False (the default) and take output[-1], or "
                            "transpose x to (N, W, 1) for a batch_first LSTM."),
    "mixed": _mistake("the windows are read batch-first, as (N, W, 1), so each forecast "
                      "mixes in values of other windows; x is time-major, (W, N, 1)",
                      "leave batch_first=False (the default) and take output[-1], or "
                      "transpose x to (N, W, 1) for a batch_first LSTM and take output[:, -1]."),
    "h_n": _mistake("h_n is used without picking the last layer: it has shape "
                    "(num_layers, N, H)", "use h_n[-1], shape (N, H), or output[-1]."),
    "every_step": _mistake("a forecast for every step of the window is returned, (W, N, 1)",
                           "return only the forecast after the last step: "
                           "self.out(output[-1])."),
    "squeezed": _mistake("the forecast is squeezed to (N,); the instructions ask for (N, 1)",
                         "keep the last axis: self.out(output[-1]) is already (N, 1)."),
}  # fmt: skip


# ---------------------------------------------------------------- running (the kernel)


def _model(student) -> nn.Module:
    """The student's trained model; structural problems only (no forecast is judged here)."""
    if isinstance(student, type):
        raise GradingError(f"expected your trained model, an instance, got the class "
                           f"{student.__name__} itself")  # fmt: skip
    if not isinstance(student, nn.Module) or next(student.parameters(), None) is None:
        raise GradingError(f"expected your trained model, a torch.nn.Module with "
                           f"parameters, got {type(student).__name__}")  # fmt: skip
    if not any(isinstance(module, LSTM_TYPES) for module in student.modules()):
        raise GradingError(MISTAKES["no_lstm"].name)
    return student


def _forecast(model: nn.Module, x: torch.Tensor):
    """The model's output for windows ``x`` (moved to its device and dtype), in eval mode;
    a tensor comes back on x's device and in x's dtype."""
    like = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x.to(device=like.device, dtype=like.dtype))
    finally:
        model.train(was_training)
    if isinstance(out, torch.Tensor) and out.is_floating_point():
        return out.to(device=x.device, dtype=x.dtype)
    return out


def probe_runner(student):
    model = _model(student)
    return lambda *windows: tuple(_forecast(model, x) for x in windows)


def held_out_runner(student):
    model = _model(student)
    return lambda x, y: _forecast(model, x)  # the targets y stay with the grader


# ---------------------------------------------------------------- judging (pure)


def _shape_mistake(shape: tuple, W: int, N: int) -> Finding | None:
    if shape == (W, N, 1):
        return MISTAKES["every_step"]
    if shape == (W, 1):
        return MISTAKES["batch_first"]
    if shape == (N,):
        return MISTAKES["squeezed"]
    if len(shape) == 2 and shape[0] == N:
        return MISTAKES["no_linear"]
    if len(shape) == 3 and shape[1:] == (N, 1):
        return MISTAKES["h_n"]
    return None


def _shape_finding(shape: tuple, W: int, N: int) -> Finding:
    return _shape_mistake(shape, W, N) or Finding(
        f"forecast has shape {shape}, expected (N, 1) = {(N, 1)} for windows of shape "
        f"(W, N, 1) = {(W, N, 1)}", SHAPE_HINT)


def probe_finding(case: Case, got) -> Finding | None:
    """The probe windows: the shape, the newest value read, each window on its own."""
    W, N = case.args[0].shape[:2]
    forecast, nudged, flipped = (value.array for value in got)
    if forecast.shape != (N, 1):
        return _shape_finding(forecast.shape, W, N)
    if not np.all(np.isfinite(forecast)):
        return Finding("the forecast contains nan or inf", "did training diverge?")
    if nudged.shape == forecast.shape and np.max(np.abs(nudged - forecast)) <= 1e-6:
        return MISTAKES["first_step"]
    # another order of the same windows: the same forecasts, up to the rounding of other
    # kernels (TF32 on a GPU); mixing windows changes them by far more (≥ 5e-3 untrained)
    if flipped.shape != forecast.shape or not np.allclose(flipped, forecast[::-1],
                                                          rtol=1e-3, atol=1e-4):  # fmt: skip
        return MISTAKES["mixed"]
    return None


def held_out_errors(case: Case, forecast: np.ndarray) -> tuple[float, float, float]:
    """MSE of the forecast, of repeating the last value, of the window mean (float64)."""
    x, y = (arg.double().numpy() for arg in case.args)
    mse = lambda guess: float(np.mean((guess - y) ** 2))  # noqa: E731
    return mse(forecast.astype(np.float64)), mse(x[-1]), mse(x.mean(axis=0))


def held_out_finding(case: Case, got) -> Finding | None:
    """The held-out windows: the forecast must beat both baselines by a margin."""
    x, y = case.args
    forecast = got[0].array
    if forecast.shape != tuple(y.shape):
        return _shape_finding(forecast.shape, x.shape[0], x.shape[1])
    if not np.all(np.isfinite(forecast)):
        return Finding("the forecast contains nan or inf on held-out windows",
                       "did training diverge? Try the training cell again after a fix.")
    mse, last, mean = held_out_errors(case, forecast)
    if mse < MSE_RATIO * min(last, mean):
        return None
    which = "repeating each window's last value" if last <= mean else "the window mean"
    return Finding(f"held-out MSE {mse:.4f} is not below {MSE_RATIO} × {min(last, mean):.4f}, "
                   f"the MSE of {which}", "is it trained (the training cell ran after your "
                   "last change)? Does forward read output[-1]?")  # fmt: skip


def _criterion(finding):
    def criterion(case, got, expected):
        result = finding(case, got)
        return None if result is None else result.what

    return criterion


PROBE = Check(
    name=NAME,
    reference=lambda x, nudged, flipped: (x[-1], nudged[-1], flipped[-1]),  # shapes only
    output_names=["forecast", "forecast (newest values nudged)", "forecast (windows reversed)"],
    forbid=False, shared_mistakes=False, shape_hint=SHAPE_HINT,
    criterion=_criterion(probe_finding),
)  # fmt: skip
HELD_OUT_CHECK = Check(
    name=NAME,
    reference=lambda x, y: x[-1],  # repeating the last value: a baseline, not the answer
    output_names=["forecast"],
    forbid=False, shared_mistakes=False, shape_hint=SHAPE_HINT,
    criterion=_criterion(held_out_finding),
)  # fmt: skip


def probe_cases(hidden: bool) -> list[Case]:
    N = PROBE_BATCH[hidden]
    x = torch.randn(WINDOW, N, 1, generator=torch.Generator().manual_seed(1000 * hidden))
    nudged = x.clone()
    nudged[-1] += 1.0  # the newest value of every window
    return [Case(f"probe windows (W={WINDOW}, N={N}), float32", (x, nudged, x.flip(1)),
                 np.dtype("float32"))]  # fmt: skip


def held_out_cases(hidden: bool) -> list[Case]:
    seed, N = HELD_OUT[hidden]
    x, y = make_windows(seasonal_series(400, seed=seed, batch_size=N).values, WINDOW)
    return [Case(f"held-out normal series ({N} series, {len(y)} windows of W={WINDOW}), "
                 "float32", (x, y), np.dtype("float32"))]  # fmt: skip


class ForecasterExercise(Exercise):
    """The exercise, with the forecaster's mistakes named and its errors in the ✓ line.

    A criterion returns only text, so the named mistake and its hint are found again
    here, from the same recorded forecasts: still a pure function of cases and outputs.
    """

    FINDINGS = (probe_finding, held_out_finding)

    def judge(self, outcomes, hidden: bool = False) -> Verdict:
        verdict = super().judge(outcomes, hidden)
        if verdict.passed:
            (outcome,) = outcomes[1]
            mse, last, mean = held_out_errors(held_out_cases(hidden)[0], outcome.values[0].array)
            return Verdict(True, f"✓ {NAME}: held-out MSE {mse:.4f}, against {last:.4f} for "
                           f"repeating the last value and {mean:.4f} for the window mean")
        for part, finding, got in zip(self.parts, self.FINDINGS, outcomes):
            for case, outcome in zip(part.cases(hidden), got):
                found = self._found(finding, case, outcome) if case.label == verdict.case else None
                if found is not None:
                    where = case.label + (" (a hidden case)" if hidden else "")
                    text = messages.compose(NAME, found.what, found.hint, where)
                    return Verdict(False, text, found.name, case.label)
        return verdict

    @staticmethod
    def _found(finding, case, outcome) -> Finding | None:
        if outcome.values is None:
            no_lstm = MISTAKES["no_lstm"]
            plain = outcome.error_type == "GradingError" and outcome.error == no_lstm.name
            return no_lstm if plain else None
        odd = next((value for value in outcome.values if value.kind != "tensor"), None)
        if odd is None:
            return finding(case, outcome.values)
        kinds = {"ndarray": "a NumPy array", "number": "a number"}
        what = odd.text or kinds.get(odd.kind, odd.kind)
        hint = ("return only the forecast, self.out(output[-1]); the LSTM's state stays inside "
                "forward." if what.startswith("a tuple") else "return the output of the "
                "linear layer, a torch.Tensor: no .numpy(), .item() or .tolist().")  # fmt: skip
        return Finding(f"forward should return the forecast, a tensor of shape (N, 1); it "
                       f"returned {what}", hint)


check_forecaster = ForecasterExercise(
    "forecaster", [Part(PROBE, probe_cases, probe_runner),
                   Part(HELD_OUT_CHECK, held_out_cases, held_out_runner)],
    doc="Check a trained forecaster: an nn.Module with an LSTM, (W, N, 1) -> (N, 1), "
        "well below the two baselines on held-out series.")  # fmt: skip
