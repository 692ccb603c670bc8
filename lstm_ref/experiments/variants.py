"""LSTM variants side by side: parameters, work, speed, depth and learning (chapter 3).

The variants are built from :mod:`lstm_ref.nn` (and ``torch.nn`` for its fused twins):

    LSTM, GRU, peephole LSTM, bidirectional LSTM, 2-layer LSTM, and a 1-layer
    "wide" LSTM with as many parameters as the 2-layer one.

Parameter counts come from :mod:`lstm_ref.params` and are checked against
``sum(p.numel())``; matrix-multiply FLOPs from ``torch.utils.flop_counter``; speed is
forward + backward time as a ratio to an LSTM timed in the same round (never absolute
milliseconds: the machines are shared and noisy).

Symbols: L sequence length, N batch, I input size, H hidden size.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from lstm_ref.gradflow import input_gradient_norms
from lstm_ref.nn import GRU, LSTM, PeepholeLSTM
from lstm_ref.params import param_count
from lstm_ref.tasks import CLASSES, SYMBOLS, temporal_order
from lstm_ref.train import accuracy, evaluate, train

from .ahead import startable
from .models import set_forget_bias, single_thread
from .pool import seeded_runs

# name: (mode of lstm_ref.params, keyword arguments of the layer)
VARIANTS: dict[str, tuple[str, dict]] = {
    "LSTM": ("LSTM", {}),
    "GRU": ("GRU", {}),
    "peephole LSTM": ("PEEPHOLE_LSTM", {}),
    "bidirectional LSTM": ("LSTM", {"bidirectional": True}),
    "2-layer LSTM": ("LSTM", {"num_layers": 2}),
    "wide LSTM": ("LSTM", {}),  # 1 layer, as wide as the 2-layer LSTM's parameters allow
}
_LAYERS = {"LSTM": LSTM, "GRU": GRU, "PEEPHOLE_LSTM": PeepholeLSTM}
_TORCH_LAYERS = {"LSTM": nn.LSTM, "GRU": nn.GRU}


def _spec(name: str, input_size: int, hidden_size: int) -> tuple[str, int, dict]:
    """(mode, hidden size, keyword arguments) of variant `name` at these sizes."""
    if name not in VARIANTS:
        raise ValueError(f"expected a variant in {list(VARIANTS)}, got {name!r}")
    mode, kwargs = VARIANTS[name]
    if name == "wide LSTM":
        budget = param_count("LSTM", input_size, hidden_size, num_layers=2)
        hidden_size = wide_hidden_size(input_size, budget)
    return mode, hidden_size, kwargs


def build(name: str, input_size: int, hidden_size: int, fused: bool = False) -> nn.Module:
    """The variant `name` of :data:`VARIANTS`, from lstm_ref.nn (or torch.nn if fused)."""
    mode, hidden_size, kwargs = _spec(name, input_size, hidden_size)
    layers = _TORCH_LAYERS if fused else _LAYERS
    if mode not in layers:
        raise ValueError(f"expected a variant torch.nn has, got {name!r}")
    return layers[mode](input_size, hidden_size, **kwargs)


def count(name: str, input_size: int, hidden_size: int) -> int:
    """Closed-form parameter count of a variant (:func:`lstm_ref.params.param_count`)."""
    mode, hidden_size, kwargs = _spec(name, input_size, hidden_size)
    return param_count(mode, input_size, hidden_size, **kwargs)


def numel(module: nn.Module) -> int:
    """sum(p.numel()) over the module's parameters: the oracle for :func:`count`."""
    return sum(p.numel() for p in module.parameters())


def wide_hidden_size(input_size: int, budget: int) -> int:
    """The largest H whose 1-layer LSTM has at most `budget` parameters."""
    H = 1
    while param_count("LSTM", input_size, H + 1) <= budget:
        H += 1
    return H


def matmul_flops(module: nn.Module, x: Tensor) -> int:
    """FLOPs of the matrix products in one forward + backward pass (torch's counter)."""
    with FlopCounterMode(display=False) as counter:
        output = module(x)[0]
        output.sum().backward()
    module.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def fused_rnn_kernels(module: nn.Module, x: Tensor) -> list[str]:
    """The fused oneDNN recurrent kernels (``aten::mkldnn_rnn_layer*``) that one forward
    + backward pass of `module` calls on the CPU; empty when the layer goes step by step.

    The profiler writes two lines to stderr while it runs (a page may hide them).
    """
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        module(x)[0].sum().backward()
    module.zero_grad(set_to_none=True)
    return sorted({e.key for e in prof.key_averages() if "mkldnn_rnn" in e.key})


