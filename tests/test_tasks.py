"""Synthetic tasks: seeding, devices, and the property that defines each task."""

import pytest
import torch

from lstm_ref.device import available_devices
from lstm_ref.tasks import (
    BOS_ID,
    DIGIT_OFFSET,
    EOS_ID,
    PAD_ID,
    SYMBOLS,
    adding_problem,
    decode_digits,
    delayed_recall,
    make_windows,
    seasonal_series,
    temporal_order,
    toy_translation,
)

TASKS = {
    "adding": lambda seed, **kw: adding_problem(30, batch_size=16, seed=seed, **kw),
    "recall": lambda seed, **kw: delayed_recall(5, batch_size=16, seed=seed, **kw),
    "order": lambda seed, **kw: temporal_order(40, batch_size=16, seed=seed, **kw),
    "series": lambda seed, **kw: seasonal_series(
        200, batch_size=4, seed=seed, anomaly_rate=0.05, **kw
    ),
    "translation": lambda seed, **kw: toy_translation(batch_size=16, seed=seed, **kw),
}


def same(a, b) -> bool:
    return all(torch.equal(x.cpu(), y.cpu()) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_same_seed_same_batch_other_seed_other_batch(task):
    make = TASKS[task]
    assert same(make(3), make(3))
    assert not same(make(3), make(4))


@pytest.mark.parametrize("device", available_devices(), ids=str)
@pytest.mark.parametrize("task", sorted(TASKS))
def test_batches_land_on_the_device_with_the_same_values(task, device):
    on_device = TASKS[task](0, device=device)
    assert on_device[0].device.type == device.type
    assert same(on_device, TASKS[task](0))


@pytest.mark.parametrize("task", ["adding", "recall", "order", "series"])
def test_dtype_honoured(task):
    batch = TASKS[task](0, dtype=torch.float64)
    assert batch[0].dtype == torch.float64


def test_adding_target_is_the_sum_of_two_marked_values():
    L, N = 31, 64
    x, y = adding_problem(L, batch_size=N, seed=1)
    assert x.shape == (L, N, 2) and y.shape == (N, 1)
    values, markers = x[..., 0], x[..., 1]
    assert torch.all((values >= 0) & (values <= 1))
    assert torch.all(markers.sum(0) == 2)  # exactly two markers, each 0 or 1
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert torch.all(markers[: L // 2].sum(0) == 1)  # one in the first half
    assert torch.all(markers[L // 2 :].sum(0) == 1)  # one in the second
    torch.testing.assert_close(y[:, 0], (values * markers).sum(0))


@pytest.mark.parametrize("lag", [0, 1, 17])
def test_recall_shows_token_then_exactly_lag_blanks_then_cue(lag):
    V, N = 6, 32
    x, y = delayed_recall(lag, batch_size=N, seed=2, vocab_size=V)
    assert x.shape == (lag + 2, N, V + 1) and y.dtype == torch.int64
    assert torch.equal(x[0, :, :V].argmax(-1), y)  # target = the token at step 0
    assert torch.all(x[0].sum(-1) == 1)
    assert torch.all(x[1 : lag + 1] == 0)  # lag blank steps
    assert torch.all(x[lag + 1, :, V] == 1) and torch.all(x[lag + 1, :, :V] == 0)
    assert torch.all(x[: lag + 1, :, V] == 0)  # no cue before it is due


def test_recall_distractors_fill_every_step_between():
    lag, V = 9, 4
    x, y = delayed_recall(lag, batch_size=200, seed=3, vocab_size=V, distractors=True)
    assert torch.all(x[1 : lag + 1, :, :V].sum(-1) == 1)  # one token per step
    assert torch.equal(x[0, :, :V].argmax(-1), y)
    assert not torch.equal(x[lag, :, :V].argmax(-1), y)  # the latest is not the answer


@pytest.mark.parametrize("L", [10, 100, 137])
def test_temporal_order_target_is_the_order_of_x_and_y(L):
    x, y = temporal_order(L, batch_size=64, seed=4)
    assert x.shape == (L, 64, len(SYMBOLS)) and torch.all(x.sum(-1) == 1)
    symbols = x.argmax(-1)  # (L, N)
    assert torch.all(symbols[0] == SYMBOLS.index("E"))
    assert torch.all(symbols[-1] == SYMBOLS.index("B"))
    for n in range(64):
        steps = [t for t in range(L) if SYMBOLS[symbols[t, n]] in "XY"]
        assert len(steps) == 2
        t1, t2 = steps
        assert L // 10 <= t1 <= 2 * L // 10 and L // 2 <= t2 <= 6 * L // 10
        name = SYMBOLS[symbols[t1, n]] + SYMBOLS[symbols[t2, n]]
        assert ["XX", "XY", "YX", "YY"].index(name) == y[n]


def test_series_deviates_from_clean_exactly_on_the_mask():
    size = 2.0
    batch = seasonal_series(
        2000,
        seed=5,
        batch_size=3,
        anomaly_rate=0.02,
        spike_size=size,
        shift_size=size,
        shift_length=1,
    )
    mask = batch.anomalies
    assert mask.dtype == torch.bool and mask.shape == (2000, 3)
    assert torch.equal(batch.values[~mask], batch.clean[~mask])
    assert torch.all((batch.values - batch.clean)[mask].abs() >= 0.5 * size - 1e-5)
    assert 0.01 < mask.float().mean() < 0.03  # rate 0.02, one step each


def test_level_shifts_cover_shift_length_steps():
    batch = seasonal_series(3000, seed=6, batch_size=4, anomaly_rate=0.01, shift_length=8)
    mask = batch.anomalies
    assert mask.unfold(0, 8, 1).all(-1).any()  # some run of 8 covered steps
    # half the anomalies cover 1 step, half cover 8: about 0.01 · 4.5 of all steps
    assert 0.03 < mask.float().mean() < 0.06
    assert torch.equal(batch.values[~mask], batch.clean[~mask])


def test_series_components_periods_and_trend():
    periodic = seasonal_series(
        240, seed=7, periods=(12.0, 40.0), amplitudes=(1.0, 0.5), noise_std=0.0, dtype=torch.float64
    ).values[:, 0]
    torch.testing.assert_close(periodic[120:], periodic[:120])  # lcm(12, 40) = 120
    assert not torch.allclose(periodic[12:132], periodic[:120])  # 12 alone is not a period
    line = seasonal_series(
        50, seed=7, amplitudes=(0.0, 0.0), noise_std=0.0, trend=0.3, dtype=torch.float64
    ).values[:, 0]
    torch.testing.assert_close(line, 0.3 * torch.arange(50, dtype=torch.float64))


@pytest.mark.parametrize("horizon", [1, 3])
def test_windows_pair_each_window_with_the_value_horizon_steps_later(horizon):
    series = torch.arange(60.0).reshape(20, 3)  # (L, N), every value unique
    W, (L, N) = 5, series.shape
    inputs, targets = make_windows(series, W, horizon)
    B = N * (L - W - horizon + 1)
    assert inputs.shape == (W, B, 1) and targets.shape == (B, 1)
    for b in range(B):
        s, n = divmod(b, N)
        assert torch.equal(inputs[:, b, 0], series[s : s + W, n])
        assert targets[b, 0] == series[s + W - 1 + horizon, n]


def test_translation_target_is_the_reversed_source():
    batch = toy_translation(batch_size=50, seed=8, min_len=2, max_len=6)
    S, N = batch.src.shape
    assert (S, N) == (6, 50) and batch.tgt_in.shape == batch.tgt_out.shape == (S + 1, N)
    assert batch.lengths.device.type == "cpu"
    assert batch.lengths.min() >= 2 and batch.lengths.max() <= 6
    assert torch.all(batch.tgt_in[0] == BOS_ID)
    for n in range(N):
        length = int(batch.lengths[n])
        source = decode_digits(batch.src[:, n])
        assert len(source) == length and torch.all(batch.src[length:, n] == PAD_ID)
        assert decode_digits(batch.tgt_out[:, n]) == source[::-1]
        assert torch.equal(batch.tgt_in[1 : length + 1, n], batch.tgt_out[:length, n])
        assert batch.tgt_out[length, n] == EOS_ID
        assert torch.all(batch.tgt_out[length + 1 :, n] == PAD_ID)
        assert torch.all(batch.tgt_in[length + 1 :, n] == PAD_ID)


def test_translation_sort_order():
    batch = toy_translation(batch_size=30, seed=9, order="sort")
    for n in range(30):
        source = decode_digits(batch.src[:, n])
        assert decode_digits(batch.tgt_out[:, n]) == "".join(sorted(source))


def test_decode_digits_stops_at_eos():
    ids = [BOS_ID, DIGIT_OFFSET + 7, EOS_ID, DIGIT_OFFSET + 1]
    assert decode_digits(ids) == "7"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: adding_problem(1, batch_size=2, seed=0), "expected seq_len >= 2, got 1"),
        (lambda: delayed_recall(-1, batch_size=2, seed=0), "expected lag >= 0, got -1"),
        (lambda: temporal_order(9, batch_size=2, seed=0), "expected seq_len >= 10, got 9"),
        (lambda: toy_translation(batch_size=2, seed=0, min_len=4, max_len=3), "max_len >= 4"),
        (lambda: toy_translation(batch_size=2, seed=0, order="shuffle"), "expected order in"),
        (lambda: seasonal_series(10, seed=0, periods=(5.0,)), "one amplitude per period"),
        (lambda: seasonal_series(10, seed=0, anomaly_rate=2.0), r"anomaly_rate in \[0, 1\]"),
        (lambda: make_windows(torch.zeros(5), 5), "expected series length >= 6, got 5"),
    ],
)
def test_bad_arguments_say_what_was_expected(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_seed_must_be_an_int():
    with pytest.raises(TypeError, match="expected seed to be an int, got float"):
        adding_problem(10, batch_size=2, seed=1.5)
