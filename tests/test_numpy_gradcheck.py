"""grad_check accepts correct backward passes and names the entry of a wrong one."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_ref.numpy_ref import (
    assert_grad_check,
    grad_check,
    gru_backward,
    gru_forward,
    init_params,
    lstm_backward,
    lstm_forward,
    numerical_gradient,
    peephole_lstm_backward,
    peephole_lstm_forward,
    rnn_backward,
    rnn_forward,
)

# cell: (sequence forward, sequence backward, names of the initial states)
SEQUENCES = {
    "rnn": (rnn_forward, rnn_backward, ("h0",)),
    "lstm": (lstm_forward, lstm_backward, ("h0", "c0")),
    "gru": (gru_forward, gru_backward, ("h0",)),
    "peephole_lstm": (peephole_lstm_forward, peephole_lstm_backward, ("h0", "c0")),
}


def bptt_problem(cell, L=3, N=2, I=3, H=2, seed=0):
    """Return ``(loss, inputs, analytic)`` for a random sequence loss of ``cell``.

    loss = sum(out * d_out) + sum(h_n * dh_n) [+ sum(c_n * dc_n)], all weights random.
    """
    forward, backward, state_names = SEQUENCES[cell]
    rng = np.random.default_rng(seed)
    inputs = {"x": rng.standard_normal((L, N, I))}
    inputs.update({name: rng.standard_normal((N, H)) for name in state_names})
    inputs.update(init_params(cell, I, H, rng=rng))
    d_out = rng.standard_normal((L, N, H))
    d_final = [rng.standard_normal((N, H)) for _ in state_names]

    def loss(x, **named):
        states = [named.pop(name) for name in state_names]
        out, *final, _ = forward(x, *states, named)
        return np.sum(out * d_out) + sum(np.sum(s * d) for s, d in zip(final, d_final))

    states = [inputs[name] for name in state_names]
    params = {k: v for k, v in inputs.items() if k != "x" and k not in state_names}
    out, *_, caches = forward(inputs["x"], *states, params)
    dx, *d_states, grads = backward(d_out, *d_final, caches)
    analytic = {"x": dx, **dict(zip(state_names, d_states)), **grads}
    return loss, inputs, analytic


@pytest.mark.parametrize("cell", SEQUENCES)
def test_grad_check_passes_on_every_bptt(cell):
    loss, inputs, analytic = bptt_problem(cell)
    assert analytic.keys() == inputs.keys()  # every input is checked
    report = grad_check(loss, inputs, analytic)
    assert report, str(report)
    assert report.relative_error < 1e-6


@settings(max_examples=12, deadline=None)
@given(
    cell=st.sampled_from(list(SEQUENCES)),
    shape=st.tuples(*[st.integers(min_value=1, max_value=3)] * 4),  # L, N, I, H
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_bptt_passes_grad_check_for_any_small_shape(cell, shape, seed):
    loss, inputs, analytic = bptt_problem(cell, *shape, seed=seed)
    assert_grad_check(loss, inputs, analytic)


@pytest.mark.parametrize(
    ("cell", "name", "index"),
    [
        ("lstm", "W_hh", (5, 1)),
        ("lstm", "b_ih", (0,)),
        ("gru", "x", (2, 1, 0)),
        ("rnn", "h0", (1, 1)),
        ("peephole_lstm", "w_co", (1,)),
        ("peephole_lstm", "c0", (0, 1)),
    ],
)
def test_grad_check_names_a_corrupted_entry(cell, name, index):
    loss, inputs, analytic = bptt_problem(cell)
    analytic[name] = analytic[name].copy()
    analytic[name][index] += 1e-3

    report = grad_check(loss, inputs, analytic)

    assert not report
    assert (report.name, report.index) == (name, index)
    assert report.per_input[name][1] == 1  # exactly one entry off
    assert all(failed == 0 for n, (_, failed, _) in report.per_input.items() if n != name)
    with pytest.raises(
        AssertionError, match=rf"worst entry {name}\[{', '.join(map(str, index))}\]"
    ):
        assert_grad_check(loss, inputs, analytic)


def test_grad_check_catches_a_sign_error_in_a_whole_gradient():
    loss, inputs, analytic = bptt_problem("lstm")
    analytic["W_ih"] = -analytic["W_ih"]
    report = grad_check(loss, inputs, analytic)
    assert not report and report.name == "W_ih"
    assert report.per_input["W_ih"][1] > 1
    assert "FAIL W_ih" in str(report)


def test_grad_check_treats_nan_as_failure():
    w = np.array([1.0, 2.0])
    report = grad_check(lambda w: np.sum(w**2), {"w": w}, {"w": np.array([2.0, np.nan])})
    assert not report and report.index == (1,)


def test_numerical_gradient_matches_a_known_derivative_and_leaves_inputs_alone():
    w = np.array([[0.5, -1.0], [2.0, 0.0]])
    original = w.copy()
    numeric = numerical_gradient(lambda w: np.sum(np.sin(w)), {"w": w}, "w")
    np.testing.assert_allclose(numeric, np.cos(w), rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(w, original)


def test_grad_check_rejects_float32_inputs():
    w = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="expected input 'w' to be a float64 array, got float32"):
        grad_check(lambda w: np.sum(w), {"w": w}, {"w": np.ones(3)})


def test_grad_check_rejects_mismatched_names_and_shapes():
    w = np.ones(3)
    with pytest.raises(ValueError, match=r"expected analytic\['w'\] of shape \(3,\), got \(4,\)"):
        grad_check(lambda w: np.sum(w), {"w": w}, {"w": np.ones(4)})
    with pytest.raises(ValueError, match="expected analytic gradient 'v' to name one of"):
        grad_check(lambda w: np.sum(w), {"w": w}, {"v": np.ones(3)})


def test_grad_check_rejects_a_non_scalar_loss():
    w = np.ones(3)
    with pytest.raises(TypeError, match=r"expected f to return a scalar loss, got shape \(3,\)"):
        grad_check(lambda w: w * 2, {"w": w}, {"w": np.full(3, 2.0)})
