"""Every claim of chapter 5 (book/05_language_models.md), asserted on the same runs.

The fixtures make the chapter's calls with the chapter's seeds, so these tests see the
numbers the reader sees. The corpus is read from this Python's standard library, which
differs a little between versions, so the tests assert the relations the prose states,
with margins, not the numbers themselves.
"""

import math
import time
from dataclasses import replace

import pytest
import torch

from lstm_ref.experiments import language_model as lm
from lstm_ref.experiments import pool
from lstm_ref.experiments.language_model import runs as lm_runs  # its schedule's state
from lstm_ref.experiments.models import torch_threads

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ngram_valid(one_thread):
    return {n: lm.bits(lm.ngram_log_probs(n, "valid")) for n in range(1, lm.MAX_ORDER + 1)}


@pytest.fixture(scope="module")
def best_order(ngram_valid):
    return min(ngram_valid, key=ngram_valid.get)


@pytest.fixture(scope="module")
def main(one_thread):
    main, *_ = lm.language_models([lm.MAIN, *lm.comparisons().values()], seed=0)  # as ch. 5
    return main


@pytest.fixture(scope="module")
def comparison(main):
    results = {}
    for (batches, L), recipe in lm.comparisons().items():
        run = lm.language_model(recipe, seed=0)  # trained beside the main model
        windows = lm.window_log_probs(run.model, lm.corpus().valid_ids, L)
        results[batches, L] = (run, lm.bits(run.valid_log_probs), lm.bits(windows.flatten()))
    return results


# --- the corpus ------------------------------------------------------------------------


def test_corpus_size_split_and_vocabulary():
    corpus = lm.corpus()
    assert len(corpus.text) == lm.CORPUS_CHARS == 1_000_000
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (900_000, 50_000, 50_000)
    assert corpus.train + corpus.valid + corpus.test == corpus.text
    assert set(corpus.vocab.chars) <= set("\n" + "".join(map(chr, range(32, 127))))
    assert lm.replaced_chars() < 100  # "almost all ASCII"
    files = lm.files_of("text")
    assert files == sorted(files) and files[0] == lm.files_of("train")[0]
    # "the validation text comes from a file whose beginning is in the training text"
    assert lm.files_of("valid")[0] == lm.files_of("train")[-1]


def test_uniform_model_needs_log2_v_bits():
    V = len(lm.corpus().vocab)
    logits = torch.zeros(5, 2, V)
    targets = torch.randint(V, (5, 2), generator=torch.Generator().manual_seed(0))
    from lstm_ref.text import bits_per_char, perplexity

    assert math.isclose(bits_per_char(logits, targets), math.log2(V), rel_tol=1e-6)
    assert math.isclose(perplexity(logits, targets), V, rel_tol=1e-5)


# --- baselines and the LSTM ------------------------------------------------------------


def test_each_character_of_context_helps_less_and_less(ngram_valid, best_order):
    bits = [ngram_valid[n] for n in sorted(ngram_valid)]
    gains = [a - b for a, b in zip(bits, bits[1:])]
    assert all(g > 0 for g in gains)  # each character of context helps
    assert all(g2 < g1 for g1, g2 in zip(gains[1:], gains[2:]))  # less and less
    assert best_order == lm.MAX_ORDER  # the best order is the highest we fit


def test_lstm_and_ngram_leave_the_unigram_far_behind_and_are_close(main, best_order):
    for part in ("valid", "test"):
        unigram = lm.bits(lm.ngram_log_probs(1, part))
        ngram = lm.bits(lm.ngram_log_probs(best_order, part))
        lstm = getattr(main, f"{part}_bits")
        assert max(ngram, lstm) < unigram - 2.0  # "far behind"
        assert abs(ngram - lstm) < 0.25  # "it is close"


