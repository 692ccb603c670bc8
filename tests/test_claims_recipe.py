"""Every claim of the practical recipe (book/recipe.md), asserted on the same runs.

The fixtures make the page's calls with the page's seeds, so these tests see the numbers
the reader sees, and hold them to the relations the prose states, with a margin. The
helpers that count (the loss floor, the padding) get plain-loop oracles, and the layers
get torch.nn as theirs.
"""

import math
from collections import Counter, defaultdict

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from lstm_ref.experiments import memory, recipe
from lstm_ref.experiments.memory import RECALL_TARGET, SEEDS, VOCAB_SIZE
from lstm_ref.nn import LSTM, RNN
from lstm_ref.params import param_count

pytestmark = pytest.mark.slow

CHANCE = 1 / VOCAB_SIZE


@pytest.fixture(scope="module")
def overfit():
    return {bug: [recipe.overfit_one_batch(bug, s) for s in SEEDS] for bug in recipe.BUGS}


@pytest.fixture(scope="module")
def sweep():
    return recipe.lr_sweep()


@pytest.fixture(scope="module")
def clips():
    return recipe.clip_runs()


@pytest.fixture(scope="module")
def curves():
    return recipe.init_curves()


@pytest.fixture(scope="module")
def at_lag_50(curves):
    """Relative gradient at lag 50, per seed: name -> (seeds,)."""
    return {name: c[:, 50] for name, c in curves.items()}


# ------------------------------------------------------------------ 1. overfit one batch


def test_correct_model_overfits_one_batch(overfit):
    for run in overfit[None]:
        assert run.floor == 0.0  # the token decides the target
        assert run.loss[-1] < 0.01


@pytest.mark.parametrize("bug", recipe.BUGS[1:])
def test_buggy_models_stop_at_their_floor(overfit, bug):
    correct_worst = max(run.loss[-1] for run in overfit[None])
    for run in overfit[bug]:
        assert run.floor > 1.0  # far from 0
        assert abs(run.loss[-1] - run.floor) < 0.01  # learnt all the data allowed
        assert run.loss[-1] > 100 * correct_worst


def test_floors_of_the_two_bugs(overfit):
    shifted = [run.floor for run in overfit["shifted inputs"]]
    shuffled = [run.floor for run in overfit["shuffled targets"]]
    assert min(shifted) > max(shuffled)  # no input information at all vs some
    assert max(shifted) <= math.log(VOCAB_SIZE) + 1e-9  # entropy of the targets alone


def test_initial_loss_is_near_log_of_the_classes(overfit):
    for run in overfit[None]:
        assert abs(run.loss[0] - math.log(VOCAB_SIZE)) < 0.1


def test_planted_bugs_keep_shapes_plausible():
    x, y = recipe.debug_batch(None, seed=0)
    x_shift, y_shift = recipe.debug_batch("shifted inputs", seed=0)
    x_shuf, y_shuf = recipe.debug_batch("shuffled targets", seed=0)
    assert x_shift.shape[0] == x.shape[0] - 1 and x_shift.shape[1:] == x.shape[1:]
    torch.testing.assert_close(x_shuf, x)
    assert sorted(y_shuf.tolist()) == sorted(y.tolist()) and not torch.equal(y_shuf, y)
    assert torch.equal(y_shift, y)
    with pytest.raises(ValueError, match="expected bug"):
        recipe.debug_batch("typo", seed=0)


def test_loss_floor_matches_a_plain_loop():
    gen = torch.Generator().manual_seed(5)
    x = torch.randint(0, 2, (3, 40, 2), generator=gen).float()  # few distinct inputs
    y = torch.randint(0, 4, (40,), generator=gen)
    groups = defaultdict(list)
    for n in range(40):
        groups[tuple(x[:, n].flatten().tolist())].append(int(y[n]))
    expected = 0.0
    for labels in groups.values():
        for count in Counter(labels).values():
            expected -= count * math.log(count / len(labels))
    assert recipe.loss_floor(x, y) == pytest.approx(expected / 40, abs=1e-6)


# ------------------------------------------------------------------ 2. learning rate


def test_sweep_runs_exactly_the_short_budget(sweep):
    for runs in sweep.values():
        assert all(len(run.history.loss) == run.steps == recipe.SWEEP_STEPS for run in runs)


