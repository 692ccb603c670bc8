"""Every claim of chapter 7 (book/07_using_lstms.md), asserted on the same runs.

The fixtures make the chapter's calls with the chapter's seeds, so these tests see
the numbers the reader sees. The generator and the scoring get plain-loop oracles.
"""

import numpy as np
import pytest
import torch

from lstm_ref.experiments.ctc import tagger_runs
from lstm_ref.experiments.forecasting import (
    FORECASTERS,
    alarms_per_shift,
    forecaster_runs,
    persistence_residuals,
    runs,
)
from lstm_ref.experiments.real_series import (
    SEASON,
    airline_sarima,
    annual_growth,
    classical_forecasts,
    co2_data,
    holt_winters,
    lstm_runs,
    mae,
    rmse,
    seasonal_naive,
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
from lstm_ref.tasks.real import chronological_split

SEEDS = (0, 1)
CLEAN = "LSTM, clean training data"


@pytest.fixture(scope="module")
def forecasts(one_thread):
    return forecaster_runs(tuple(FORECASTERS), seeds=SEEDS)  # as the chapter


@pytest.fixture(scope="module")
def classical():
    return classical_forecasts()


@pytest.fixture(scope="module")
def real(one_thread):
    return lstm_runs(seeds={"levels": (0, 1, 2), "differences": (0, 1, 2, 3, 4)})


@pytest.fixture(scope="module")
def text(one_thread):
    return classifier_runs(("bow", "lstm", "gru"), seeds=SEEDS)


@pytest.fixture(scope="module")
def ctc(one_thread):
    results = tagger_runs(("bidirectional",), seeds=SEEDS)  # the chapter's two cells
    results |= tagger_runs(("unidirectional",), seeds=(0,))
    return results


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


# --- a real series: CO₂ at Mauna Loa -------------------------------------------------


def test_chronological_split_equals_a_plain_loop():
    for length, validation, test in [(10, 2, 3), (526, 72, 72), (3, 1, 1)]:
        split = chronological_split(length, validation=validation, test=test)
        parts = []
        for t in range(length):  # each step in exactly one set, in time order
            if t < length - validation - test:
                parts.append("train")
            elif t < length - test:
                parts.append("validation")
            else:
                parts.append("test")
        for name in ("train", "validation", "test"):
            assert list(range(length))[getattr(split, name)] == [
                t for t in range(length) if parts[t] == name
            ]
    with pytest.raises(ValueError, match="expected length > validation"):
        chronological_split(5, validation=2, test=3)


def test_errors_and_growth_equal_plain_loops():
    rng = np.random.default_rng(0)
    forecast, actual = rng.normal(size=50), rng.normal(size=50)
    squared = absolute = 0.0
    for f, a in zip(forecast, actual):
        squared += (f - a) ** 2
        absolute += abs(f - a)
    assert rmse(forecast, actual) == pytest.approx((squared / 50) ** 0.5, rel=1e-12)
    assert mae(forecast, actual) == pytest.approx(absolute / 50, rel=1e-12)
    t = np.arange(120)  # a slope of 0.1 a month on a yearly cycle rises 1.2 a year
    assert annual_growth(300 + 0.1 * t + np.sin(2 * np.pi * t / SEASON)) == pytest.approx(1.2)


def test_monthly_means_equal_a_plain_loop():
    from statsmodels.datasets import co2 as source

    weekly = source.load_pandas().data["co2"]
    co2, _ = co2_data()
    sums, counts = {}, {}
    for date, value in weekly.items():
        month = f"{date.year}-{date.month:02d}"
        if not np.isnan(value):
            sums[month] = sums.get(month, 0.0) + value
            counts[month] = counts.get(month, 0) + 1
    filled = 0
    for m, month in enumerate(co2.months):
        if month in counts:
            assert co2.values[m] == pytest.approx(sums[month] / counts[month], rel=1e-12)
        else:  # a gap: on the straight line between the nearest months with data
            filled += 1
            before = max(i for i in range(m) if co2.months[i] in counts)
            after = min(i for i in range(m, len(co2.months)) if co2.months[i] in counts)
            share = (m - before) / (after - before)
            expected = (1 - share) * co2.values[before] + share * co2.values[after]
            assert co2.values[m] == pytest.approx(expected, rel=1e-12)
    assert filled == co2.filled_months


def test_classical_forecasts_read_no_later_values():
    co2, split = co2_data()
    x = co2.values
    cut = split.test.start + 30  # change every month from here on
    later = x.copy()
    later[cut:] += 50.0
    for model in (seasonal_naive, holt_winters, airline_sarima):
        seen, changed = model(x, split), model(later, split)
        first = cut - split.test.start
        np.testing.assert_allclose(changed.validation, seen.validation, rtol=1e-9)
        kept = slice(0, first + 1)  # x̂_cut reads up to x_{cut-1}
        np.testing.assert_allclose(changed.one_step[kept], seen.one_step[kept], rtol=1e-9)
        assert np.abs(changed.one_step - seen.one_step).max() > 1.0  # later ones do change
        np.testing.assert_allclose(changed.multi_step, seen.multi_step, rtol=1e-9)


def test_seasonal_naive_repeats_last_year():
    co2, split = co2_data()
    x, T = co2.values, split.test.start
    naive = seasonal_naive(x, split)
    for h in range(len(naive.multi_step)):
        assert naive.multi_step[h] == x[T - SEASON + h % SEASON]
        assert naive.one_step[h] == x[T + h - SEASON]


def test_co2_series_is_as_the_chapter_describes():
    co2, split = co2_data()
    x = co2.values
    assert (co2.months[0], co2.months[-1], len(x)) == ("1958-03", "2001-12", 526)
    assert (co2.weeks, co2.missing_weeks, co2.filled_months) == (2284, 59, 5)
    assert [len(x[part]) for part in split] == [382, 72, 72]
    assert x[split.test].min() > x[split.train].max()  # every test month above
    assert annual_growth(x[split.test]) > 1.2 * annual_growth(x[split.train])


def forecasts_of(real, representation):
    """The Forecasts of every seed of the LSTM reading `representation`."""
    return [run.forecasts for (r, _), run in real.items() if r == representation]


def lstm_errors(real, representation, key):
    """One test error of every seed of the LSTM reading `representation`."""
    co2, split = co2_data()
    return [f.errors(co2.values[split.test])[key] for f in forecasts_of(real, representation)]


def test_sarima_wins_one_step_and_the_lstm_on_differences_ties_holt_winters(classical, real):
    co2, split = co2_data()
    actual = co2.values[split.test]
    one = {name: f.errors(actual)["one-step RMSE"] for name, f in classical.items()}
    lstm = lstm_errors(real, "differences", "one-step RMSE")
    assert one["SARIMA"] < 0.95 * min(lstm)  # below the LSTM's best seed
    assert 1 - one["SARIMA"] / np.mean(lstm) >= 0.08
    assert one["SARIMA"] < 0.95 * one["Holt–Winters"]
    assert abs(np.mean(lstm) / one["Holt–Winters"] - 1) < 0.06  # level with Holt–Winters
    assert max(lstm) < 0.25 * one["seasonal naive"]
    sigma = classical["SARIMA"].parameters["sigma2"] ** 0.5  # its own noise estimate
    assert abs(one["SARIMA"] / sigma - 1) < 0.1
    naive_bias = np.mean(actual - classical["seasonal naive"].one_step)
    assert abs(naive_bias / annual_growth(actual) - 1) < 0.1  # short by a year's growth


def test_lstm_on_levels_fails_beyond_the_training_range(classical, real):
    co2, split = co2_data()
    x = co2.values
    naive = classical["seasonal naive"].errors(x[split.test])["one-step RMSE"]
    assert min(lstm_errors(real, "levels", "one-step RMSE")) > 2 * naive
    levels, differences = forecasts_of(real, "levels"), forecasts_of(real, "differences")
    assert max(f.one_step.max() for f in levels) < x[split.test].max() - 5
    worst_difference = max(rmse(f.validation, x[split.validation]) for f in differences)
    for f in levels:  # the validation months choose differences, for every seed
        assert rmse(f.validation, x[split.validation]) > 3 * worst_difference
    steps = np.diff(x)
    in_training = steps[: split.train.stop - 1]
    in_test = steps[split.test.start - 1 :]
    assert in_training.min() <= in_test.min() and in_test.max() <= in_training.max()


def test_multi_step_errors_follow_the_extrapolated_slope(classical, real):
    co2, split = co2_data()
    x = co2.values
    multi = {name: f.errors(x[split.test])["multi-step RMSE"] for name, f in classical.items()}
    lstm = lstm_errors(real, "differences", "multi-step RMSE")
    assert multi["SARIMA"] < 0.9 * np.mean(lstm)
    assert np.mean(lstm) < 0.9 * multi["Holt–Winters"] < multi["seasonal naive"]
    assert max(lstm) > 2 * min(lstm)  # the seed matters
    hw = classical["Holt–Winters"]
    assert hw.parameters["smoothing_trend"] < 0.01  # a slope that never moves
    hw_growth = annual_growth(hw.multi_step)
    assert abs(hw_growth - annual_growth(x[split.train])) < 0.05  # the training average
    assert hw_growth < annual_growth(classical["SARIMA"].multi_step) < annual_growth(x[split.test])
    growth = [annual_growth(f.multi_step) for f in forecasts_of(real, "differences")]
    off = np.abs(np.array(growth) - annual_growth(x[split.test]))
    assert np.corrcoef(off, lstm)[0, 1] > 0.7


# --- labelling without alignments: CTC -----------------------------------------------


def test_bidirectional_ctc_tagger_learns_labels_without_alignments(ctc):
    for seed in SEEDS:
        scores = ctc["bidirectional", seed].scores
        assert scores.sequences == 300
        assert scores.greedy_error_rate <= 0.08
        assert scores.greedy_accuracy >= 0.85


def test_ctc_outputs_are_blank_dominated_spikes(ctc):
    for seed in SEEDS:
        emitted = ctc["bidirectional", seed].emissions
        assert emitted.peaked >= 0.8  # the largest y^t_k > 0.9 on most frames
        assert emitted.blank_frames >= 0.65  # the blank wins most frames
        assert emitted.frames_per_label <= 2.5  # a label wins only a frame or two


def test_prefix_beam_search_changes_little_on_peaked_outputs(ctc):
    for seed in SEEDS:
        scores = ctc["bidirectional", seed].scores
        assert scores.beam_error_rate <= scores.greedy_error_rate
        assert scores.greedy_error_rate - scores.beam_error_rate <= 0.015
        assert scores.beam_differs <= 0.03 * scores.sequences


def test_unidirectional_tagger_does_worse_at_equal_parameters(ctc):
    def size(variant):
        return sum(p.numel() for p in ctc[variant, 0].model.parameters())

    assert abs(size("unidirectional") / size("bidirectional") - 1) < 0.01
    uni = ctc["unidirectional", 0]
    bi = [ctc["bidirectional", seed] for seed in SEEDS]
    assert uni.scores.greedy_error_rate > 1.5 * max(run.scores.greedy_error_rate for run in bi)
    assert uni.emissions.peaked < min(run.emissions.peaked for run in bi) - 0.1
    assert uni.scores.beam_differs > 2 * max(run.scores.beam_differs for run in bi)
    assert uni.scores.beam_error_rate < uni.scores.greedy_error_rate


def test_unidirectional_spikes_wait_for_the_shape_and_bidirectional_ones_need_not(ctc):
    uni = ctc["unidirectional", 0].emissions
    bi = [ctc["bidirectional", seed].emissions for seed in SEEDS]
    assert uni.spike_before == 0.0  # it cannot name a shape before it starts
    assert uni.spike_position > max(e.spike_position for e in bi) + 0.1
    assert max(e.spike_before for e in bi) >= 0.3  # one seed fires before the shape ...
    assert min(e.spike_before for e in bi) == 0.0  # ... the other never does
