"""CTC: the collapse map, the decoders and the shapes task, against brute-force oracles.

On tiny inputs (T <= 5 frames, 2 or 3 labels) every path can be listed, so p(l | x) is
a plain sum over the paths that collapse to l: the oracle for ``torch.nn.CTCLoss`` and
for prefix beam search.
"""

import itertools
import math

import pytest
import torch

from lstm_ref.experiments.ctc import (
    HIDDEN_SIZE,
    CTCTagger,
    ctc_loss,
    edit_distance,
    label_error_rate,
    references,
    tagger_batch,
)
from lstm_ref.nn.ctc import alignments, best_path, collapse, prefix_beam_search
from lstm_ref.tasks import CTCBatch, shape_sequences
from lstm_ref.tasks.ctc import BLANK, shape


def random_log_probs(T: int, C: int, seed: int, sharpness: float = 2.0) -> torch.Tensor:
    """(T, C) log-softmax outputs, peaked enough that the argmax matters."""
    g = torch.Generator().manual_seed(seed)
    return (sharpness * torch.randn(T, C, generator=g, dtype=torch.float64)).log_softmax(-1)


def brute_force(log_probs: torch.Tensor) -> dict[tuple[int, ...], float]:
    """p(l | x) for every l, summing Π_t y^t_{π_t} over all C^T paths π."""
    T, C = log_probs.shape
    y = log_probs.exp()
    p = {}
    for path in itertools.product(range(C), repeat=T):
        l = collapse(path)
        p[l] = p.get(l, 0.0) + math.prod(y[t, k].item() for t, k in enumerate(path))
    return p


def ctc_probability(log_probs: torch.Tensor, labels: tuple[int, ...]) -> float:
    """exp(-CTCLoss(reduction='none')) of one sequence and one label sequence."""
    loss = torch.nn.CTCLoss(blank=BLANK, reduction="none")(
        log_probs.unsqueeze(1), torch.tensor([labels], dtype=torch.long).view(1, -1),
        torch.tensor([len(log_probs)]), torch.tensor([len(labels)]),
    )  # fmt: skip
    return math.exp(-loss.item())


TINY = [(T, C, seed) for T in (1, 3, 4, 5) for C in (3, 4) for seed in range(3) if C**T <= 625]


# --- the collapse map ------------------------------------------------------------------


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([]) == ()
    assert collapse([0, 0, 0]) == ()
    assert collapse([1, 1, 1]) == (1,)
    assert collapse([0, 1, 1, 0, 0, 2, 0]) == (1, 2)
    assert collapse([1, 0, 1]) == (1, 1)  # a blank between repeats keeps both
    assert collapse([1, 1, 0, 1, 1]) == (1, 1)
    assert collapse([1, 2, 1]) == (1, 2, 1)  # different labels need no blank
    assert collapse([2, 3, 3], blank=3) == (2,)


def test_alignments_of_a_repeat_all_hold_a_blank_between():
    assert alignments([1], T=2, num_classes=2) == [(0, 1), (1, 0), (1, 1)]
    assert alignments([1, 1], T=2, num_classes=2) == []  # no room for the blank
    for path in alignments([1, 1], T=5, num_classes=3):
        first = path.index(1)
        assert 0 in path[first:]  # a blank after the first 1 ...
        assert path[-1] == 1 or 1 in path[path.index(0, first) :]  # ... before the second
    # every path collapses to exactly one label sequence: the sets B⁻¹(l) partition C^T
    total = sum(
        len(alignments(l, 3, 3)) for n in range(4) for l in itertools.product((1, 2), repeat=n)
    )
    assert total == 3**3
    with pytest.raises(ValueError, match="at most 10"):
        alignments([1], T=30, num_classes=5)


# --- the loss: CTCLoss against the sum over alignments --------------------------------


@pytest.mark.parametrize("T, C, seed", TINY)
def test_ctc_loss_is_minus_log_of_the_sum_over_alignments(T, C, seed):
    log_probs = random_log_probs(T, C, seed)
    p = brute_force(log_probs)
    assert sum(p.values()) == pytest.approx(1.0)
    for labels, probability in p.items():
        if labels:  # CTCLoss takes one label at least here; () is the all-blank path
            assert ctc_probability(log_probs, labels) == pytest.approx(probability, rel=1e-9)
        total = sum(
            math.prod(log_probs[t, k].exp().item() for t, k in enumerate(path))
            for path in alignments(labels, T, C)
        )
        assert total == pytest.approx(probability, rel=1e-12)


