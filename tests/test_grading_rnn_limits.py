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


@pytest.mark.parametrize("student", [rnn_step_loop, rnn_step_concat])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_rnn_steps_pass(student, hidden, capsys):
    check_rnn_step(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ rnn_step") and out.err == ""


@pytest.mark.parametrize("mistake", RNN_STEP.mistakes, ids=lambda m: m.name)
def test_each_rnn_step_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_rnn_step(mistake.fn)


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


def test_naive_exp_overflow_is_reported_not_warned(capsys):
    def overflowing(x, h, W_ih, W_hh, b_ih, b_hh):
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        return (np.exp(2 * a * 40) - 1) / (np.exp(2 * a * 40) + 1) * 0 + np.tanh(a)

    with pytest.raises(GradingError, match="overflow"):
        check_rnn_step(overflowing)
    assert capsys.readouterr().err == ""  # the warning did not reach stderr


def jacobian_norms_by_svd(W_hh, a):
    """Correct, with the diagonal applied by broadcasting and the norm from an SVD."""
    J = np.eye(len(W_hh))
    norms = []
    for a_t in a:
        J = (1 - np.tanh(a_t) ** 2)[:, None] * (W_hh @ J)
        norms.append(np.linalg.svd(J, compute_uv=False)[0])
    return np.array(norms)


@pytest.mark.parametrize("hidden", [False, True])
def test_correct_jacobian_norms_pass(hidden):
    check_jacobian_norms(jacobian_norms_by_svd, hidden=hidden)


@pytest.mark.parametrize("mistake", JACOBIAN_NORMS.mistakes, ids=lambda m: m.name)
def test_each_jacobian_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_jacobian_norms(mistake.fn)
