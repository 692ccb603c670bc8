"""Chapter 2's checks: correct code written differently passes, each known mistake is
named, and delegating to a ready-made LSTM is refused."""

import re
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstm_ref import numpy_ref
from lstm_ref.grading import GradingError
from lstm_ref.grading.lstm_cell import (
    BACKWARD,
    GRAD_CHECK,
    GRAD_CHECK_MISTAKES,
    NUMPY_CELL,
    SEQUENCE,
    SEQUENCE_MISTAKES,
    SIGMOID,
    TORCH_CELL,
    check_grad_check_lstm_cell,
    check_lstm_cell_backward,
    check_lstm_cell_forward,
    check_lstm_cell_torch,
    check_lstm_forward,
    check_sigmoid,
    lstm_forward_variant,
)
from lstm_ref.nn.functional import lstm_cell


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tensors are tiny: one thread is fastest, and unslowed by a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ sigmoid


def sigmoid_masks(a):
    """Correct: each branch only where it cannot overflow, by boolean masks."""
    out = np.empty_like(a)
    positive = a >= 0
    out[positive] = 1 / (1 + np.exp(-a[positive]))
    e = np.exp(a[~positive])  # a < 0: e in (0, 1)
    out[~positive] = e / (1 + e)
    return out


def sigmoid_logaddexp(a):
    """Correct: sigmoid(a) = exp(-log(1 + exp(-a))), with NumPy's stable logaddexp."""
    return np.exp(-np.logaddexp(0, -a))


