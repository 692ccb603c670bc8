"""Every claim of chapter 6 (book/06_encoder_decoder.md), asserted on the same runs.

The chapter trains its models with ``length_sweep`` one (variant, seed) at a time;
the fixture below makes exactly the same calls, so these tests see the numbers the
reader sees.
"""

import numpy as np
import pytest
import torch

from lstm_ref.experiments.seq2seq import (
    attention_map,
    bottleneck_variants,
    length_sweep,
    parameter_count,
    sequence_loss,
)
from lstm_ref.nn import Seq2Seq
from lstm_ref.nn.attention import AdditiveAttention, DotAttention
from lstm_ref.tasks import PAD_ID, VOCAB_SIZE

RUNS = [("plain", 0), ("plain", 1), ("attention", 0), ("attention", 1), ("plain, wider", 0)]
MAP_LENGTH = 10  # the chapter's heatmap


@pytest.fixture(scope="module")
def results():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the chapter does
    try:
        variants = bottleneck_variants(hidden_size=64)
        results = {}
        for name, seed in RUNS:
            results |= length_sweep({name: variants[name]}, seeds=(seed,), steps=800, batch_size=64)
        yield results
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
