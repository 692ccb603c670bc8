"""Properties the NumPy reference must satisfy for any input (hypothesis searches for a
counterexample): gate saturation, the peephole reducing to the plain LSTM, the sigmoid's
stability, and the time loop being splittable."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_ref.numpy_ref import (
    gru_cell_forward,
    gru_forward,
    init_params,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    peephole_lstm_cell_backward,
    peephole_lstm_cell_forward,
    peephole_lstm_forward,
    rnn_forward,
    sigmoid,
)

FAST = settings(max_examples=30, deadline=None)
sizes = st.integers(min_value=1, max_value=4)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def random_step(cell, N, I, H, seed, scale=1.0):
    """Random ``(params, x, h, c, rng)`` for one step of ``cell``."""
    rng = np.random.default_rng(seed)
    params = init_params(cell, I, H, rng=rng)
    x, h, c = (scale * rng.standard_normal(shape) for shape in [(N, I), (N, H), (N, H)])
    return params, x, h, c, rng


@FAST
@given(N=sizes, I=sizes, H=sizes, seed=seeds, scale=st.sampled_from([1.0, 10.0]))
def test_saturated_forget_and_closed_input_gate_keep_the_cell_state(N, I, H, seed, scale):
    """f = 1, i = 0: c_next = c, and with dh_next = 0 the gradient dc passes unchanged."""
    params, x, h, c, rng = random_step("lstm", N, I, H, seed, scale)
    gate_i, gate_f = slice(0, H), slice(H, 2 * H)
    for name in ("W_ih", "W_hh"):
        params[name][gate_i] = params[name][gate_f] = 0.0
    params["b_ih"][gate_i], params["b_ih"][gate_f] = -100.0, 100.0  # i = σ(-100), f = σ(100)

    _, c_next, cache = lstm_cell_forward(x, h, c, **params)
    dc_next = rng.standard_normal((N, H))
    _, _, dc, _ = lstm_cell_backward(np.zeros((N, H)), dc_next, cache)

    np.testing.assert_allclose(c_next, c, rtol=0, atol=1e-30)
    np.testing.assert_array_equal(dc, dc_next)  # the constant error carousel


@FAST
@given(N=sizes, I=sizes, H=sizes, seed=seeds)
def test_gru_with_update_gate_saturated_to_one_copies_h(N, I, H, seed):
    params, x, h, _, _ = random_step("gru", N, I, H, seed)
    gate_z = slice(H, 2 * H)
    params["W_ih"][gate_z] = params["W_hh"][gate_z] = 0.0
    params["b_ih"][gate_z] = 100.0  # z = σ(100) = 1: h_next = (1 - z) n + z h = h
    h_next, _ = gru_cell_forward(x, h, **params)
    np.testing.assert_array_equal(h_next, h)


@FAST
@given(N=sizes, I=sizes, H=sizes, seed=seeds, bias=st.booleans())
def test_zero_peepholes_give_the_plain_lstm(N, I, H, seed, bias):
    params, x, h, c, rng = random_step("lstm", N, I, H, seed)
    if not bias:
        del params["b_ih"], params["b_hh"]
    peepholes = {name: np.zeros(H) for name in ("w_ci", "w_cf", "w_co")}
    dh_next, dc_next = rng.standard_normal((2, N, H))

    *lstm_next, lstm_cache = lstm_cell_forward(x, h, c, **params)
    *peep_next, peep_cache = peephole_lstm_cell_forward(x, h, c, **params, **peepholes)
    *lstm_back, lstm_grads = lstm_cell_backward(dh_next, dc_next, lstm_cache)
    *peep_back, peep_grads = peephole_lstm_cell_backward(dh_next, dc_next, peep_cache)

    np.testing.assert_array_equal(lstm_next, peep_next)  # h_next, c_next
    for ours, plain in zip(peep_back, lstm_back, strict=True):  # dx, dh, dc
        np.testing.assert_allclose(ours, plain, rtol=1e-12, atol=1e-15)
    assert peep_grads.keys() == lstm_grads.keys() | peepholes.keys()
    for name, grad in lstm_grads.items():
        np.testing.assert_allclose(peep_grads[name], grad, rtol=1e-12, atol=1e-15)


def run_sequence(cell, x, states, params):
    forward = {
        "rnn": rnn_forward,
        "lstm": lstm_forward,
        "gru": gru_forward,
        "peephole_lstm": peephole_lstm_forward,
    }[cell]
    out, *final, _ = forward(x, *states, params)
    return out, final


@FAST
@given(
    cell=st.sampled_from(["rnn", "lstm", "gru", "peephole_lstm"]),
    L=st.integers(min_value=2, max_value=6),
    split=st.integers(min_value=1, max_value=5),
    seed=seeds,
)
def test_a_sequence_can_be_run_in_two_pieces(cell, L, split, seed):
    """Running x[:k] and then x[k:] from the state reached equals running x at once."""
    split = min(split, L - 1)
    rng = np.random.default_rng(seed)
    params = init_params(cell, 3, 2, rng=rng)
    x = rng.standard_normal((L, 2, 3))
    states = [rng.standard_normal((2, 2)) for _ in range(2 if "lstm" in cell else 1)]

    out, final = run_sequence(cell, x, states, params)
    out_head, middle = run_sequence(cell, x[:split], states, params)
    out_tail, final_tail = run_sequence(cell, x[split:], middle, params)

    np.testing.assert_array_equal(out, np.concatenate([out_head, out_tail]))
    np.testing.assert_array_equal(final, final_tail)


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_sigmoid_is_stable_symmetric_and_bounded(a, dtype):
    a = np.array([a, -a], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        s = sigmoid(a)
    assert s.dtype == dtype
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s[0] + s[1], 1, rtol=2 * np.finfo(dtype).eps)  # σ(-a) = 1 - σ(a)
    if abs(a[0]) < 30:  # here the textbook formula is safe: compare against it
        textbook = 1 / (1 + np.exp(-a.astype(np.float64)))
        np.testing.assert_allclose(s, textbook, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_plus_minus_1000_warns_nothing(dtype):
    a = np.array([-1000, -1, 0, 1, 1000], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        s = sigmoid(a)
    np.testing.assert_array_equal(s[[0, 2, 4]], [0, 0.5, 1])
    np.testing.assert_allclose(s[[1, 3]], [0.2689414213699951, 0.7310585786300049], rtol=1e-6)