def test_ctc_loss_of_the_tagger_reads_the_padded_targets():
    (inputs, lengths), targets = tagger_batch(0, seed=0, batch_size=8)
    model = CTCTagger(8)
    output = model(inputs, lengths)
    batch = shape_sequences(batch_size=8, seed=0)
    expected = torch.nn.CTCLoss()(
        output.log_probs, batch.targets, batch.input_lengths, batch.target_lengths
    )
    assert torch.equal(ctc_loss(output, targets), expected)
    losses = torch.nn.CTCLoss(reduction="none")(
        output.log_probs, batch.targets, batch.input_lengths, batch.target_lengths
    )
    assert ctc_loss(output, targets).item() == pytest.approx(
        (losses / batch.target_lengths).mean().item()
    )


# --- decoding --------------------------------------------------------------------------


@pytest.mark.parametrize("T, C, seed", TINY)
def test_best_path_is_the_collapse_of_the_most_probable_path(T, C, seed):
    log_probs = random_log_probs(T, C, seed)
    argmax = [max(range(C), key=lambda k: log_probs[t, k].item()) for t in range(T)]
    expected = []  # B by hand: a label is kept when it differs from the frame before
    for t, k in enumerate(argmax):
        if k != BLANK and (t == 0 or k != argmax[t - 1]):
            expected.append(k)
    decoded = best_path(log_probs.unsqueeze(1), torch.tensor([T]))
    assert decoded == [tuple(expected)]
    paths = itertools.product(range(C), repeat=T)
    best = max(paths, key=lambda path: sum(log_probs[t, k].item() for t, k in enumerate(path)))
    assert decoded == [collapse(best)]


def test_best_path_stops_at_each_input_length():
    log_probs = torch.full((4, 2, 3), -10.0)
    log_probs[:, :, 1] = 0.0  # label 1 everywhere
    log_probs[2:, 1, 0], log_probs[2:, 1, 1] = 0.0, -10.0  # sequence 1: blank from t = 2
    log_probs[3, 1, 2] = 5.0  # ... and label 2 at t = 3, past its length of 3
    assert best_path(log_probs, torch.tensor([4, 3])) == [(1,), (1,)]
    with pytest.raises(ValueError, match=r"\(T, N, C\)"):
        best_path(log_probs[:, 0], torch.tensor([4]))


@pytest.mark.parametrize("T, C, seed", TINY)
def test_wide_prefix_beam_search_finds_the_most_probable_labels(T, C, seed):
    log_probs = random_log_probs(T, C, seed)
    p = brute_force(log_probs)
    beam = prefix_beam_search(log_probs, beam_width=1000)
    assert beam[0][0] == max(p, key=p.get)
    assert {labels for labels, _ in beam} == {l for l, value in p.items() if value > 0}
    for labels, score in beam:  # no prefix was dropped, so every score is exact
        assert math.exp(score) == pytest.approx(p[labels], rel=1e-9)
    scores = [score for _, score in beam]
    assert scores == sorted(scores, reverse=True)


def test_beam_finds_what_best_path_misses():
    # two frames, p(blank) = 0.6 each: the best path "- -" has 0.36, but the paths
    # "a -", "- a", "a a" of the label "a" have 0.24 + 0.24 + 0.16 = 0.64
    log_probs = torch.tensor([[0.6, 0.4], [0.6, 0.4]]).log()
    assert best_path(log_probs.unsqueeze(1), torch.tensor([2])) == [()]
    (top, score), (second, _) = prefix_beam_search(log_probs, beam_width=4)
    assert (top, second) == ((1,), ())
    assert math.exp(score) == pytest.approx(0.64)
    assert prefix_beam_search(log_probs, beam_width=2)[0][0] == (1,)
    assert prefix_beam_search(log_probs, beam_width=1)[0][0] == ()  # "a" dropped after t = 0


def test_prefix_beam_search_checks_its_arguments():
    with pytest.raises(ValueError, match=r"\(T, C\)"):
        prefix_beam_search(torch.zeros(3, 1, 2))
    with pytest.raises(ValueError, match="beam_width >= 1"):
        prefix_beam_search(torch.zeros(3, 2), beam_width=0)


