"""Bad inputs raise ValueError/TypeError whose message says what was expected."""

import re

import numpy as np
import pytest

from lstm_ref.numpy_ref import (
    gru_cell_forward,
    init_params,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    peephole_lstm_cell_forward,
    rnn_backward,
    rnn_cell_forward,
    rnn_forward,
)

N, I, H = 3, 5, 4


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


@pytest.fixture
def lstm():
    """LSTM params (4H = 16 rows) and a consistent x (N, I), h (N, H), c (N, H)."""
    rng = np.random.default_rng(0)
    params = init_params("lstm", I, H, rng=rng)
    return params, rng.standard_normal((N, I)), np.zeros((N, H)), np.zeros((N, H))


@pytest.mark.parametrize(
    ("replace", "shape", "message"),
    [
        ("x", (N, I + 1), "expected x of shape (N, 5), got (3, 6)"),
        ("x", (I,), "expected x of shape (N, 5), got (5,)"),
        ("h", (N + 1, H), "expected h of shape (3, 4), got (4, 4)"),
        ("c", (N, H + 1), "expected c of shape (3, 4), got (3, 5)"),
        ("W_ih", (3 * H, I), "expected W_ih of shape (16, 5), got (12, 5)"),
        ("W_hh", (4 * H, H + 1), "expected W_hh of shape (4*H, H), got (16, 5)"),
        ("W_hh", (4 * H,), "expected W_hh of shape (4*H, H), got (16,)"),
        ("b_ih", (H,), "expected b_ih of shape (16,), got (4,)"),
        ("b_hh", (4 * H, 1), "expected b_hh of shape (16,), got (16, 1)"),
    ],
)
def test_lstm_cell_names_the_wrong_shape(lstm, replace, shape, message):
    params, x, h, c = lstm
    arguments = {"x": x, "h": h, "c": c, **params, replace: np.zeros(shape)}
    with raises(ValueError, message):
        lstm_cell_forward(**arguments)


def test_integer_and_non_array_inputs_are_type_errors(lstm):
    params, x, h, c = lstm
    with raises(TypeError, "expected x to be a floating-point array (float32 or float64), got"):
        lstm_cell_forward(np.ones((N, I), dtype=np.int64), h, c, **params)
    with raises(TypeError, "expected W_hh to be a floating-point array"):
        lstm_cell_forward(x, h, c, **{**params, "W_hh": params["W_hh"].astype(int)})
    with raises(TypeError, "expected h to be a numpy.ndarray, got list"):
        lstm_cell_forward(x, h.tolist(), c, **params)


def test_each_cell_checks_its_own_gate_count():
    x, h = np.zeros((N, I)), np.zeros((N, H))
    lstm_params = init_params("lstm", I, H)
    with raises(ValueError, "expected W_hh of shape (3*H, H), got (16, 4)"):
        gru_cell_forward(x, h, **lstm_params)
    with raises(ValueError, "expected W_hh of shape (H, H), got (16, 4)"):
        rnn_cell_forward(x, h, **lstm_params)


def test_peephole_weights_must_be_hidden_sized_vectors(lstm):
    params, x, h, c = lstm
    peepholes = {"w_ci": np.zeros(H), "w_cf": np.zeros(H), "w_co": np.zeros((1, H))}
    with raises(ValueError, "expected w_co of shape (4,), got (1, 4)"):
        peephole_lstm_cell_forward(x, h, c, **params, **peepholes)


def test_rnn_rejects_an_unknown_nonlinearity():
    params = init_params("rnn", I, H)
    with raises(ValueError, "expected nonlinearity 'tanh' or 'relu', got 'sigmoid'"):
        rnn_cell_forward(np.zeros((N, I)), np.zeros((N, H)), **params, nonlinearity="sigmoid")
    with raises(ValueError, "expected nonlinearity 'tanh' or 'relu', got 'sigmoid'"):
        rnn_forward(np.zeros((2, N, I)), np.zeros((N, H)), params, nonlinearity="sigmoid")


def test_cell_backward_checks_the_incoming_gradients(lstm):
    params, x, h, c = lstm
    _, _, cache = lstm_cell_forward(x, h, c, **params)
    with raises(ValueError, "expected dh_next of shape (3, 4), got (3, 5)"):
        lstm_cell_backward(np.zeros((N, H + 1)), np.zeros((N, H)), cache)
    with raises(TypeError, "expected dc_next to be a floating-point array"):
        lstm_cell_backward(np.zeros((N, H)), np.zeros((N, H), dtype=int), cache)


@pytest.mark.parametrize(
    ("x_shape", "h0_shape", "c0_shape", "message"),
    [
        ((N, I), (N, H), (N, H), "expected x of shape (L, N, 5), got (3, 5)"),
        ((2, N, I + 1), (N, H), (N, H), "expected x of shape (L, N, 5), got (2, 3, 6)"),
        ((0, N, I), (N, H), (N, H), "expected x of shape (L, N, 5) with L >= 1, got (0, 3, 5)"),
        ((2, N, I), (1, N, H), (N, H), "expected h0 of shape (3, 4), got (1, 3, 4)"),
        ((2, N, I), (N, H), (N + 1, H), "expected c0 of shape (3, 4), got (4, 4)"),
    ],
)
def test_lstm_forward_names_the_wrong_shape(lstm, x_shape, h0_shape, c0_shape, message):
    params = lstm[0]
    with raises(ValueError, message):
        lstm_forward(np.zeros(x_shape), np.zeros(h0_shape), np.zeros(c0_shape), params)


def test_sequence_params_must_have_the_cells_names(lstm):
    params, x, h, c = lstm
    x = x[None]  # (L=1, N, I)
    with raises(ValueError, "missing ['W_hh'], unexpected []"):
        lstm_forward(x, h, c, {"W_ih": params["W_ih"]})
    with raises(ValueError, "missing [], unexpected ['w_ci']"):
        lstm_forward(x, h, c, {**params, "w_ci": np.zeros(H)})
    with raises(TypeError, "expected params to be a dict of arrays, got list"):
        lstm_forward(x, h, c, list(params.values()))


def test_sequence_backward_checks_its_gradients(lstm):
    params, x, h, c = lstm
    out, h_n, c_n, caches = lstm_forward(np.stack([x, x]), h, c, params)
    with raises(ValueError, "expected d_out of shape (2, 3, 4), got (3, 3, 4)"):
        lstm_backward(np.zeros((3, N, H)), h_n, c_n, caches)
    with raises(ValueError, "expected dc_n of shape (3, 4), got (3, 5)"):
        lstm_backward(out, h_n, np.zeros((N, H + 1)), caches)
    with raises(ValueError, "expected caches to be the non-empty list returned by"):
        rnn_backward(out, h_n, [])


def test_init_params_rejects_an_unknown_cell():
    with raises(ValueError, "expected cell to be one of ['gru', 'lstm', 'peephole_lstm', 'rnn']"):
        init_params("transformer", I, H)
