"""CTC on the shapes task: an LSTM learns labels without their alignment (chapter 7).

A bidirectional LSTM from :mod:`lstm_ref.nn` reads the signals of
:func:`lstm_ref.tasks.shape_sequences`; a linear read-out gives every frame a
distribution over the four labels and the blank, and ``torch.nn.CTCLoss`` trains it
from the label sequences alone. Held-out signals are then decoded both ways that
:mod:`lstm_ref.nn.ctc` offers, and scored:

    train_tagger(seed=s, bidirectional=True)  -> model, History
    score_decoders(model, batch)              -> DecoderScores: label error rate and
                                                 sequence accuracy, greedy and beam
    emissions(model, batch)                   -> Emissions: how peaked, where the spikes are
    tagger_runs(variants, seeds)              -> {(variant, seed): TaggerRun}
    edit_distance(a, b)                       Levenshtein distance of two label sequences

Shapes are time-major: inputs (T, N, 1), log-probabilities (T, N, C), C = 5 classes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from lstm_ref.experiments.ahead import startable
from lstm_ref.experiments.pool import seeded_runs
from lstm_ref.nn import LSTM
from lstm_ref.nn.ctc import best_path, collapse, prefix_beam_search
from lstm_ref.tasks.ctc import BLANK, LABELS, CTCBatch, shape_sequences
from lstm_ref.train import History, train

TRAIN_SEED_STRIDE = 100_000
"""Training batch `step` of run `seed` is drawn with seed ``seed * stride + step``."""
EVAL_SEED = 10**9
"""The held-out signals are drawn with this seed: never trained on."""
HIDDEN_SIZE = {"bidirectional": 32, "unidirectional": 46}
"""Hidden units per direction; 46 gives one direction about the parameters of 2 × 32."""


class CTCOutput(NamedTuple):
    """What a tagger returns: the two arguments of ``CTCLoss`` that come from the model."""

    log_probs: Tensor  # (T, N, C): ln y^t_k, a log-softmax over the classes
    input_lengths: Tensor  # (N,): frames of each sequence; later frames are padding


class CTCTagger(nn.Module):
    """An LSTM over the signal and a linear read-out to the labels and the blank.

        h_t = [h→_t ; h←_t] = LSTM(x)_t             (T, N, 1) -> (T, N, D·H)
        ln y^t = log_softmax(W_out h_t + b_out)      (T, N, D·H) -> (T, N, C)

    Args:
        hidden_size: H per direction.
        bidirectional: D = 2 (h_t reads the whole signal) or D = 1 (only x_0 … x_t).

    Shapes:
        forward(inputs (T, N, 1), input_lengths (N,)) -> CTCOutput.
    """

    def __init__(self, hidden_size: int = 32, bidirectional: bool = True) -> None:
        super().__init__()
        self.rnn = LSTM(1, hidden_size, bidirectional=bidirectional)
        self.readout = nn.Linear(self.rnn.num_directions * hidden_size, len(LABELS))

    def forward(self, inputs: Tensor, input_lengths: Tensor) -> CTCOutput:
        h = self.rnn(inputs)[0]  # (T, N, D·H); padding reads as more silence
        return CTCOutput(self.readout(h).log_softmax(dim=-1), input_lengths)


def ctc_loss(output: CTCOutput, targets: Tensor) -> Tensor:
    """-ln p(l | x) by ``torch.nn.CTCLoss``, divided by |l| and averaged over the batch.

    targets: (N, S) label ids, padded with BLANK, so S_n counts the ids that are not.
    """
    target_lengths = (targets != BLANK).sum(dim=1)  # (N,): S_n
    loss = nn.CTCLoss(blank=BLANK)  # reduction="mean"
    return loss(output.log_probs, targets, output.input_lengths, target_lengths)


def tagger_batch(step: int, *, seed: int, batch_size: int = 64):
    """Training batch `step`: ((inputs, input_lengths), targets)."""
    batch = shape_sequences(batch_size=batch_size, seed=seed * TRAIN_SEED_STRIDE + step)
    return (batch.inputs, batch.input_lengths), batch.targets


def train_tagger(
    *, seed: int = 0, bidirectional: bool = True, steps: int = 250, lr: float = 1e-2
) -> tuple[CTCTagger, History]:
    """Build a tagger from `seed` and train it with CTC on `steps` batches of 64.

    Adam, the gradient norm clipped to 1. The same seed gives both variants the same
    batches. Returns the model, in eval mode, and its History.
    """
    torch.manual_seed(seed)
    variant = "bidirectional" if bidirectional else "unidirectional"
    model = CTCTagger(HIDDEN_SIZE[variant], bidirectional)
    history = train(
        model, lambda step: tagger_batch(step, seed=seed), ctc_loss,
        steps=steps, lr=lr, clip_grad_norm=1.0, seed=seed, progress=False,
    )  # fmt: skip
    return model.eval(), history


def edit_distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions a -> b.

    Example:
        >>> edit_distance((1, 2, 3), (1, 3)), edit_distance((), (4, 4))
        (1, 2)
    """
    previous = list(range(len(b) + 1))  # d(a[:0], b[:j]) = j
    for i, x in enumerate(a, start=1):
        current = [i]  # d(a[:i], b[:0]) = i
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


