"""Chapter 1's checks: correct code written differently passes, each known mistake is
named, and delegating to a ready-made RNN is refused."""

import re

import numpy as np
import pytest
import torch

from lstm_ref.grading import GradingError
from lstm_ref.grading.rnn_limits import (
    JACOBIAN_NORMS,
    RNN_STEP,
    check_jacobian_norms,
    check_rnn_step,
)
from tests.support.grading import Bug, unguarded, verdict


def rnn_step_loop(x, h, W_ih, W_hh, b_ih, b_hh):
    """Correct, one sequence at a time, with the weights split by rows."""
    out = np.empty((x.shape[0], W_hh.shape[0]), dtype=x.dtype)
    for n in range(x.shape[0]):
        out[n] = np.tanh(W_ih @ x[n] + W_hh @ h[n] + (b_ih + b_hh))
    return out


def rnn_step_concat(x, h, W_ih, W_hh, b_ih, b_hh):
    """Correct, with [x, h] concatenated against one stacked matrix."""
    W = np.concatenate([W_ih, W_hh], axis=1)  # (H, I + H)
    return np.tanh(np.concatenate([x, h], axis=1) @ W.T + b_ih + b_hh)


def rnn_step_torch(x, h, W_ih, W_hh, b_ih, b_hh):
    """Delegates to torch.nn.RNNCell: must be refused."""
    cell = torch.nn.RNNCell(x.shape[1], h.shape[1]).double()
    with torch.no_grad():
        for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
                               [W_ih, W_hh, b_ih, b_hh]):  # fmt: skip
            getattr(cell, name).copy_(torch.from_numpy(value.astype(np.float64)))
        return cell(torch.from_numpy(x).double(), torch.from_numpy(h).double()).numpy()


# ---------------------------------------------------------------- the student-like corpus


def only_b_hh(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih.T + h @ W_hh.T + b_hh)