def test_ngram_wins_inside_names_and_lstm_everywhere_else(main, best_order):
    corpus = lm.corpus()
    for part in ("valid", "test"):
        lstm_lp = getattr(main, f"{part}_log_probs")
        ngram_lp = lm.ngram_log_probs(best_order, part)
        classes = lm.word_classes(getattr(corpus, part))
        assert sum(m.sum() for m in classes.values()) == len(getattr(corpus, part)) - 1

        def margin(kind, classes=classes, lstm_lp=lstm_lp, ngram_lp=ngram_lp):
            return lm.bits(ngram_lp, classes[kind]) - lm.bits(lstm_lp, classes[kind])

        assert margin("inside a word") < -0.05  # the n-gram is better inside a name
        assert margin("first of a word") > 0.1  # the LSTM on the first character
        assert margin("not in a word") > 0.05  # and on everything else


def test_word_classes_equal_a_plain_loop():
    text = "x = foo_1(ab) + 2\n"
    classes = lm.word_classes(text)
    kinds = "".join(
        "i" if classes["inside a word"][t] else "f" if classes["first of a word"][t] else "o"
        for t in range(len(text) - 1)
    )
    assert kinds == "ooofiiiiofioooofo"  # for text[1:] = " = foo_1(ab) + 2\n"


def test_a_run_repeats_bit_for_bit_on_any_thread_count(one_thread):
    """The chapter's model trains on up to MAX_THREADS threads, the rest on one each:
    "One core gives the same numbers, only later" holds only if the count changes no bit."""
    recipe = replace(lm.MAIN, steps=4)
    runs = {}
    for threads in range(1, lm.MAX_THREADS + 1):  # the counts it may train with
        with torch_threads(threads):
            runs[threads] = lm.train_language_model(recipe, seed=0)
    for threads, run in runs.items():
        assert run.losses == runs[1].losses, f"{threads} threads"
        for p, q in zip(run.model.parameters(), runs[1].model.parameters(), strict=True):
            assert torch.equal(p, q), f"{threads} threads"


@pytest.mark.parametrize("workers", [1, 2, 4, 5, 16])
def test_only_the_main_model_trains_alone_first(workers):
    recipes = [lm.MAIN, *lm.comparisons().values()]
    expected = [lm.MAIN] if workers > 1 else []  # one core: everything in turn, here
    assert lm.trains_alone(recipes, workers) == expected
    comparisons = recipes[1:]
    assert lm.trains_alone(comparisons, workers) == []  # equal runs: none goes first
    assert lm.trains_alone([lm.MAIN], workers) == []  # alone anyway


SMALL = replace(lm.MAIN, steps=3, hidden_size=8, embedding_dim=4, batch_size=4, bptt=8)
BIG = replace(SMALL, steps=6, hidden_size=32)  # more work than the two small runs together


