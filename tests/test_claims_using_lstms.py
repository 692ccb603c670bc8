"""Every claim of chapter 7 (book/07_using_lstms.md), asserted on the same runs.

The fixtures make the chapter's calls with the chapter's seeds, so these tests see
the numbers the reader sees. The generator and the scoring get plain-loop oracles.
"""

import numpy as np
import pytest
import torch

from lstm_ref.experiments.forecasting import (
    FORECASTERS,
    alarms_per_shift,
    forecaster_runs,
    persistence_residuals,
    runs,
)
from lstm_ref.experiments.text import (
    KINDS,
    NEGATIVE,
    NOT_ID,
    PAD_ID,
    POSITIVE,
    WORDS,
    classifier_runs,
    negation_sentences,
)
from lstm_ref.params import param_count

SEEDS = (0, 1)
CLEAN = "LSTM, clean training data"


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the chapter does
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def forecasts(one_thread):
    results = {}
    for name in FORECASTERS:  # one chapter cell per forecaster
        results |= forecaster_runs([name], seeds=SEEDS)
    return results


@pytest.fixture(scope="module")
def text(one_thread):
    return classifier_runs(("bow", "lstm", "gru"), seeds=SEEDS)


def mean(forecasts, name, get):
    return np.mean([get(forecasts[name, seed]) for seed in SEEDS])


# --- the generator and the scoring, against plain loops -------------------------------


def test_sentences_follow_the_rule():
    batch = negation_sentences(batch_size=500, seed=7)
    sentiment = {WORDS.index(w): 1 for w in POSITIVE} | {WORDS.index(w): 0 for w in NEGATIVE}
    for n in range(500):
        words = batch.tokens[: batch.lengths[n], n].tolist()
        assert PAD_ID not in words and (batch.tokens[batch.lengths[n] :, n] == PAD_ID).all()
        where = [i for i, w in enumerate(words) if w in sentiment]
        assert len(where) == 1
        p = where[0]
        negated = p > 0 and words[p - 1] == NOT_ID
        assert batch.label[n] == sentiment[words[p]] ^ negated
        assert words.count(NOT_ID) == (0 if KINDS[batch.kind[n]] == "plain" else 1)
        assert negated == (KINDS[batch.kind[n]] == "negated")


def test_runs_equals_a_plain_loop():
    for seed in range(20):
        mask = torch.rand(30, generator=torch.Generator().manual_seed(seed)) < 0.4
        expected, start = [], None
        for t, on in enumerate(mask.tolist() + [False]):
            if on and start is None:
                start = t
            if not on and start is not None:
                expected.append((start, t - 1))
                start = None
        assert runs(mask) == expected


def test_bag_of_words_is_blind_to_order_and_the_lstm_is_not(text):
    batch = negation_sentences(batch_size=64, seed=11)
    shuffled = batch.tokens.clone()
    g = torch.Generator().manual_seed(0)
    for n in range(64):
        L = int(batch.lengths[n])
        shuffled[:L, n] = shuffled[torch.randperm(L, generator=g), n]
    bow, lstm = text["bow", 0][0], text["lstm", 0][0]
    with torch.no_grad():
        assert torch.equal(bow(batch.tokens, batch.lengths), bow(shuffled, batch.lengths))
        difference = lstm(batch.tokens, batch.lengths) - lstm(shuffled, batch.lengths)
    assert difference.abs().max() > 0.1


# --- forecasting ---------------------------------------------------------------------


def test_lstm_forecast_beats_persistence_and_nears_the_noise_floor(forecasts):
    lstm_std = mean(forecasts, "LSTM", lambda run: run.validation_std)
    persistence_std = persistence_residuals().std().item()
    assert lstm_std <= 0.6 * persistence_std
    assert lstm_std <= 0.15
    noise = 0.1  # the generator's noise_std
    assert 1 - (lstm_std**2 - noise**2) / (persistence_std**2 - noise**2) >= 0.7
    for seed in SEEDS:  # nothing beats the noise σ = 0.1 on held-out data
        assert forecasts["LSTM", seed].validation_std > 0.1


def test_detector_finds_the_anomalies_and_its_alarms_are_real(forecasts):
    for seed in SEEDS:
        found = forecasts["LSTM", seed].detection
        assert found.events >= 50
        assert found.recall >= 0.9
        assert found.precision >= 0.85


def test_detector_finds_events_not_every_anomalous_step(forecasts):
    for seed in SEEDS:
        found = forecasts["LSTM", seed].detection
        assert found.flags[found.anomalies].float().mean() < 0.5
    per_shift = [c for s in SEEDS for c in alarms_per_shift(forecasts["LSTM", s].detection)]
    assert len(alarms_per_shift(forecasts["LSTM", 0].detection)) >= 20
    assert sum(c == 2 for c in per_shift) >= 0.75 * len(per_shift)


def test_training_with_anomalies_left_in_cuts_false_alarms(forecasts):
    clean_std = mean(forecasts, CLEAN, lambda run: run.validation_std)
    assert clean_std <= 1.05 * mean(forecasts, "LSTM", lambda run: run.validation_std)
    for seed in SEEDS:
        clean, lstm = forecasts[CLEAN, seed].detection, forecasts["LSTM", seed].detection
        assert clean.precision < lstm.precision
        assert clean.false_alarms > lstm.false_alarms
    total = sum(forecasts[CLEAN, s].detection.false_alarms for s in SEEDS)
    in_window = sum(forecasts[CLEAN, s].detection.false_alarms_in_window for s in SEEDS)
    assert in_window >= 0.8 * total


def test_gru_forecaster_matches_the_lstm(forecasts):
    lstm_std = mean(forecasts, "LSTM", lambda run: run.validation_std)
    gru_std = mean(forecasts, "GRU", lambda run: run.validation_std)
    assert abs(gru_std / lstm_std - 1) < 0.1
    for seed in SEEDS:
        found = forecasts["GRU", seed].detection
        assert found.recall >= 0.9 and found.precision >= 0.85


def test_lstm_state_is_fixed_in_size(forecasts):
    lstm = forecasts["LSTM", 0].model.rnn
    for length in (10, 1000):
        _, (h, c) = lstm(torch.zeros(length, 1, 1))
        assert h.numel() + c.numel() == 2 * lstm.hidden_size == 64


# --- word order ----------------------------------------------------------------------


def test_bag_of_words_reads_plain_sentences_but_not_negation(text):
    for seed in SEEDS:
        scores = text["bow", seed][1]
        assert scores["plain"] >= 0.95
        assert 0.4 <= scores["with not"] <= 0.6
        assert scores["not elsewhere"] > scores["negated"]


def test_lstm_and_gru_read_every_kind(text):
    for name in ("lstm", "gru"):
        for seed in SEEDS:
            scores = text[name, seed][1]
            assert min(scores[group] for group in [*KINDS, "all"]) >= 0.97


def test_gru_layer_has_three_quarters_of_the_lstm_parameters(text):
    lstm = sum(p.numel() for p in text["lstm", 0][0].rnn.parameters())
    gru = sum(p.numel() for p in text["gru", 0][0].rnn.parameters())
    assert lstm == param_count("LSTM", 16, 32) and gru == param_count("GRU", 16, 32)
    assert 4 * gru == 3 * lstm