def only_b_ih(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(np.dot(x, W_ih.T) + b_ih + np.dot(h, W_hh.T))


def float64_always(x, h, W_ih, W_hh, b_ih, b_hh):
    pre = x.astype(np.float64) @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    return np.tanh(pre)


def sigmoid_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return 1.0 / (1.0 + np.exp(-(x @ W_ih.T + h @ W_hh.T + b_ih + b_hh)))


def transposed_output(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(W_ih @ x.T + W_hh @ h.T + (b_ih + b_hh)[:, None])  # (H, N)


def forgot_h(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih.T + b_ih + b_hh)


def norms_list(W_hh, pre_activations):
    """Correct, a list-free loop with an explicit chain of Jacobians."""
    J = np.eye(len(W_hh), dtype=W_hh.dtype)
    out = np.zeros(len(pre_activations), dtype=W_hh.dtype)
    for t, a in enumerate(pre_activations):
        J = ((1 - np.tanh(a) ** 2)[:, None] * W_hh) @ J
        out[t] = np.linalg.svd(J, compute_uv=False)[0]
    return out


def norms_reduce(W_hh, pre_activations):
    """Correct, by storing every step's Jacobian and multiplying the newest on the left."""
    steps = [np.diag(1 - np.tanh(a) ** 2) @ W_hh for a in pre_activations]
    J, out = np.eye(W_hh.shape[0], dtype=W_hh.dtype), []
    for step in steps:
        J = step @ J
        out.append(np.linalg.norm(J, ord=2))
    return np.asarray(out, dtype=W_hh.dtype)


def norms_fro(W_hh, pre_activations):
    J, out = np.eye(len(W_hh)), []
    for a in pre_activations:
        J = np.diag(1 - np.tanh(a) ** 2) @ W_hh @ J
        out.append(np.linalg.norm(J))
    return np.array(out, dtype=W_hh.dtype)


def norms_right(W_hh, pre_activations):
    J, out = np.eye(len(W_hh)), []
    for a in pre_activations:
        J = J @ (np.diag(1 - np.tanh(a) ** 2) @ W_hh)
        out.append(np.linalg.norm(J, 2))
    return np.array(out, dtype=W_hh.dtype)


def norms_no_derivative(W_hh, pre_activations):
    J, out = np.eye(len(W_hh)), []
    for _ in pre_activations:
        J = W_hh @ J
        out.append(np.linalg.norm(J, 2))
    return np.array(out, dtype=W_hh.dtype)


def norms_float64(W_hh, pre_activations):
    J, out = np.eye(len(W_hh)), []
    for a in pre_activations:
        J = np.diag(1 - np.tanh(a) ** 2) @ W_hh @ J
        out.append(np.linalg.norm(J, 2))
    return np.array(out)


def norms_tanh_not_squared(W_hh, pre_activations):
    J, out = np.eye(len(W_hh)), []
    for a in pre_activations:
        J = np.diag(1 - np.tanh(a)) @ W_hh @ J
        out.append(np.linalg.norm(J, 2))
    return np.array(out, dtype=W_hh.dtype)


CORRECT = {
    check_rnn_step: [rnn_step_loop, rnn_step_concat],
    check_jacobian_norms: [norms_list, norms_reduce],
}
BUGS = {
    check_rnn_step: [
        Bug(only_b_hh, "only one of the two biases"),
        Bug(only_b_ih, "only one of the two biases"),
        Bug(float64_always, "dtype"),
        Bug(sigmoid_step, "sigmoid instead of tanh"),
        Bug(transposed_output, "h_next is transposed"),
        Bug(forgot_h, "the previous state is ignored"),
    ],
    check_jacobian_norms: [
        Bug(norms_fro, "Frobenius"),
        Bug(norms_right, "wrong order"),
        Bug(norms_no_derivative, "tanh' factor is left out"),
        Bug(norms_float64, "dtype"),
        Bug(norms_tanh_not_squared, "1 - tanh(a_t), not"),
    ],
}


# ---------------------------------------------------------------- the checks' own tests


@pytest.mark.parametrize("student", [rnn_step_loop, rnn_step_concat])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_rnn_steps_pass(student, hidden, capsys):
    check_rnn_step(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ rnn_step") and out.err == ""
    assert ("hidden cases match" in out.out) == hidden  # feedback shows both lines


@pytest.mark.parametrize("mistake", RNN_STEP.mistakes, ids=lambda m: m.name)
def test_each_rnn_step_mistake_is_named(mistake):
    result = verdict(unguarded(check_rnn_step), mistake.fn)
    assert not result.passed and result.mistake == mistake.name


def test_rnn_step_shape_error_gets_a_hint():
    with pytest.raises(GradingError, match=r"x @ W_ih\.T"):
        check_rnn_step(lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih + h @ W_hh))


def test_rnn_step_unknown_error_reports_largest_difference():
    def off(x, h, W_ih, W_hh, b_ih, b_hh):
        out = rnn_step_loop(x, h, W_ih, W_hh, b_ih, b_hh)
        out[-1, -1] += 0.01
        return out

    with pytest.raises(GradingError, match=r"largest error 0.01 at index \(2, 4\)"):
        check_rnn_step(off)


def test_rnn_step_stub_and_delegation_are_explained():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="still the stub"):
        check_rnn_step(stub)
    with pytest.raises(GradingError, match="write it yourself.*torch.nn.modules.rnn.RNNCell"):
        check_rnn_step(rnn_step_torch)


@pytest.mark.parametrize("student", [norms_list, norms_reduce])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_jacobian_norms_pass(student, hidden, capsys):
    check_jacobian_norms(student, hidden=hidden)
    assert capsys.readouterr().out.startswith("✓ jacobian_norms")


@pytest.mark.parametrize("mistake", JACOBIAN_NORMS.mistakes, ids=lambda m: m.name)
def test_each_jacobian_mistake_is_named(mistake):
    result = verdict(unguarded(check_jacobian_norms), mistake.fn)
    assert not result.passed and result.mistake == mistake.name


def test_jacobian_norms_off_by_a_factor_shows_where():
    with pytest.raises(GradingError, match=re.escape("norms differs")):
        check_jacobian_norms(lambda W, a: 1.5 * norms_reduce(W, a))
