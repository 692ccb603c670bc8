"""Every claim of chapter 6 (book/06_encoder_decoder.md), asserted on the same runs.

The chapter trains its models with one ``length_sweep`` call; the fixture below makes
exactly the same call, so these tests see the numbers the reader sees.
"""

import numpy as np
import pytest
import torch

from lstm_ref.experiments.decoding import (
    bleu_signature,
    compare_decoders,
    corpus_bleu,
    held_out_set,
    sequence_log_prob,
)
from lstm_ref.experiments.seq2seq import (
    attention_map,
    bottleneck_variants,
    length_sweep,
    parameter_count,
    sequence_loss,
    train_translator,
)
from lstm_ref.nn import Seq2Seq
from lstm_ref.nn.attention import AdditiveAttention, DotAttention
from lstm_ref.tasks import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, decode_digits

SEEDS = {"attention": (0, 1), "plain, wider": (0,), "plain": (0, 1)}  # as the chapter
RUNS = [(name, seed) for name, seeds in SEEDS.items() for seed in seeds]
MAP_LENGTH = 10  # the chapter's heatmap


@pytest.fixture(scope="module")
def results():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the chapter does
    try:
        variants = bottleneck_variants(hidden_size=64)
        yield length_sweep(variants, seeds=SEEDS, steps=800, batch_size=64)
    finally:
        torch.set_num_threads(threads)


def accuracy(results, name, seed, field, length):
    measured = results[name, seed][1]
    return getattr(measured, field)[measured.lengths.index(length)]


def mean_accuracy(results, name, field, length):
    seeds = [seed for n, seed in RUNS if n == name]
    return np.mean([accuracy(results, name, seed, field, length) for seed in seeds])