@pytest.mark.parametrize("student", [sigmoid_masks, sigmoid_logaddexp])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_sigmoids_pass(student, hidden, capsys):
    check_sigmoid(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ sigmoid") and out.err == ""


@pytest.mark.parametrize("mistake", SIGMOID.mistakes, ids=lambda m: m.name)
def test_each_sigmoid_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_sigmoid(mistake.fn)


@pytest.mark.parametrize(
    "naive",
    [
        lambda a: 1 / (1 + np.exp(-a)),
        # np.where evaluates both branches everywhere, so exp(-a) still overflows
        lambda a: np.where(a >= 0, 1 / (1 + np.exp(-a)), np.exp(a) / (1 + np.exp(a))),
    ],
    ids=["textbook", "np.where"],
)
def test_overflowing_sigmoid_is_reported_not_warned(naive, capsys):
    with pytest.raises(GradingError, match="(?s)overflow encountered in exp.*numerically stable"):
        check_sigmoid(naive)
    assert capsys.readouterr().err == ""


def test_sigmoid_delegation_is_refused():
    with pytest.raises(GradingError, match=r"write it yourself.*lstm_ref\.numpy_ref\.sigmoid"):
        check_sigmoid(numpy_ref.sigmoid)


# ----------------------------------------------------------- the NumPy cell


def cell_per_gate(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """Correct: one matrix per gate, the nonlinearities from sigmoid_masks and np.tanh."""
    H = h.shape[1]
    pre = {
        gate: x @ W_ih[k * H : (k + 1) * H].T + b_ih[k * H : (k + 1) * H]
        + h @ W_hh[k * H : (k + 1) * H].T + b_hh[k * H : (k + 1) * H]
        for k, gate in enumerate("ifgo")
    }  # fmt: skip
    i, f, o = (sigmoid_masks(pre[gate]) for gate in "ifo")
    c_next = f * c + i * np.tanh(pre["g"])
    return o * np.tanh(c_next), c_next


def cell_hx_loop(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """Correct: one sequence at a time, [h, x] against the stacked [W_hh | W_ih]."""
    W = np.concatenate([W_hh, W_ih], axis=1)  # (4H, H + I)
    h_next, c_next = np.empty_like(h), np.empty_like(c)
    for n in range(x.shape[0]):
        a = W @ np.concatenate([h[n], x[n]]) + (b_ih + b_hh)  # (4H,)
        i, f, g, o = np.split(a, 4)
        c_next[n] = sigmoid_logaddexp(f) * c[n] + sigmoid_logaddexp(i) * np.tanh(g)
        h_next[n] = sigmoid_logaddexp(o) * np.tanh(c_next[n])
    return h_next, c_next


@pytest.mark.parametrize("student", [cell_per_gate, cell_hx_loop])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_numpy_cells_pass(student, hidden, capsys):
    check_lstm_cell_forward(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_cell_forward") and out.err == ""


@pytest.mark.parametrize("mistake", NUMPY_CELL.mistakes, ids=lambda m: m.name)
def test_each_numpy_cell_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_lstm_cell_forward(mistake.fn)


def test_numpy_cell_delegation_is_refused():
    def reference(*args):
        return numpy_ref.lstm_cell_forward(*args)[:2]

    with pytest.raises(GradingError, match=r"lstm_ref\.numpy_ref\.lstm_cell_forward"):
        check_lstm_cell_forward(reference)


def test_numpy_cell_with_an_overflowing_sigmoid_is_told_so():
    def naive(x, h, c, W_ih, W_hh, b_ih, b_hh):
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        i, f, g, o = np.split(1 / (1 + np.exp(-a)), 4, axis=1)
        c_next = f * c + i * np.tanh(np.split(a, 4, axis=1)[2])
        return o * np.tanh(c_next), c_next

    with pytest.raises(GradingError, match="(?s)overflow.*saturated gates.*float32"):
        check_lstm_cell_forward(naive)


# ----------------------------------------------------------- the torch cell


def torch_cell_per_gate(x, state, W_ih, W_hh, b_ih, b_hh):
    """Correct: F.linear per gate, the blocks taken by torch.split."""
    h, c = state
    H = h.shape[1]
    pre = [F.linear(x, w_x, b_x) + F.linear(h, w_h, b_h)
           for w_x, w_h, b_x, b_h in zip(W_ih.split(H), W_hh.split(H), b_ih.split(H),
                                         b_hh.split(H))]  # fmt: skip
    i, f, o = (1 / (1 + torch.exp(-a)) for a in (pre[0], pre[1], pre[3]))
    c_next = f * c + i * torch.tanh(pre[2])
    return o * torch.tanh(c_next), c_next


def torch_cell_hx(x, state, W_ih, W_hh, b_ih, b_hh):
    """Correct: [h, x] against the stacked [W_hh | W_ih], one torch.addmm."""
    h, c = state
    W = torch.cat([W_hh, W_ih], dim=1)
    a = torch.addmm(b_ih + b_hh, torch.cat([h, x], dim=1), W.T)
    i, f, g, o = a.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


@pytest.mark.parametrize("student", [torch_cell_per_gate, torch_cell_hx])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_torch_cells_pass(student, hidden, capsys):
    check_lstm_cell_torch(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_cell_torch") and "(gradients)" in out.out
    assert out.err == ""


@pytest.mark.parametrize("mistake", TORCH_CELL.mistakes, ids=lambda m: m.name)
def test_each_torch_cell_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_lstm_cell_torch(mistake.fn)


def torch_module_cell(x, state, W_ih, W_hh, b_ih, b_hh):
    """Delegates to torch.nn.LSTMCell."""
    cell = torch.nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).to(x)
    with torch.no_grad():
        for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
                               [W_ih, W_hh, b_ih, b_hh]):  # fmt: skip
            getattr(cell, name).copy_(value)
    return cell(x, state)


@pytest.mark.parametrize(
    "delegate, name",
    [
        (torch_module_cell, r"torch\.nn\.modules\.rnn\.LSTMCell"),
        (lambda x, state, *w: torch.lstm_cell(x, state, *w), r"torch\.lstm_cell"),
        (lstm_cell, r"lstm_ref\.nn\.functional\.lstm_cell"),
    ],
    ids=["nn.LSTMCell", "torch.lstm_cell", "lstm_ref"],
)
def test_torch_cell_delegation_is_refused(delegate, name):
    with pytest.raises(GradingError, match="write it yourself.*" + name):
        check_lstm_cell_torch(delegate)


def test_torch_cell_through_numpy_breaks_autograd():
    def via_numpy(x, state, *weights):
        arrays = [t.detach().cpu().numpy() for t in (x, *state, *weights)]
        h, c = cell_per_gate(*arrays)
        return torch.from_numpy(h).to(x.device), torch.from_numpy(c).to(x.device)

    with pytest.raises(GradingError, match="autograd cannot reach h_next"):
        check_lstm_cell_torch(via_numpy)


def test_torch_cell_with_a_detached_state_is_told_so():
    def detached(x, state, *weights):
        return torch_cell_hx(x, (state[0].detach(), state[1].detach()), *weights)

    with pytest.raises(GradingError, match=r"no gradient reaches h, c\b"):
        check_lstm_cell_torch(detached)


# ------------------------------------------------------------- the sequence


def sequence_loop(x, state, W_ih, W_hh, b_ih, b_hh):
    """Correct: a list of h_t, stacked at the end."""
    outputs = []
    for t in range(x.shape[0]):
        state = torch_cell_per_gate(x[t], state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state


def sequence_projected(x, state, W_ih, W_hh, b_ih, b_hh):
    """Correct: every step's x W_ih^T + b_ih in one product, written into a preallocated output."""
    L, N, _ = x.shape
    h, c = state
    x_proj = x @ W_ih.T + b_ih  # (L, N, 4H)
    output = x.new_empty(L, N, h.shape[1])
    for t in range(L):
        i, f, g, o = (x_proj[t] + h @ W_hh.T + b_hh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        output[t] = h
    return output, (h, c)


@pytest.mark.parametrize("student", [sequence_loop, sequence_projected])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_sequences_pass(student, hidden, capsys):
    check_lstm_forward(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_forward") and out.err == ""


@pytest.mark.parametrize(
    "name, keywords",
    [(n, k) for n, _, k in SEQUENCE_MISTAKES],
    ids=[n for n, _, _ in SEQUENCE_MISTAKES],
)
def test_each_sequence_mistake_is_named(name, keywords):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(name)):
        check_lstm_forward(partial(lstm_forward_variant, **keywords))


def test_every_sequence_mistake_is_catalogued():
    assert [m.name for m in SEQUENCE.mistakes] == [name for name, _, _ in SEQUENCE_MISTAKES]


def test_sequence_delegation_is_refused():
    def torch_lstm(x, state, W_ih, W_hh, b_ih, b_hh):
        lstm = torch.nn.LSTM(W_ih.shape[1], W_hh.shape[1]).to(x)
        output, (h_n, c_n) = lstm(x, (state[0][None], state[1][None]))
        return output, (h_n[0], c_n[0])

    with pytest.raises(GradingError, match=r"write it yourself.*torch\.nn\.modules\.rnn\.LSTM\b"):
        check_lstm_forward(torch_lstm)


def test_sequence_with_a_flat_return_is_told_the_structure():
    def flat(*args):
        output, (h_n, c_n) = sequence_loop(*args)
        return output, h_n, c_n

    with pytest.raises(GradingError, match=re.escape("expected (output, (h_n, c_n))")):
        check_lstm_forward(flat)


# ------------------------------------------------------------- the backward


def backward_per_gate(dh_next, dc_next, cache):
    """Correct: c_next recomputed, one gate at a time, dW as a sum of outer products."""
    x, h, W_ih, W_hh, b_ih, b_hh = cache["affine_inputs"]
    i, f, g, o = cache["gates"]
    c = cache["c"]
    tanh_c_next = np.tanh(f * c + i * g)
    dc_next_total = dc_next + dh_next * o * (1 - tanh_c_next**2)
    da = np.hstack([
        dc_next_total * g * i * (1 - i),
        dc_next_total * c * f * (1 - f),
        dc_next_total * i * (1 - g**2),
        dh_next * tanh_c_next * o * (1 - o),
    ])  # fmt: skip
    dW_ih = sum(np.outer(da[n], x[n]) for n in range(x.shape[0]))
    dW_hh = sum(np.outer(da[n], h[n]) for n in range(x.shape[0]))
    db = np.einsum("nk->k", da)
    return da @ W_ih, da @ W_hh, dc_next_total * f, dW_ih, dW_hh, db, db


@pytest.mark.parametrize("hidden", [False, True])
def test_a_correct_backward_passes(hidden, capsys):
    check_lstm_cell_backward(backward_per_gate, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_cell_backward") and out.err == ""


@pytest.mark.parametrize("mistake", BACKWARD.mistakes, ids=lambda m: m.name)
def test_each_backward_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_lstm_cell_backward(mistake.fn)


def test_backward_delegation_is_refused():
    def reference(dh_next, dc_next, cache):
        dx, dh, dc, grads = numpy_ref.lstm_cell_backward(dh_next, dc_next, cache)
        return dx, dh, dc, *grads.values()

    with pytest.raises(GradingError, match=r"lstm_ref\.numpy_ref\.lstm_cell_backward"):
        check_lstm_cell_backward(reference)


def test_backward_returning_a_dict_is_told_the_count():
    def as_dict(dh_next, dc_next, cache):
        return dict(zip("abcdefg", backward_per_gate(dh_next, dc_next, cache)))

    with pytest.raises(GradingError, match="expected your function to return 7 values"):
        check_lstm_cell_backward(as_dict)


# ---------------------------------------------------------- the gradient check

NAMES = ["x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"]


def grad_check_own_forward(backward, inputs, dh_next, dc_next):
    """Correct: the loss from a student's own forward, weighted sums by np.vdot."""

    def loss(**arrays):
        h_next, c_next = cell_hx_loop(*(arrays[name] for name in NAMES))
        return np.vdot(dh_next, h_next) + np.vdot(dc_next, c_next)

    cache = numpy_ref.lstm_cell_forward(*(inputs[name] for name in NAMES))[2]
    dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh = backward(dh_next, dc_next, cache)
    analytic = {"W_hh": dW_hh, "W_ih": dW_ih, "b_hh": db_hh, "b_ih": db_ih,
                "c": dc, "h": dh, "x": dx}  # fmt: skip
    return numpy_ref.grad_check(loss, dict(inputs), analytic)


@pytest.mark.parametrize("hidden", [False, True])
def test_a_correct_grad_check_passes(hidden, capsys):
    check_grad_check_lstm_cell(grad_check_own_forward, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ grad_check_lstm_cell") and out.err == ""


@pytest.mark.parametrize(
    "name, function",
    [(n, f) for n, _, f in GRAD_CHECK_MISTAKES],
    ids=[n for n, _, _ in GRAD_CHECK_MISTAKES],
)
def test_each_grad_check_mistake_is_named(name, function):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(name)):
        check_grad_check_lstm_cell(function)


def test_every_grad_check_mistake_is_catalogued():
    assert [m.name for m in GRAD_CHECK.mistakes] == [name for name, _, _ in GRAD_CHECK_MISTAKES]


def test_grad_check_must_return_the_report_and_check_every_gradient():
    with pytest.raises(GradingError, match="expected the GradCheckReport"):
        check_grad_check_lstm_cell(lambda *args: bool(grad_check_own_forward(*args)))

    def only_weights(backward, inputs, dh_next, dc_next):
        def loss(**arrays):
            h_next, c_next, _ = numpy_ref.lstm_cell_forward(**arrays)
            return np.sum(dh_next * h_next) + np.sum(dc_next * c_next)

        grads = backward(dh_next, dc_next, numpy_ref.lstm_cell_forward(**inputs)[2])
        return numpy_ref.grad_check(loss, inputs, {"W_ih": grads[3], "W_hh": grads[4]})

    with pytest.raises(GradingError, match="no gradient for x, h, c, b_ih, b_hh"):
        check_grad_check_lstm_cell(only_weights)


@pytest.mark.parametrize(
    "check",
    [check_sigmoid, check_lstm_cell_forward, check_lstm_cell_torch, check_lstm_forward,
     check_lstm_cell_backward, check_grad_check_lstm_cell],
)  # fmt: skip
def test_stubs_are_explained(check):
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="still the stub"):
        check(stub)
    with pytest.raises(GradingError, match="expected a function"):
        check(None)