def test_a_run_repeats_bit_for_bit_when_its_thread_count_changes_midway(one_thread):
    """The chapter's model starts on the core the workers leave free and takes both
    when they finish: changing the count between steps must change no bit either."""
    recipe, counts = replace(lm.MAIN, steps=8), iter([1, 2, 4, 3, 2, 1, 4, 1])  # per step
    assert lm.MAX_THREADS == 4  # the counts above go up to it
    with torch_threads(2):
        switched = lm.train_language_model(recipe, 0, threads=lambda: next(counts))
        assert torch.get_num_threads() == 2  # restored
    fixed = lm.train_language_model(recipe, 0)
    assert switched.losses == fixed.losses
    for p, q in zip(switched.model.parameters(), fixed.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_started_runs_train_in_a_worker_and_the_big_one_here_on_the_free_cores(
    one_thread, monkeypatch
):
    small = [replace(SMALL, lr=lr) for lr in (0.01, 0.02)]  # two distinct recipes
    seed = 7
    lm.start_language_models([BIG, *small], seed, workers=2)
    assert set(lm_runs._training) == {(r, seed) for r in small}  # the big one was not started
    counts, train_here = [], lm.train_language_model

    def spy(recipe, seed, threads):  # records what the run here was offered
        counts.append(threads())  # while both small runs are in the worker: one core
        while pool.busy(lm_runs._training.values()):
            time.sleep(0.01)
        counts.append(threads())  # once they are done: both cores
        return train_here(recipe, seed, threads)

    monkeypatch.setattr(lm_runs, "train_language_model", spy)
    runs = lm.language_models([BIG, *small], seed, workers=2)
    assert counts == [1, 2]
    assert lm_runs._training == {}  # collected
    for run in runs[1:]:  # scored in the worker, so the chapter does not wait for it
        assert "valid_log_probs" in run.__dict__
    monkeypatch.undo()
    for recipe, run in zip([BIG, *small], runs, strict=True):  # the same as here, in turn
        alone = lm.train_language_model(recipe, seed)
        assert run.losses == alone.losses
        for p, q in zip(run.model.parameters(), alone.model.parameters(), strict=True):
            assert torch.equal(p, q)
    assert torch.equal(runs[1].valid_log_probs, lm.stream_log_probs(runs[1].model,
                                                                    lm.corpus().valid_ids))


@pytest.mark.parametrize("error", [RuntimeError("out of memory, say"), KeyboardInterrupt()],
                         ids=["error", "interrupt"])  # fmt: skip
def test_a_failed_run_here_ends_the_started_runs_and_trains_again_when_asked(
    one_thread, monkeypatch, error
):
    """A run here that raises, or the reader's interrupt (Jupyter's Ctrl-C) while it
    trains, ends the runs started in the workers and leaves nothing half-recorded."""
    small = [replace(SMALL, lr=lr) for lr in (0.03, 0.04)]
    seed = 8 if isinstance(error, RuntimeError) else 10

    def fail(recipe, seed, threads):
        raise error

    monkeypatch.setattr(lm_runs, "train_language_model", fail)
    with pytest.raises(type(error)):
        lm.language_models([BIG, *small], seed, workers=2)
    assert lm_runs._training == {} and not any((r, seed) in lm_runs._trained for r in small)
    assert pool._pools == {}  # the started runs were ended, not left training
    monkeypatch.undo()
    runs = lm.language_models([BIG, *small], seed, workers=2)
    assert [run.recipe for run in runs] == [BIG, *small]


def test_on_one_core_or_for_a_single_run_nothing_starts(one_thread, monkeypatch):
    small = [replace(SMALL, lr=lr) for lr in (0.05, 0.06)]
    lm.start_language_models([BIG, *small], seed=9, workers=1)
    assert lm_runs._training == {}
    lm.start_language_models([small[0]], seed=9, workers=2)  # no one to run beside
    assert lm_runs._training == {}
    offered, train_here = [], lm.train_language_model

    def spy(recipe, seed, threads):
        offered.append(threads)
        return train_here(recipe, seed, threads)

    monkeypatch.setattr(lm_runs, "train_language_model", spy)
    runs = lm.language_models([BIG, *small], seed=9, workers=1)  # all here, in turn
    assert [run.recipe for run in runs] == [BIG, *small]
    assert offered == [None, None, None]  # on the caller's thread count
    assert torch.get_num_threads() == 1


# --- truncated BPTT --------------------------------------------------------------------


def test_all_comparison_runs_cost_about_the_same(comparison):
    """Counted, not timed: each step's products come to the same FLOPs within 2 %
    (the runs differ only in the one product h_0 needs none of)."""
    flops = [lm.step_flops(run.recipe) for run, _, _ in comparison.values()]
    assert max(flops) < 1.02 * min(flops)
    for (_, L), (run, _, _) in comparison.items():
        assert run.recipe.batch_size * L == lm.CHARS_PER_STEP


def test_step_flops_count_the_lstm_layer_and_the_read_out():
    """2·MACs of the layer's products (input and recurrent, forward, ∂x-side and ∂W-side
    backward) and the read-out's; the backward skips ∂h_0, which nothing needs."""
    r = lm.comparison("carried", 8)
    L, N, H, D, V = r.bptt, r.batch_size, r.hidden_size, r.embedding_dim, len(lm.corpus().vocab)
    lstm = 3 * L * N * 4 * H * (D + H) - N * 4 * H * H
    assert lm.step_flops(r) == 2 * (lstm + 3 * L * N * H * V)
    doubled = replace(r, batch_size=2 * N)
    assert lm.step_flops(doubled) == 2 * lm.step_flops(r)


def test_carried_state_beats_random_windows_at_both_lengths(comparison):
    for L in lm.TRUNCATIONS:
        assert comparison["random", L][1] - comparison["carried", L][1] > 0.03


def test_carried_state_reaches_further_back_than_the_gradient(comparison):
    short = min(lm.TRUNCATIONS)
    _, stream, windows = comparison["carried", short]
    assert windows > stream + 0.2  # reading from zeros every L characters hurts
    _, stream, windows = comparison["random", short]
    assert stream < windows  # even the random-window model reads better as a stream


def test_longer_window_bought_nothing_here(comparison):
    short, long = lm.TRUNCATIONS
    carried_short, carried_long = comparison["carried", short][1], comparison["carried", long][1]
    assert abs(carried_short - carried_long) < 0.1  # "end within … of each other"
    assert carried_long > carried_short - 0.02  # and the longer one is not better


# --- sampling --------------------------------------------------------------------------


def test_samples_look_like_python_and_greedy_loops(main):
    samples = lm.samples(seed=0)
    assert set(samples) == set(lm.SAMPLERS)
    assert all(len(s) == lm.SAMPLE_LENGTH for texts in samples.values() for s in texts)
    assert len(set(samples["greedy"])) == 1  # greedy draws nothing at random
    period = lm.tail_period(samples["greedy"][0])
    assert period is not None and period < 50
    text = "".join(samples["τ = 1"])
    for piece in ("\n    ", "self.", "(", "#"):
        assert piece in text
    assert '"' in text or "'" in text


def test_temperature_trades_correctness_for_variety(main):
    share = {name: lm.known_word_share(texts) for name, texts in lm.samples(seed=0).items()}
    assert share["τ = 0.5"] > share["τ = 1"] > share["τ = 1.5"]
    assert share["τ = 1, top-k = 5"] > share["τ = 1"]
    assert share["τ = 1"] < 0.9  # "names that are often made up"


def test_tail_period_equals_a_plain_check():
    assert lm.tail_period("abc" + "xy" * 60) == 2
    assert lm.tail_period("ab" + " " * 120) == 1
    assert lm.tail_period("".join(chr(65 + i % 26) for i in range(150)), tail=30) == 26
    assert lm.tail_period("".join(chr(33 + i) for i in range(90)), tail=50) is None


# --- what the network learned ----------------------------------------------------------


def test_two_units_follow_the_layout_and_none_tracks_brackets(main):
    search = lm.unit_search(seed=0)
    r = {label: abs(search.best(label)[1]) for label in search.labels}
    assert 0.5 <= r["column"] < 0.8  # close to a position-in-line cell, not clean
    assert 0.5 <= r["string"] < 0.8
    for label in ("brackets", "comment", "indent"):
        assert r[label] < 0.5  # "the best units reach only …"


def test_column_unit_drops_at_newlines_and_runs_hotter_in_prose(main):
    search = lm.unit_search(seed=0)
    unit, r = search.best("column")
    value = search.cells[:, unit] * math.copysign(1, r)  # oriented so that r > 0
    newline = torch.tensor([ch == "\n" for ch in search.text])
    before = newline.roll(-1)  # the character before each newline
    column = search.labels["column"]
    assert value[newline].mean() < value[before].mean() - 0.5  # drops at each newline
    assert value[newline].mean() < value[column >= 30].mean() - 1.0  # grows along a line
    middle = (column >= 20) & (column <= 60)
    prose = (search.labels["string"] + search.labels["comment"]) > 0
    assert value[middle & prose].mean() > 1.3 * value[middle & ~prose].mean()


def test_correlations_equal_pearson_r():
    g = torch.Generator().manual_seed(0)
    states = torch.randn(200, 5, generator=g, dtype=torch.float64)
    label = states[:, 2] * 2 + 0.1 * torch.randn(200, generator=g, dtype=torch.float64)
    found = lm.correlations(states, label)
    for unit in range(5):
        expected = torch.corrcoef(torch.stack([states[:, unit], label]))[0, 1]
        assert torch.isclose(found[unit], expected)
    assert lm.correlations(torch.ones(10, 2), torch.arange(10.0)).eq(0).all()