def test_sequence_loss_is_cross_entropy_over_real_tokens():
    logits = torch.randn(4, 3, 13, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([[5, 6, 7], [2, 8, PAD_ID], [PAD_ID, 2, PAD_ID], [PAD_ID] * 3])
    real = target != PAD_ID
    log_p = logits.log_softmax(-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(sequence_loss(logits, target), -log_p[real].mean())


def test_scaled_dot_and_additive_scores_are_as_written():
    T, S, N, H = 3, 5, 2, 8
    g = torch.Generator().manual_seed(0)
    s, h = torch.randn(T, N, H, generator=g), torch.randn(S, N, H, generator=g)
    dot = torch.einsum("tnh,snh->tns", s, h)  # s_t · h_j
    for scaled, scores in ((False, dot), (True, dot / H**0.5)):
        _, weights = DotAttention(H, scaled=scaled)(s, h)
        torch.testing.assert_close(weights, scores.softmax(-1))
    additive = AdditiveAttention(H)
    W = torch.cat([additive.W_q.weight, additive.W_k.weight], dim=1)  # Luong's concat W
    queries = s.unsqueeze(2).expand(T, N, S, H)  # s_t
    keys = h.permute(1, 0, 2).unsqueeze(0).expand(T, N, S, H)  # h_j
    both = torch.cat([queries, keys], dim=-1)  # [s_t; h_j]
    with torch.no_grad():
        concat = additive.v(torch.tanh(both @ W.T + additive.W_k.bias)).squeeze(-1)
        _, weights = additive(s, h)
    torch.testing.assert_close(weights, concat.softmax(-1))


def test_dot_product_variance_grows_with_the_width():
    g = torch.Generator().manual_seed(0)
    for H in (16, 256):
        q, k = torch.randn(20_000, H, generator=g), torch.randn(20_000, H, generator=g)
        variance = (q * k).sum(-1).var().item()
        assert abs(variance / H - 1) < 0.05  # var(s·h) = H, so s·h/√H has variance 1


def test_context_is_a_fixed_number_of_values_per_string():
    model = Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, embed_size=16, hidden_size=64)
    for length in (1, 12):
        src = torch.full((length, 1), 5)
        _, (h, c), _ = model.encoder(src)
        assert h.numel() + c.numel() == 128  # the chapter's state_numbers


def test_plain_model_reverses_short_strings(results):
    for seed in (0, 1):
        for length in (1, 2, 3, 4):
            assert accuracy(results, "plain", seed, "sequence", length) >= 0.95


def test_plain_model_falls_steadily_with_length(results):
    means = [mean_accuracy(results, "plain", "sequence", L) for L in range(4, 13)]
    assert all(later <= earlier + 0.02 for earlier, later in zip(means, means[1:]))
    assert means[0] - means[-1] >= 0.7
    for seed in (0, 1):
        assert accuracy(results, "plain", seed, "sequence", 12) <= 0.3


def test_plain_model_gets_most_digits_but_few_strings_right_at_12(results):
    token = mean_accuracy(results, "plain", "token", 12)
    assert token >= 0.5
    assert token >= mean_accuracy(results, "plain", "sequence", 12) + 0.3


def test_wider_plain_model_has_as_many_parameters_and_still_falls(results):
    wide = parameter_count(results["plain, wider", 0][0])
    attention = parameter_count(results["attention", 0][0])
    plain = parameter_count(results["plain", 0][0])
    assert 0.95 * attention <= wide <= attention
    assert plain < 0.8 * attention
    assert accuracy(results, "plain, wider", 0, "sequence", 12) <= 0.3


def test_attention_holds_at_every_length_and_seed(results):
    for seed in (0, 1):
        assert min(results["attention", seed][1].sequence) >= 0.9


def test_attention_weights_form_an_anti_diagonal(results):
    model = results["attention", 0][0]
    source, output, weights = attention_map(model, MAP_LENGTH)
    assert output == source[::-1]
    digits = weights[:MAP_LENGTH]  # rows of the digits; the last row is EOS
    mirrored = digits[torch.arange(MAP_LENGTH), MAP_LENGTH - 1 - torch.arange(MAP_LENGTH)]
    assert (digits.argmax(-1) == MAP_LENGTH - 1 - torch.arange(MAP_LENGTH)).all()
    assert mirrored.min() >= 0.5
    assert weights[MAP_LENGTH].max() < digits.max(-1).values.min()  # EOS spreads out


def test_exposure_bias_gap_grows_with_length_for_the_plain_model(results):
    gap_12 = mean_accuracy(results, "plain", "forced_token", 12) - mean_accuracy(
        results, "plain", "token", 12
    )
    gap_4 = mean_accuracy(results, "plain", "forced_token", 4) - mean_accuracy(
        results, "plain", "token", 4
    )
    assert gap_12 >= 0.1
    assert abs(gap_4) <= 0.01


def test_attention_model_has_no_exposure_bias_gap(results):
    for seed in (0, 1):
        measured = results["attention", seed][1]
        gaps = np.subtract(measured.forced_token, measured.token)
        assert np.abs(gaps).max() <= 0.02


# Beam search and BLEU: the chapter decodes its held-out set with the plain models of both
# seeds and the attention model of seed 0, then an early plain model (100 steps).

BEAM_RUNS = [("plain", 0), ("plain", 1), ("attention", 0)]


@pytest.fixture(scope="module")
def decoded(results):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        held_out = held_out_set(examples=400)
        runs = {run: compare_decoders(results[run][0], held_out) for run in BEAM_RUNS}
        early, _ = train_translator(None, seed=0, steps=100)
        runs["early", 0] = compare_decoders(early, held_out, widths=(1, 2, 4, 8, 16))
        yield held_out, runs
    finally:
        torch.set_num_threads(threads)


def beam_run(decodings, K, alpha=0.0):
    return next(d for d in decodings[1:] if d.width == K and d.alpha == alpha)


def test_beam_of_width_one_is_greedy_on_the_trained_models(decoded):
    _, runs = decoded
    for decodings in runs.values():
        for alpha in (0.0, 1.0):
            assert beam_run(decodings, 1, alpha).hypotheses == decodings[0].hypotheses


def test_the_chapters_example_string_differs_between_greedy_and_beam(results, decoded):
    held_out, _ = decoded
    model, max_len = results["plain", 0][0], held_out.src.shape[0] + 5
    args = (held_out.src, BOS_ID, EOS_ID, max_len)
    greedy = model.greedy_decode(*args, src_lengths=held_out.lengths)
    beam = model.beam_decode(*args, beam_width=4, src_lengths=held_out.lengths)
    differ = [n for n in range(held_out.src.shape[1])
              if decode_digits(greedy[:, n]) != decode_digits(beam.tokens[:, n])]  # fmt: skip
    both_wrong = [n for n in differ if decode_digits(held_out.tgt_out[:, n]) not in (
        decode_digits(greedy[:, n]), decode_digits(beam.tokens[:, n]))]  # fmt: skip
    assert both_wrong  # the chapter prints the first: both wrong, the beam's more probable
    n = both_wrong[0]
    assert sequence_log_prob(model, held_out, greedy)[n] < beam.log_prob[n]


def test_beam_changes_nothing_for_the_attention_model(decoded):
    _, runs = decoded
    attention = runs["attention", 0]
    assert attention[0].exact >= 0.99
    for d in attention[1:]:
        assert d.hypotheses == attention[0].hypotheses


def test_beam_helps_the_plain_models_a_little(decoded):
    _, runs = decoded
    for seed in (0, 1):
        greedy, eight = runs["plain", seed][0], beam_run(runs["plain", seed], 8)
        assert eight.bleu >= greedy.bleu + 0.5
        assert greedy.exact < eight.exact <= greedy.exact + 0.1  # "a little"
        for K in (2, 4, 8):
            assert beam_run(runs["plain", seed], K).bleu >= greedy.bleu


def test_plain_models_errors_are_model_errors_not_search_errors(decoded):
    _, runs = decoded
    plain = [runs["plain", seed] for seed in (0, 1)]
    wrong_greedy = sum(int((~run[0].exact_each).sum()) for run in plain)
    wrong_eight = sum(int((~beam_run(run, 8).exact_each).sum()) for run in plain)
    search_greedy = sum(run[0].search_errors for run in plain)
    search_eight = sum(beam_run(run, 8).search_errors for run in plain)
    assert search_greedy <= 0.25 * wrong_greedy  # "only ... are search errors"
    assert search_eight < search_greedy
    assert wrong_eight > 5 * search_greedy  # still many wrong outputs after the beam


def test_mean_model_score_rises_with_width_and_a_wider_beam_is_rarely_worse(decoded):
    held_out, runs = decoded
    worse = 0
    for run in BEAM_RUNS:
        decodings = runs[run]
        means = [decodings[0].log_prob.mean()] + [
            beam_run(decodings, K).log_prob.mean() for K in (2, 4, 8)
        ]
        assert all(later >= earlier - 1e-4 for earlier, later in zip(means, means[1:]))
        for K in (2, 4, 8):
            worse += int((beam_run(decodings, K).log_prob < decodings[0].log_prob - 1e-4).sum())
    assert worse <= 0.01 * 3 * len(BEAM_RUNS) * len(held_out.lengths)  # "rare"


def test_length_penalty_barely_matters_for_the_trained_models(decoded):
    held_out, runs = decoded
    changed = 0
    for run in BEAM_RUNS:
        for K in (2, 4, 8):
            plain, penalised = beam_run(runs[run], K), beam_run(runs[run], K, 1.0)
            changed += sum(a != b for a, b in zip(plain.hypotheses, penalised.hypotheses))
        for d in runs[run]:
            assert abs(d.length_ratio - 1) <= 0.01  # outputs as long as the references
    assert changed <= 0.01 * 3 * len(BEAM_RUNS) * len(held_out.lengths)


def test_early_model_shows_the_length_bias_and_the_penalty_corrects_it(decoded):
    _, runs = decoded
    early = runs["early", 0]
    greedy, k16, k16_penalised = early[0], beam_run(early, 16), beam_run(early, 16, 1.0)
    assert greedy.length_ratio < 0.98  # "already too short"
    assert k16.length_ratio < greedy.length_ratio  # a wide beam makes them shorter
    assert k16_penalised.length_ratio > greedy.length_ratio  # α = 1 lengthens them
    assert k16_penalised.bleu > k16.bleu  # and scores higher


def test_a_beam_of_eight_costs_more_cpu_than_greedy(decoded):
    _, runs = decoded
    for run in BEAM_RUNS:
        assert beam_run(runs[run], 8).cpu_seconds > 1.5 * runs[run][0].cpu_seconds


def test_bleu_is_sacrebleu_on_digit_tokens():
    references = ["1 2 3 4 5", "6 7 8 9"]
    assert corpus_bleu(references, references).score == pytest.approx(100)
    short = corpus_bleu(["1 2 3 4", "6 7 8 9"], references)
    assert short.sys_len == 8 and short.ref_len == 9
    assert short.bp == pytest.approx(np.exp(1 - 9 / 8))  # brevity penalty e^(1 - r/c)
    assert short.score == pytest.approx(100 * short.bp)  # every n-gram matches
    assert "tok:none" in bleu_signature()
    joined = corpus_bleu(["12345", "6789"], ["12345", "6788"])  # one token a string
    assert joined.sys_len == 2 and joined.counts[0] == 1