# --- scoring ---------------------------------------------------------------------------


def test_edit_distance_equals_rapidfuzz():
    levenshtein = pytest.importorskip(
        "rapidfuzz.distance.Levenshtein", reason="rapidfuzz (an nbgrader dependency) is the oracle"
    )
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        a = tuple(
            torch.randint(1, 4, (int(torch.randint(0, 7, (), generator=g)),), generator=g).tolist()
        )
        b = tuple(
            torch.randint(1, 4, (int(torch.randint(0, 7, (), generator=g)),), generator=g).tolist()
        )
        assert edit_distance(a, b) == levenshtein.distance(a, b)
    assert edit_distance((1, 2, 3), (1, 2, 3)) == 0
    assert edit_distance((1, 1), (1,)) == 1


def test_label_error_rate_counts_edits_per_reference_label():
    refs = [(1, 2, 3), (4,)]
    assert label_error_rate(refs, refs) == 0.0
    assert label_error_rate([(1, 3), (4, 4)], refs) == 2 / 4  # a deletion, an insertion
    assert label_error_rate([(), ()], refs) == 1.0


# --- the shapes task and the tagger ----------------------------------------------------


def test_shapes_task_draws_the_labels_at_their_spans():
    batch = shape_sequences(batch_size=50, seed=3, noise_std=0.0)
    assert isinstance(batch, CTCBatch)
    T, N, _ = batch.inputs.shape
    assert T == batch.input_lengths.max() and N == 50
    x = batch.inputs[:, :, 0]
    for n in range(N):
        S_n, T_n = int(batch.target_lengths[n]), int(batch.input_lengths[n])
        assert 1 <= S_n <= 3 and (batch.targets[n, S_n:] == BLANK).all()
        assert (batch.targets[n, :S_n] != BLANK).all() and (batch.spans[n, S_n:] == -1).all()
        drawn = torch.zeros(T, dtype=torch.bool)
        previous_stop = 0
        for s in range(S_n):
            start, stop = batch.spans[n, s].tolist()
            assert 1 <= start - previous_stop <= 3 and 3 <= stop - start <= 6  # gap, duration
            label = int(batch.targets[n, s])
            assert torch.equal(x[start:stop, n], shape(label, stop - start))
            drawn[start:stop] = True
            previous_stop = stop
        assert 1 <= T_n - previous_stop <= 3  # silence after the last shape
        assert (x[~drawn, n] == 0).all()  # silence and padding
    assert references(batch)[0] == tuple(batch.targets[0, : batch.target_lengths[0]].tolist())


def test_shapes_task_is_seeded_and_checks_its_arguments():
    a, b = shape_sequences(batch_size=4, seed=1), shape_sequences(batch_size=4, seed=1)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a.inputs, shape_sequences(batch_size=4, seed=2).inputs[: len(a.inputs)])
    assert shape(3, 3).tolist() == [-1.0, 0.0, 1.0] and shape(4, 2).tolist() == [1.0, -1.0]
    with pytest.raises(ValueError, match="expected a label id"):
        shape(0, 3)
    with pytest.raises(ValueError, match="expected lowest gap >= 1"):
        shape_sequences(batch_size=4, seed=0, gaps=(0, 2))


@pytest.mark.parametrize("bidirectional", [True, False])
def test_only_the_bidirectional_tagger_reads_the_future(bidirectional):
    torch.manual_seed(0)
    variant = "bidirectional" if bidirectional else "unidirectional"
    model = CTCTagger(HIDDEN_SIZE[variant], bidirectional).eval()
    x = torch.randn(12, 2, 1)
    later = x.clone()
    later[8:] += 1.0  # change the future of frame 7
    lengths = torch.tensor([12, 12])
    with torch.no_grad():
        y, y_later = model(x, lengths).log_probs, model(later, lengths).log_probs
    assert y.shape == (12, 2, 5)
    assert torch.allclose(y.exp().sum(-1), torch.ones(12, 2))
    changed = (y[:8] - y_later[:8]).abs().max().item()
    assert changed > 1e-4 if bidirectional else changed == 0.0
    params = {
        v: sum(p.numel() for p in CTCTagger(HIDDEN_SIZE[v], v == "bidirectional").parameters())
        for v in HIDDEN_SIZE
    }
    assert abs(params["unidirectional"] / params["bidirectional"] - 1) < 0.01