@dataclass(frozen=True)
class StructureRow:
    """What a variant costs, relative to the LSTM of the same sizes."""

    name: str
    params: int  # from lstm_ref.params
    numel: int  # sum(p.numel()) of the built module
    param_ratio: float  # params / params of the LSTM
    flop_ratio: float  # matmul FLOPs (forward + backward) / the LSTM's


def structure_table(input_size: int = 32, hidden_size: int = 128) -> list[StructureRow]:
    """Parameters and matmul FLOPs of every variant, exact and deterministic."""
    x = torch.zeros(4, 2, input_size)  # (L, N, I): FLOPs scale with L·N alike for all
    rows = []
    for name in VARIANTS:
        module = build(name, input_size, hidden_size)
        rows.append((name, count(name, input_size, hidden_size), numel(module),
                     matmul_flops(module, x)))  # fmt: skip
    _, base_params, _, base_flops = rows[0]
    return [StructureRow(n, p, k, p / base_params, f / base_flops) for n, p, k, f in rows]


def forward_backward_seconds(module: nn.Module, x: Tensor) -> float:
    """Wall-clock seconds of one forward and backward pass."""
    module.zero_grad(set_to_none=True)
    start = time.perf_counter()
    module(x)[0].sum().backward()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Timing:
    """Per-round time ratios to the baseline: the median, and the smallest and largest."""

    name: str
    median: float
    low: float
    high: float


def time_ratios(
    modules: dict[str, nn.Module], x: Tensor, rounds: int = 10, repeats: int = 3
) -> list[Timing]:
    """Forward + backward time of each module over that of the first, round by round.

    In each round every module runs `repeats` times and keeps its fastest pass (the
    one least disturbed by other work on the machine), in an order rotated from round
    to round; the ratio is taken within the round, so a slow spell hits all modules
    alike. One thread, restored afterwards. Shapes: x (L, N, I).
    """
    names = list(modules)
    ratios: dict[str, list[float]] = {name: [] for name in names}
    with single_thread():
        for name in names:  # warm-up: first calls allocate and dispatch slowly
            forward_backward_seconds(modules[name], x)
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            best = {n: min(forward_backward_seconds(modules[n], x) for _ in range(repeats))
                    for n in order}  # fmt: skip
            for name in names:
                ratios[name].append(best[name] / best[names[0]])
    return [Timing(n, statistics.median(v), min(v), max(v)) for n, v in ratios.items()]


def speed_modules(input_size: int, hidden_size: int, fused: bool) -> dict[str, nn.Module]:
    """Every variant to time, the LSTM first; with fused=True torch.nn's own layers
    (which have no peephole LSTM)."""
    names = [n for n in VARIANTS if not (fused and VARIANTS[n][0] not in _TORCH_LAYERS)]
    return {n: build(n, input_size, hidden_size, fused) for n in names}


def first_output_change(module: nn.Module, x: Tensor) -> float:
    """Max |change| of output[0] when only the last input x[L-1] is changed (by +1).

    Exactly zero for a one-directional layer, whose output[0] has read x[0] alone;
    not zero for a bidirectional one, which cannot emit output[0] before it has read
    the whole sequence. Shapes: x (L, N, I).
    """
    changed = x.clone()
    changed[-1] += 1.0
    with torch.no_grad():
        return (module(changed)[0][0] - module(x)[0][0]).abs().max().item()


def bidirectional_parts(bilstm: LSTM, x: Tensor) -> tuple[float, float]:
    """Max |difference| of each half of a bidirectional output from its recipe.

    output[..., :H] must equal a one-direction LSTM with the forward weights on x;
    output[..., H:] must equal one with the reverse weights on x read backwards,
    flipped back in time.
    """
    H, state = bilstm.hidden_size, bilstm.state_dict()
    halves = []
    for suffix in ("", "_reverse"):
        one = LSTM(bilstm.input_size, H, dtype=x.dtype)
        one.load_state_dict({k: state[k + suffix] for k in one.state_dict()})
        halves.append(one)
    with torch.no_grad():
        both = bilstm(x)[0]  # (L, N, 2H)
        forward = halves[0](x)[0]
        backward = halves[1](x.flip(0))[0].flip(0)
    return ((both[..., :H] - forward).abs().max().item(),
            (both[..., H:] - backward).abs().max().item())  # fmt: skip