def test_sweep_picks_the_middle_rate(sweep):
    low, mid, high = recipe.RATES
    accuracy = {lr: torch.tensor([run.score for run in runs]) for lr, runs in sweep.items()}
    assert accuracy[low].max() < 0.2  # chance is 0.125
    assert (accuracy[mid] >= accuracy[high]).all()  # in every seed
    assert accuracy[mid].mean() > accuracy[high].mean() > accuracy[low].mean()
    assert max(accuracy, key=lambda lr: accuracy[lr].mean()) == mid == recipe.RECIPE.lr
    assert mid == torch.optim.Adam([torch.zeros(1)]).defaults["lr"]  # "Adam's default"


# ------------------------------------------------------------------ 3. clipping


def test_without_clipping_seed_2_fails_after_a_spike(clips):
    failed = [(s, r) for s, r in zip(SEEDS, clips[None]) if r.score < RECALL_TARGET]
    assert [s for s, _ in failed] == [2]
    run = failed[0][1]
    assert run.steps == recipe.RECIPE.max_steps
    assert max(run.history.grad_norm) > 100


def test_every_threshold_lets_every_seed_learn(clips):
    for c in recipe.THRESHOLDS[1:]:
        assert all(run.score >= RECALL_TARGET for run in clips[c])


def test_how_often_each_threshold_fires(clips):
    fractions = {c: [recipe.fraction_above(r, c) for r in clips[c]] for c in recipe.THRESHOLDS[1:]}
    for half, one, five in zip(fractions[0.5], fractions[1.0], fractions[5.0]):
        assert half > one > five  # per seed
    assert min(fractions[0.5]) > 0.4  # the smallest clips the most steps
    assert max(fractions[5.0]) < 0.1  # the largest only the rare spikes
    for small, one in zip(clips[0.5], clips[1.0]):
        assert small.steps >= one.steps


def test_fraction_above_agrees_with_memory_clipped_fraction(clips):
    run = clips[1.0][0]
    assert recipe.fraction_above(run, 1.0) == memory.clipped_fraction(run, recipe.RECIPE)


def test_threshold_of_one_sits_between_typical_norms_and_spikes(clips):
    norms = torch.tensor([g for r in clips[None] for g in r.history.grad_norm])
    assert norms.median() < 1.0 < norms.max() / 10


# ------------------------------------------------------------------ 4. size, bucketing, packing


@pytest.mark.parametrize("I, H", [(9, 32), (1, 1), (40, 128), (300, 64)])
def test_parameter_formula_matches_torch(I, H):
    torch_count = sum(p.numel() for p in torch.nn.LSTM(I, H).parameters())
    assert 4 * (H * (I + H) + 2 * H) == torch_count == param_count("LSTM", I, H)


def test_doubling_hidden_size_approaches_four_times():
    I, H = VOCAB_SIZE + 1, recipe.SPEC.hidden_size
    ratios = [param_count("LSTM", I, 2 * h) / param_count("LSTM", I, h) for h in (H, 4 * H)]
    assert 3 < ratios[0] < ratios[1] < 4


def test_batch_orders_are_permutations_and_bucketing_cuts_padding():
    lengths = recipe.bucket_lengths()
    assert len(lengths) == recipe.BUCKET_SEQUENCES
    assert lengths.min() >= 1 and lengths.max() <= recipe.BUCKET_MAX_LEN
    orders = recipe.batch_orders(lengths, recipe.BUCKET_BATCH, seed=0)
    for order in orders.values():
        assert sorted(order.tolist()) == list(range(len(lengths)))
    waste = {k: recipe.padding_fraction(lengths, o, recipe.BUCKET_BATCH) for k, o in orders.items()}
    assert waste["random"] > 3 * waste["bucketed"] > 3 * waste["sorted"]


def test_padding_fraction_matches_a_plain_loop():
    lengths = torch.tensor([5, 1, 3, 3, 8, 2, 7])
    order = torch.tensor([4, 0, 6, 1, 2, 5, 3])
    padded = real = 0
    for start in range(0, 7, 3):
        batch = [int(lengths[i]) for i in order[start : start + 3]]
        padded += sum(max(batch) - n for n in batch)
        real += sum(batch)
    assert recipe.padding_fraction(lengths, order, 3) == pytest.approx(padded / (padded + real))