class DecoderScores(NamedTuple):
    """Held-out scores of one tagger; label error rate = Σ edit distance / Σ |l|."""

    greedy_error_rate: float
    beam_error_rate: float
    greedy_accuracy: float  # fraction of sequences decoded exactly
    beam_accuracy: float
    beam_differs: int  # sequences where the two decoders disagree
    sequences: int


class Emissions(NamedTuple):
    """What one tagger emits, frame by frame, on the held-out signals.

    A label's *spike* is the first frame of its run in the best path π*; the spike
    timings count only sequences that best-path decoding gets right.
    """

    peaked: float  # fraction of frames whose largest y^t_k exceeds 0.9
    blank_frames: float  # fraction of frames where the blank is the most probable class
    frames_per_label: float  # frames where a label is most probable, per reference label
    spike_before: float  # fraction of spikes before their shape starts
    spike_after: float  # fraction after it ends (the rest fall inside)
    spike_position: float  # mean of (t - start) / duration over the spikes


class TaggerRun(NamedTuple):
    """One trained tagger and what was measured on the held-out signals."""

    model: CTCTagger
    scores: DecoderScores
    emissions: Emissions


def held_out(sequences: int = 300) -> CTCBatch:
    """The held-out signals every tagger is scored on (seed EVAL_SEED)."""
    return shape_sequences(batch_size=sequences, seed=EVAL_SEED)


def references(batch: CTCBatch) -> list[tuple[int, ...]]:
    """The label sequences of a batch, as tuples without padding."""
    return [tuple(row[:S_n].tolist()) for row, S_n in zip(batch.targets, batch.target_lengths)]


def label_error_rate(decoded: list[tuple[int, ...]], refs: list[tuple[int, ...]]) -> float:
    """Σ_n edit_distance(decoded_n, reference_n) / Σ_n |reference_n|."""
    return sum(edit_distance(d, r) for d, r in zip(decoded, refs)) / sum(map(len, refs))


@torch.no_grad()
def score_decoders(model: CTCTagger, batch: CTCBatch, *, beam_width: int = 8) -> DecoderScores:
    """Decode `batch` greedily and with prefix beam search, and score both."""
    log_probs = model.eval()(batch.inputs, batch.input_lengths).log_probs  # (T, N, C)
    refs, N = references(batch), len(batch.input_lengths)
    greedy = best_path(log_probs, batch.input_lengths)
    beam = [
        prefix_beam_search(log_probs[:T_n, n], beam_width)[0][0]
        for n, T_n in enumerate(batch.input_lengths.tolist())
    ]
    return DecoderScores(
        label_error_rate(greedy, refs), label_error_rate(beam, refs),
        sum(g == r for g, r in zip(greedy, refs)) / N, sum(b == r for b, r in zip(beam, refs)) / N,
        sum(g != b for g, b in zip(greedy, beam)), N,
    )  # fmt: skip


@torch.no_grad()
def emissions(model: CTCTagger, batch: CTCBatch) -> Emissions:
    """Measure how peaked the outputs are on `batch`, and where the spikes fall."""
    y = model.eval()(batch.inputs, batch.input_lengths).log_probs.exp()  # (T, N, C)
    inside = torch.arange(len(y)).unsqueeze(1) < batch.input_lengths  # (T, N): t < T_n
    top, path = y.max(dim=-1)  # (T, N): max_k y^t_k and π*_t
    where, positions = [], []
    for n, (T_n, ref) in enumerate(zip(batch.input_lengths.tolist(), references(batch))):
        frames = path[:T_n, n].tolist()
        if collapse(frames) != ref:
            continue
        spikes = [t for t, k in enumerate(frames) if k != BLANK and (t == 0 or k != frames[t - 1])]
        for (start, stop), t in zip(batch.spans[n].tolist(), spikes):
            where.append(-1 if t < start else int(t >= stop))  # -1 before, 0 inside, 1 after
            positions.append((t - start) / (stop - start))
    return Emissions(
        (top[inside] > 0.9).float().mean().item(),
        (path[inside] == BLANK).float().mean().item(),
        (path[inside] != BLANK).sum().item() / batch.target_lengths.sum().item(),
        where.count(-1) / len(where), where.count(1) / len(where),
        sum(positions) / len(positions),
    )  # fmt: skip


def tagger_run(variant: str, seed: int) -> TaggerRun:
    """Train `variant` ("bidirectional" or "unidirectional") from `seed` and measure it
    on the held-out signals."""
    model, _ = train_tagger(seed=seed, bidirectional=variant == "bidirectional")
    batch = held_out()
    return TaggerRun(model, score_decoders(model, batch), emissions(model, batch))


@startable
def tagger_runs(
    variants: tuple[str, ...] = ("bidirectional",),
    seeds: tuple[int, ...] = (0, 1),
    *,
    workers: int | None = None,
) -> dict[tuple[str, int], TaggerRun]:
    """:func:`tagger_run` for every variant and seed, spread over `workers` processes
    (:func:`lstm_ref.experiments.pool.seeded_runs`; the time taken changes, not a result).

    Raises:
        ValueError: a variant not in HIDDEN_SIZE.
    """
    return seeded_runs(tagger_run, variants, seeds, known=HIDDEN_SIZE, workers=workers)