def gru_paper_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> Tensor:
    """GRU step as Cho et al. (2014) publish it: r_t resets h_{t-1} BEFORE W_hn.

    n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn), the form of the EMNLP 2014
    paper (and of arXiv:1406.1078v3); r_t, z_t and h_t as in
    :func:`lstm_ref.nn.functional.gru_step`, whose n_t has r_t ⊙ (W_hn h_{t-1} + b_hn),
    the form of arXiv v1 that cuDNN and PyTorch adopted. Same weights, different
    function. Shapes: x (N, I), h (N, H).
    """
    x_r, x_z, x_n = F.linear(x, W_ih, b_ih).chunk(3, dim=-1)  # each (N, H)
    W_hr, W_hz, W_hn = W_hh.chunk(3, dim=0)  # each (H, H)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(x_r + F.linear(h, W_hr, b_hr))
    z = torch.sigmoid(x_z + F.linear(h, W_hz, b_hz))
    n = torch.tanh(x_n + F.linear(r * h, W_hn, b_hn))  # reset before the product
    return (1 - z) * n + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}


def dropout_between_layers(p: float = 0.5, seed: int = 0) -> tuple[float, float]:
    """Max |difference| between two passes of a 2-layer LSTM with dropout p, in train
    mode and in eval mode. Dropout acts on layer 1's output, before layer 2 reads it."""
    torch.manual_seed(seed)
    lstm, x = LSTM(8, 16, num_layers=2, dropout=p), torch.randn(10, 4, 8)
    differences = []
    for mode in (lstm.train, lstm.eval):
        mode()
        with torch.no_grad():
            differences.append((lstm(x)[0] - lstm(x)[0]).abs().max().item())
    return differences[0], differences[1]