def test_packed_batch_gives_each_sequence_its_own_final_state():
    torch.manual_seed(0)
    lstm = LSTM(3, 8)
    lens = torch.tensor([7, 3, 5, 1])
    x = torch.randn(7, 4, 3) * (torch.arange(7)[:, None] < lens)[..., None]
    h = recipe.final_states(lstm, x, lens)
    torch.testing.assert_close(h["packed"], h["alone"])
    assert (h["padded"] - h["alone"]).abs().max() > 0.05  # padding changes h_n
    theirs = torch.nn.LSTM(3, 8)
    theirs.load_state_dict(lstm.state_dict())
    with torch.no_grad():
        _, (h_torch, _) = theirs(pack_padded_sequence(x, lens, enforce_sorted=False))
    torch.testing.assert_close(h["packed"], h_torch[0])


# ------------------------------------------------------------------ 5. early stopping


def test_early_stopping_saves_budget(clips):
    steps = [r.steps for r in clips[recipe.RECIPE.clip_grad_norm]]
    assert all(s < recipe.RECIPE.max_steps for s in steps)


def test_validation_and_test_seeds_are_apart_from_training():
    last_training_seed = max(SEEDS) * 10**5 + recipe.RECIPE.max_steps
    assert last_training_seed < memory.VALIDATION_SEED
    assert memory.VALIDATION_SEED + memory.VALIDATION_BATCHES <= memory.TEST_SEED


# ------------------------------------------------------------------ 6. initialisation


def test_initialisations_order_the_gradient_at_lag_50(at_lag_50):
    g = at_lag_50
    torch_init, orth = g["LSTM, torch's init"], g["LSTM, orthogonal W_hh"]
    fb1, both = g["LSTM, forget bias 1"], g["LSTM, both"]
    assert (torch_init < orth).all() and (orth < fb1).all()  # per seed
    assert (fb1 < both).all() and (g["ReLU RNN, torch's init"] < torch_init).all()
    assert torch_init.max() < 1e-6 and both.min() > 1e-3  # many decades apart
    assert (g["IRNN"] > both).all()


def test_order_of_the_figure_holds_from_lag_20_on(curves):
    names = [
        "ReLU RNN, torch's init",
        "LSTM, torch's init",
        "LSTM, orthogonal W_hh",
        "LSTM, forget bias 1",
        "LSTM, both",
        "IRNN",
    ]
    means = torch.stack([curves[n].log().mean(0).exp() for n in names])  # (6, 51)
    assert (means[:-1, 20:] < means[1:, 20:]).all()
    assert means[-1].min() > 0.2  # the IRNN stays highest, above 0.2


def test_orthogonal_blocks_and_identity_init():
    torch.manual_seed(0)
    lstm = LSTM(2, 16)
    recipe.orthogonal_recurrent_(lstm)
    for block in lstm.weight_hh_l0.detach().chunk(4):  # (16, 16) each
        torch.testing.assert_close(block.T @ block, torch.eye(16), atol=1e-5, rtol=0)
    rnn = RNN(2, 16, nonlinearity="relu")
    recipe.identity_recurrent_(rnn)
    h_0 = torch.rand(1, 1, 16)  # h >= 0, as a ReLU state is
    _, h_n = rnn(torch.zeros(5, 1, 2), h_0)
    torch.testing.assert_close(h_n, h_0)  # no input: the state is copied unchanged


def test_relu_rnns_have_about_as_many_parameters_as_the_lstms():
    lstm = param_count("LSTM", 1, recipe.LSTM_HIDDEN)
    rnn = param_count("RNN_RELU", 1, 2 * recipe.LSTM_HIDDEN)
    assert abs(rnn / lstm - 1) < 0.1


# ------------------------------------------------------------------ 7. projections


@pytest.mark.parametrize("I, H, P", [(5, 16, 4), (3, 8, 1), (40, 64, 16)])
def test_projection_matches_torch(I, H, P):
    assert recipe.projection_gap(I, H, P, seed=1) < 1e-6
    count = param_count("LSTM", I, H, proj_size=P)
    assert count == 4 * (H * (I + P) + 2 * H) + P * H
    assert count == sum(p.numel() for p in torch.nn.LSTM(I, H, proj_size=P).parameters())


def test_projection_of_a_large_layer():
    I, H, P = 40, 1024, 256
    assert param_count("LSTM", I, H) / param_count("LSTM", I, H, proj_size=P) > 2.5
    lstm = LSTM(I, 64, proj_size=16)
    assert lstm.weight_hh_l0.shape == (4 * 64, 16)  # 4H × P, not 4H × H
    assert lstm.weight_hr_l0.shape == (16, 64)