class ResidualLSTM(nn.Module):
    """A stack of 1-layer lstm_ref LSTMs with a skip around each: x ← x + LSTM(x).

    Every layer has input and hidden size H, so the sum is defined. Shapes: (L, N, H).
    """

    def __init__(self, hidden_size: int, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(LSTM(hidden_size, hidden_size) for _ in range(num_layers))

    def forward(self, x: Tensor) -> tuple[Tensor, None]:
        for layer in self.layers:
            x = x + layer(x)[0]  # the identity path carries the gradient past the layer
        return x, None


def depth_gradients(
    depths=(1, 2, 4, 8), hidden_size: int = 32, seeds=(0, 1, 2), seq_len: int = 20
) -> dict[str, Tensor]:
    """‖∂loss/∂x_{L-1}‖ at initialisation, plain stack against residual stack.

    The loss is :func:`lstm_ref.gradflow.input_gradient_norms`' projection of the last
    output; its gradient on the last input crosses every layer once and no time step.
    Returns {"plain": (S, len(depths)), "residual": (S, len(depths))}.
    """
    makers = {
        "plain": lambda k: LSTM(hidden_size, hidden_size, num_layers=k),
        "residual": lambda k: ResidualLSTM(hidden_size, k),
    }
    result = {}
    for kind, make in makers.items():
        rows = []
        for seed in seeds:
            torch.manual_seed(seed)
            x = torch.randn(seq_len, 16, hidden_size)  # (L, N, H)
            rows.append([input_gradient_norms(make(k), x)[-1].item() for k in depths])
        result[kind] = torch.tensor(rows)
    return result


class LastStepClassifier(nn.Module):
    """A recurrent layer, then a linear read-out of its final hidden state: (L, N, I) -> (N, C).

    The read-out sees h_n of the top layer, every direction: for a one-directional layer
    that is its last output h_{L-1} (H features); for a bidirectional one, the forward
    direction's h_{L-1} beside the backward direction's h_0, the output of its last
    step, which has read the whole sequence (2H features). output[-1] would not do for
    the latter: its backward half is the backward direction's first step, which has
    read x_{L-1} alone.
    """

    def __init__(self, recurrent: nn.Module, num_classes: int):
        super().__init__()
        self.recurrent = recurrent
        self.directions = 2 if recurrent.bidirectional else 1
        self.readout = nn.Linear(self.directions * recurrent.hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        state = self.recurrent(x)[1]  # h_n, or (h_n, c_n) for the LSTMs
        h_n = state[0] if isinstance(state, tuple) else state  # (layers · D, N, H)
        top = h_n[-self.directions :]  # (D, N, H): the top layer, forward first
        return self.readout(torch.cat(list(top), dim=-1))  # (N, D·H) -> (N, C)


@dataclass
class Run:
    """One training run of :func:`compare_on_task`."""

    variant: str
    seed: int
    loss: list[float]  # training loss, one per step
    accuracy: float  # on held-out batches
    steps_to_solve: int | None  # first step whose 20-step mean loss is below 0.1


@startable
def compare_on_task(
    variants=("LSTM", "GRU", "peephole LSTM"),
    seeds=(0, 1, 2),
    *,
    seq_len: int = 30,
    hidden_size: int = 32,
    batch_size: int = 32,
    steps: int = 600,
    lr: float = 3e-3,
    clip_grad_norm: float = 1.0,
    forget_bias: float = 1.0,
    workers: int | None = None,
) -> list[Run]:
    """Train each variant on the temporal order task, once per seed.

    The task (Hochreiter & Schmidhuber 1997, Experiment 6a): classify the order of X and
    Y among distractors, 4 classes, chance 1/4. Any name of :data:`VARIANTS` trains,
    read out by :class:`LastStepClassifier`. Training batches are seeded by (seed,
    step), held-out ones by 10**6 + i. Adam at `lr`, gradient norm clipped to
    `clip_grad_norm`; the LSTMs' forget gates start at σ(forget_bias).
    Runs single-threaded (restored afterwards), so they repeat exactly, and spread over
    `workers` processes (:func:`lstm_ref.experiments.pool.seeded_runs`), which changes
    only the time taken.
    """
    settings = dict(seq_len=seq_len, hidden_size=hidden_size, batch_size=batch_size,
                    steps=steps, lr=lr, clip_grad_norm=clip_grad_norm,
                    forget_bias=forget_bias)  # fmt: skip
    runs = seeded_runs(partial(_train_one, **settings), variants, seeds, workers=workers)
    return list(runs.values())


def _train_one(variant: str, seed: int, **settings) -> Run:
    with single_thread():  # also in the calling process, when there is one worker
        return _train(variant, seed, **settings)


def _train(
    variant, seed, *, seq_len, hidden_size, batch_size, steps, lr, clip_grad_norm, forget_bias
) -> Run:
    def batch(task_seed: int):
        return temporal_order(seq_len, batch_size=batch_size, seed=task_seed)

    torch.manual_seed(seed)
    recurrent = build(variant, len(SYMBOLS), hidden_size)
    if variant != "GRU":
        set_forget_bias(recurrent, forget_bias)
    model = LastStepClassifier(recurrent, len(CLASSES))
    history = train(model, lambda step: batch(seed * 100_000 + step), F.cross_entropy,
                    steps=steps, lr=lr, clip_grad_norm=clip_grad_norm, seed=seed,
                    progress=False)  # fmt: skip
    held_out = evaluate(model, lambda i: batch(10**6 + i), accuracy, batches=4)
    return Run(variant, seed, history.loss, held_out, _first_below(history.loss, 0.1))


def _first_below(loss: list[float], threshold: float, window: int = 20) -> int | None:
    smoothed = moving_average(loss, window)
    return next((t + window - 1 for t, v in enumerate(smoothed) if v < threshold), None)


def moving_average(values: list[float], window: int = 20) -> list[float]:
    """Means of each `window` consecutive values (len(values) - window + 1 of them, none
    when there are fewer than `window` values)."""
    if len(values) < window:
        return []
    kernel = torch.ones(1, 1, window) / window
    smoothed = F.conv1d(torch.tensor(values, dtype=torch.float64)[None, None], kernel.double())
    return smoothed.flatten().tolist()
