"""Chapter 2's checks: correct code written differently passes, each known mistake is
named, delegating to a ready-made LSTM is refused, and the student-like corpus (CORRECT,
BUGS) that tests/test_grading_corpus.py runs."""

import json
import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstm_ref import numpy_ref
from lstm_ref.grading import GradingError
from lstm_ref.grading.judge import expected_outcomes
from lstm_ref.grading.lstm_cell import (
    BACKWARD,
    GRAD_CHECK,
    NUMPY_CELL,
    SEQUENCE,
    SIGMOID,
    TORCH_CELL,
    check_grad_check_lstm_cell,
    check_lstm_cell_backward,
    check_lstm_cell_forward,
    check_lstm_cell_torch,
    check_lstm_forward,
    check_sigmoid,
    course_cell,
)
from lstm_ref.grading.lstm_cell.grad_check import MISTAKES as GRAD_CHECK_MISTAKES
from lstm_ref.grading.lstm_cell.grad_check import variant as grad_check_variant
from lstm_ref.nn.functional import lstm_cell
from tests.support.grading import Bug, unguarded, verdict

SOLUTION = Path(__file__).parents[1] / "solutions" / "02_lstm_cell" / "02_lstm_cell.ipynb"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tensors are tiny: one thread is fastest, and unslowed by a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sampled(mistakes):
    """Every mistake, but of the 23 gate orders (the catalogue's, tested there) only three:
    naming one in a torch check runs autograd for each mistake tried before it."""
    orders = [m for m in mistakes if m.name.startswith("the gate blocks are read")]
    keep = {id(m) for m in (orders[:2] + orders[-1:])}
    return [m for m in mistakes if m not in orders or id(m) in keep]


def _named(check, mistake):
    result = verdict(unguarded(check), mistake.fn)
    assert not result.passed and result.mistake == mistake.name, result.message


# ================================================================ exercise 1: sigmoid


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


def sigmoid_where(a):
    """Correct: the notebook's z = exp(-|a|), with a debugging print."""
    z = np.exp(-np.abs(a))
    print("z in", z.min() if z.size else None, z.max() if z.size else None)
    return np.where(a >= 0, 1 / (1 + z), z / (1 + z))


def stable_sigmoid(a):
    z = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_textbook(a):
    return 1 / (1 + np.exp(-a))


def sigmoid_where_naive(a):
    return np.where(a >= 0, 1 / (1 + np.exp(-a)), np.exp(a) / (1 + np.exp(a)))


def sigmoid_branches_swapped(a):
    z = np.exp(-np.abs(a))
    return np.where(a >= 0, z / (1 + z), 1 / (1 + z))


def sigmoid_abs(a):
    return 1 / (1 + np.exp(-np.abs(a)))


def sigmoid_tanh_unhalved(a):
    return (1 + np.tanh(a)) / 2


def sigmoid_float64(a):
    out = np.zeros(np.shape(a))
    z = np.exp(-np.abs(a))
    out[...] = np.where(a >= 0, 1 / (1 + z), z / (1 + z))
    return out


def sigmoid_negative_branch(a):
    z = np.exp(-np.abs(a))
    return z / (1 + z)


@pytest.mark.parametrize("student", [sigmoid_masks, sigmoid_logaddexp, sigmoid_where])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_sigmoids_pass(student, hidden, capsys):
    check_sigmoid(student, hidden=hidden)
    out = capsys.readouterr()
    assert "✓ sigmoid" in out.out and out.err == ""


@pytest.mark.parametrize("mistake", SIGMOID.mistakes, ids=lambda m: m.name)
def test_each_sigmoid_mistake_is_named(mistake):
    _named(check_sigmoid, mistake)


@pytest.mark.parametrize("naive", [sigmoid_textbook, sigmoid_where_naive])
def test_overflowing_sigmoid_is_reported_not_warned(naive, capsys):
    with pytest.raises(GradingError, match="(?s)overflow encountered in exp.*numerically stable"):
        check_sigmoid(naive)
    assert capsys.readouterr().err == ""


def test_sigmoid_delegation_is_refused():
    with pytest.raises(GradingError, match=r"write it yourself.*lstm_ref\.numpy_ref\.sigmoid"):
        check_sigmoid(numpy_ref.sigmoid)


# ================================================================ exercise 2: the NumPy cell


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


def _np_cell(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", sig=stable_sigmoid):
    """A student's cell, with the blocks unpacked in ``order``."""
    a = np.dot(x, W_ih.T) + b_ih + np.dot(h, W_hh.T) + b_hh
    blocks = dict(zip(order, np.split(a, 4, axis=1)))
    i, f, g, o = sig(blocks["i"]), sig(blocks["f"]), np.tanh(blocks["g"]), sig(blocks["o"])
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next


def np_cell_ifog(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _np_cell(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifog")


def np_cell_only_b_hh(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + h @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    c_next = stable_sigmoid(f) * c + stable_sigmoid(i) * np.tanh(g)
    return stable_sigmoid(o) * np.tanh(c_next), c_next


def np_cell_only_b_ih(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _np_cell(x, h, c, W_ih, W_hh, b_ih, np.zeros_like(b_hh))


def np_cell_float64(x, h, c, W_ih, W_hh, b_ih, b_hh):
    N, H = h.shape
    h_next, c_next = np.zeros((N, H)), np.zeros((N, H))
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    c_next[:] = stable_sigmoid(f) * c + stable_sigmoid(i) * np.tanh(g)
    h_next[:] = stable_sigmoid(o) * np.tanh(c_next)
    return h_next, c_next


def np_cell_returns_c_h(x, h, c, W_ih, W_hh, b_ih, b_hh):
    h_next, c_next = _np_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)
    return c_next, h_next


def np_cell_sigmoid_candidate(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = (stable_sigmoid(block) for block in np.split(a, 4, axis=1))
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next


def np_cell_no_tanh(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    c_next = stable_sigmoid(f) * c + stable_sigmoid(i) * np.tanh(g)
    return stable_sigmoid(o) * c_next, c_next


def np_cell_old_c(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    h_next = stable_sigmoid(o) * np.tanh(c)
    return h_next, stable_sigmoid(f) * c + stable_sigmoid(i) * np.tanh(g)


def np_cell_textbook_sigmoid(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _np_cell(x, h, c, W_ih, W_hh, b_ih, b_hh, sig=sigmoid_textbook)


def np_cell_interleaved(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    gates = a.reshape(a.shape[0], -1, 4)  # (N, H, 4)
    i, f, o = (stable_sigmoid(gates[..., k]) for k in (0, 1, 3))
    c_next = f * c + i * np.tanh(gates[..., 2])
    return o * np.tanh(c_next), c_next


def np_cell_no_input_gate(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    c_next = stable_sigmoid(f) * c + np.tanh(g)
    return stable_sigmoid(o) * np.tanh(c_next), c_next


@pytest.mark.parametrize("student", [cell_per_gate, cell_hx_loop])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_numpy_cells_pass(student, hidden, capsys):
    check_lstm_cell_forward(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_cell_forward") and out.err == ""


@pytest.mark.parametrize("mistake", NUMPY_CELL.mistakes, ids=lambda m: m.fn.__qualname__)
def test_each_numpy_cell_mistake_is_named(mistake):
    result = verdict(unguarded(check_lstm_cell_forward), mistake.fn)
    assert not result.passed and result.mistake == mistake.name, result.message


def test_numpy_cell_delegation_is_refused():
    def reference(*args):
        return numpy_ref.lstm_cell_forward(*args)[:2]

    with pytest.raises(GradingError, match=r"lstm_ref\.numpy_ref\.lstm_cell_forward"):
        check_lstm_cell_forward(reference)


def test_numpy_cell_with_an_overflowing_sigmoid_is_told_so():
    with pytest.raises(GradingError, match="(?s)overflow.*saturated gates.*float32"):
        check_lstm_cell_forward(np_cell_textbook_sigmoid)


def test_numpy_cell_shape_error_gets_the_cell_hint():
    with pytest.raises(GradingError, match=r"x @ W_ih\.T and h @ W_hh\.T"):
        check_lstm_cell_forward(lambda x, h, c, W_ih, W_hh, b_ih, b_hh: x @ W_ih + h @ W_hh)


# ================================================================ exercise 3: the torch cell


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


def _torch_cell(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo"):
    blocks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)))
    c_next = torch.sigmoid(blocks["f"]) * c + torch.sigmoid(blocks["i"]) * torch.tanh(blocks["g"])
    return torch.sigmoid(blocks["o"]) * torch.tanh(c_next), c_next


def torch_cell_c_h(x, state, W_ih, W_hh, b_ih, b_hh):
    c, h = state
    return _torch_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)


def torch_cell_detached_state(x, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    return _torch_cell(x, h.detach(), c.detach(), W_ih, W_hh, b_ih, b_hh)


@torch.no_grad()
def torch_cell_no_grad(x, state, W_ih, W_hh, b_ih, b_hh):
    return _torch_cell(x, *state, W_ih, W_hh, b_ih, b_hh)


def torch_cell_float64_zeros(x, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    c_next = torch.zeros(c.shape, dtype=torch.float64, device=c.device)
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    c_next = c_next + torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def torch_cell_ifog(x, state, W_ih, W_hh, b_ih, b_hh):
    return _torch_cell(x, *state, W_ih, W_hh, b_ih, b_hh, order="ifog")


def torch_cell_only_b_ih(x, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    i, f, g, o = (F.linear(x, W_ih, b_ih) + F.linear(h, W_hh)).chunk(4, 1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def torch_cell_only_b_hh(x, state, W_ih, W_hh, b_ih, b_hh):
    return _torch_cell(x, *state, W_ih, W_hh, torch.zeros_like(b_ih), b_hh)


def torch_cell_returns_c_h(x, state, W_ih, W_hh, b_ih, b_hh):
    h_next, c_next = _torch_cell(x, *state, W_ih, W_hh, b_ih, b_hh)
    return c_next, h_next


def torch_cell_via_numpy(x, state, W_ih, W_hh, b_ih, b_hh):
    arrays = [t.detach().cpu().numpy() for t in (x, *state, W_ih, W_hh, b_ih, b_hh)]
    h, c = cell_per_gate(*arrays)
    return torch.from_numpy(h).to(x.device), torch.from_numpy(c).to(x.device)


def torch_cell_tanh_gates(x, state, W_ih, W_hh, b_ih, b_hh):
    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    c_next = torch.tanh(f) * c + torch.tanh(i) * torch.sigmoid(g)
    return torch.tanh(o) * torch.tanh(c_next), c_next


@pytest.mark.parametrize("student", [torch_cell_per_gate, torch_cell_hx])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_torch_cells_pass(student, hidden, capsys):
    check_lstm_cell_torch(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_cell_torch") and out.err == ""


@pytest.mark.parametrize("mistake", _sampled(TORCH_CELL.mistakes), ids=lambda m: m.fn.__qualname__)
def test_each_torch_cell_mistake_is_named(mistake):
    _named(check_lstm_cell_torch, mistake)


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


@pytest.mark.parametrize("student", [torch_cell_via_numpy, torch_cell_detached_state,
                                     torch_cell_no_grad])  # fmt: skip
def test_torch_cell_that_cuts_the_gradient_is_told_so(student):
    with pytest.raises(GradingError, match="the gradient is cut"):
        check_lstm_cell_torch(student)


def test_torch_cell_gradients_are_compared_not_only_present():
    class Scaled(torch.autograd.Function):  # right values, wrong gradient for W_hh
        @staticmethod
        def forward(ctx, W):
            return W.clone()

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    def wrong_gradient(x, state, W_ih, W_hh, b_ih, b_hh):
        return torch_cell_hx(x, state, W_ih, Scaled.apply(W_hh), b_ih, b_hh)

    with pytest.raises(GradingError, match="the gradient is cut|∂L/∂W_hh"):
        check_lstm_cell_torch(wrong_gradient)


# ================================================================ exercise 4: the sequence


def sequence_loop(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    """Correct: the given cell over time, a list of h_t stacked at the end."""
    outputs = []
    for t in range(x.shape[0]):
        state = cell(x[t], state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state


def sequence_projected(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    """Correct without the cell: every step's x W_ih^T + b_ih in one product, written
    into a preallocated output."""
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


def sequence_unbind(x, state, W_ih, W_hh, b_ih, b_hh, cell=course_cell):
    """Correct: torch.unbind over time, states kept in a list."""
    states = [state]
    for x_t in torch.unbind(x, 0):
        states.append(cell(x_t, states[-1], W_ih, W_hh, b_ih, b_hh))
    return torch.stack([h for h, _ in states[1:]], dim=0), states[-1]


def seq_no_carry(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for x_t in x:
        h_t, c_t = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h_t)
    return torch.stack(outputs), (h_t, c_t)


def seq_carry_h_only(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    h, c0 = state
    outputs = []
    for x_t in x:
        h, c = cell(x_t, (h, c0), W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def seq_collect_c(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for x_t in x:
        state = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[1])
    return torch.stack(outputs), state


def seq_record_before(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for x_t in x:
        outputs.append(state[0])
        state = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
    return torch.stack(outputs), state


def seq_batch_first(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for x_t in x:
        state = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs, dim=1), state


def seq_reversed(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for t in reversed(range(len(x))):
        state = cell(x[t], state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state


def seq_final_c_h(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for x_t in x:
        state = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    h_n, c_n = state
    return torch.stack(outputs), (c_n, h_n)


def seq_inline_c_h(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    c, h = state
    outputs = []
    for x_t in x:
        h, c = _torch_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def seq_truncated(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    outputs = []
    for x_t in x:
        h, c = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        state = (h.detach(), c.detach())  # "truncated backpropagation"
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def seq_inline_ifog(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    h, c = state
    outputs = []
    for x_t in x:
        h, c = _torch_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh, order="ifog")
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def seq_inline_only_b_ih(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    h, c = state
    outputs = []
    for x_t in x:
        h, c = _torch_cell(x_t, h, c, W_ih, W_hh, b_ih, 0 * b_hh)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def seq_float64_output(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
    output = torch.zeros(x.shape[0], x.shape[1], state[0].shape[1], dtype=torch.float64,
                         device=x.device)  # fmt: skip
    for t, x_t in enumerate(x):
        state = cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        output[t] = state[0]
    return output, state


@pytest.mark.parametrize("student", [sequence_loop, sequence_projected, sequence_unbind])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_sequences_pass(student, hidden, capsys):
    check_lstm_forward(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_forward") and out.err == ""


def _as_student(flat):
    """A mistake's flat (output, h_n, c_n) as a student's (output, (h_n, c_n))."""

    def student(*args, cell=None):
        output, h_n, c_n = flat(*args)
        return output, (h_n, c_n)

    return student


@pytest.mark.parametrize("mistake", _sampled(SEQUENCE.mistakes), ids=lambda m: m.fn.__qualname__)
def test_each_sequence_mistake_is_named(mistake):
    result = verdict(unguarded(check_lstm_forward), _as_student(mistake.fn))
    assert not result.passed and result.mistake == mistake.name, result.message


def test_the_sequence_is_given_the_course_cell():
    """A wrong exercise 3 does not cost exercise 4: the test passes its own cell."""

    def wrong_cell(x, state, *weights):
        return torch_cell_ifog(x, state, *weights)

    def uses_given_cell(x, state, W_ih, W_hh, b_ih, b_hh, cell=wrong_cell):
        return sequence_loop(x, state, W_ih, W_hh, b_ih, b_hh, cell=cell)

    check_lstm_forward(uses_given_cell, hidden=True)


def test_sequence_delegation_is_refused():
    def torch_lstm(x, state, W_ih, W_hh, b_ih, b_hh, cell=None):
        lstm = torch.nn.LSTM(W_ih.shape[1], W_hh.shape[1]).to(x)
        output, (h_n, c_n) = lstm(x, (state[0][None], state[1][None]))
        return output, (h_n[0], c_n[0])

    with pytest.raises(GradingError, match=r"write it yourself.*torch\.nn\.modules\.rnn\.LSTM\b"):
        check_lstm_forward(torch_lstm)


def test_sequence_with_a_flat_return_is_told_the_structure():
    def flat(*args, cell=None):
        output, (h_n, c_n) = sequence_loop(*args, cell=cell)
        return output, h_n, c_n

    with pytest.raises(GradingError, match=re.escape("expected (output, (h_n, c_n))")):
        check_lstm_forward(flat)


# ================================================================ exercise 5: the backward


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


def backward_einsum(dh_next, dc_next, cache):
    """Correct: einsum products, the blocks written into a preallocated da."""
    x, h, W_ih, W_hh, _, _ = cache["affine_inputs"]
    i, f, g, o = cache["gates"]
    t = cache["tanh_c_next"]
    H = h.shape[1]
    dc_total = dc_next + dh_next * o * (1 - t * t)
    da = np.empty((x.shape[0], 4 * H), dtype=x.dtype)
    da[:, :H] = dc_total * g * i * (1 - i)
    da[:, H : 2 * H] = dc_total * cache["c"] * f * (1 - f)
    da[:, 2 * H : 3 * H] = dc_total * i * (1 - g * g)
    da[:, 3 * H :] = dh_next * t * o * (1 - o)
    db = da.sum(0)
    return (np.einsum("nk,ki->ni", da, W_ih), np.einsum("nk,kj->nj", da, W_hh), dc_total * f,
            np.einsum("nk,ni->ki", da, x), np.einsum("nk,nj->kj", da, h), db, db.copy())


def _backward(dh_next, dc_next, cache, *, h_path=True, c_path=True, ds=None, dg=None,
              o_factor=True, f_factor=True, order="ifgo", dW_T=False, db=np.sum,
              zeros=np.zeros_like):  # fmt: skip
    """A student's backward; each keyword one way of getting it wrong."""
    x, h, W_ih, W_hh, b_ih, b_hh = cache["affine_inputs"]
    i, f, g, o = cache["gates"]
    c, t = cache["c"], cache["tanh_c_next"]
    ds = ds or (lambda s: s * (1 - s))
    dg = dg or (lambda v: 1 - v**2)
    dc_total = zeros(c)
    if c_path:
        dc_total = dc_total + dc_next
    if h_path:
        dc_total = dc_total + dh_next * o * (1 - t**2)
    blocks = {"i": dc_total * g * ds(i), "f": dc_total * c * ds(f), "g": dc_total * i * dg(g),
              "o": dh_next * (t if o_factor else 1) * ds(o)}  # fmt: skip
    da = np.concatenate([blocks[k] for k in order], axis=1)
    dW_ih, dW_hh = (x.T @ da, h.T @ da) if dW_T else (da.T @ x, da.T @ h)
    bias = db(da, axis=0) if db is not None else da
    return da @ W_ih, da @ W_hh, dc_total * (f if f_factor else 1), dW_ih, dW_hh, bias, bias


def bw_no_h_path(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, h_path=False)


def bw_no_dc_next(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, c_path=False)


def bw_sigmoid_prime_s(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, ds=lambda s: s)


def bw_candidate_sigmoid_prime(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, dg=lambda v: v * (1 - v))


def bw_no_tanh_in_da_o(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, o_factor=False)


def bw_no_f_in_dc(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, f_factor=False)


def bw_ifog(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, order="ifog")


def bw_transposed_dW(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, dW_T=True)


def bw_db_mean(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, db=np.mean)


def bw_float64(dh_next, dc_next, cache):
    return _backward(dh_next, dc_next, cache, zeros=lambda a: np.zeros(a.shape))


def bw_returns_dc_dh(dh_next, dc_next, cache):
    dx, dh, dc, *params = backward_per_gate(dh_next, dc_next, cache)
    return dx, dc, dh, *params


def bw_unpack_ifog(dh_next, dc_next, cache):
    i, f, o, g = cache["gates"]
    return _backward(dh_next, dc_next, {**cache, "gates": (i, f, g, o)})


@pytest.mark.parametrize("student", [backward_per_gate, backward_einsum])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_backwards_pass(student, hidden, capsys):
    check_lstm_cell_backward(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_cell_backward") and out.err == ""


@pytest.mark.parametrize("mistake", BACKWARD.mistakes, ids=lambda m: m.name)
def test_each_backward_mistake_is_named(mistake):
    _named(check_lstm_cell_backward, mistake)


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


# ================================================================ exercise 6: the grad check

NAMES = ["x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"]


def grad_check_vdot(backward, inputs, dh_next, dc_next):
    """Correct: weighted sums by np.vdot, the analytic dict written out by hand."""

    def loss(**arrays):
        h_next, c_next, _ = numpy_ref.lstm_cell_forward(*(arrays[name] for name in NAMES))
        return np.vdot(dh_next, h_next) + np.vdot(dc_next, c_next)

    cache = numpy_ref.lstm_cell_forward(*(inputs[name] for name in NAMES))[2]
    dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh = backward(dh_next, dc_next, cache)
    analytic = {"W_hh": dW_hh, "W_ih": dW_ih, "b_hh": db_hh, "b_ih": db_ih,
                "c": dc, "h": dh, "x": dx}  # fmt: skip
    return numpy_ref.grad_check(loss, dict(inputs), analytic)


def grad_check_zip(backward, inputs, dh_next, dc_next):
    """Correct: the notebook's solution, with a print of the report."""

    def loss(x, h, c, W_ih, W_hh, b_ih, b_hh):
        h_next, c_next, _ = numpy_ref.lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
        return np.sum(dh_next * h_next) + np.sum(dc_next * c_next)

    _, _, cache = numpy_ref.lstm_cell_forward(**inputs)
    analytic = dict(zip(NAMES, backward(dh_next, dc_next, cache)))
    report = numpy_ref.grad_check(loss, inputs, analytic)
    print(report)
    return report


def _grad_check(backward, inputs, dh_next, dc_next, *, total=np.sum, w=None, upstream=None,
                names=NAMES, frozen=False):  # fmt: skip
    """A student's grad check; each keyword one way of getting it wrong."""
    w_h, w_c = w if w is not None else (dh_next, dc_next)

    def loss(**arrays):
        args = inputs if frozen else arrays
        h_next, c_next, _ = numpy_ref.lstm_cell_forward(**args)
        return total(w_h * h_next) + total(w_c * c_next)

    cache = numpy_ref.lstm_cell_forward(**inputs)[2]
    grads = backward(*(upstream or (dh_next, dc_next)), cache)
    return numpy_ref.grad_check(loss, inputs, dict(zip(names, grads)))


def gc_unweighted(backward, inputs, dh_next, dc_next):
    return _grad_check(backward, inputs, dh_next, dc_next, w=(1.0, 1.0))


def gc_without_c(backward, inputs, dh_next, dc_next):
    def loss(**arrays):
        h_next, _, _ = numpy_ref.lstm_cell_forward(**arrays)
        return np.sum(dh_next * h_next)

    cache = numpy_ref.lstm_cell_forward(**inputs)[2]
    return numpy_ref.grad_check(loss, inputs, dict(zip(NAMES, backward(dh_next, dc_next, cache))))


def gc_mean(backward, inputs, dh_next, dc_next):
    return _grad_check(backward, inputs, dh_next, dc_next, total=np.mean)


def gc_swapped_call(backward, inputs, dh_next, dc_next):
    return _grad_check(backward, inputs, dh_next, dc_next, upstream=(dc_next, dh_next))


def gc_swapped_loss(backward, inputs, dh_next, dc_next):
    return _grad_check(backward, inputs, dh_next, dc_next, w=(dc_next, dh_next))


def gc_frozen_inputs(backward, inputs, dh_next, dc_next):
    return _grad_check(backward, inputs, dh_next, dc_next, frozen=True)


def gc_names_h_c(backward, inputs, dh_next, dc_next):
    names = ["x", "c", "h", "W_ih", "W_hh", "b_ih", "b_hh"]
    return _grad_check(backward, inputs, dh_next, dc_next, names=names)


@pytest.mark.parametrize("student", [grad_check_vdot, grad_check_zip])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_grad_checks_pass(student, hidden, capsys):
    check_grad_check_lstm_cell(student, hidden=hidden)
    out = capsys.readouterr()
    assert "✓ grad_check_lstm_cell" in out.out and out.err == ""


@pytest.mark.parametrize("name, keywords", [(n, k) for n, _, k in GRAD_CHECK_MISTAKES],
                         ids=[str(k) for _, _, k in GRAD_CHECK_MISTAKES])  # fmt: skip
def test_each_grad_check_mistake_is_named(name, keywords):
    result = verdict(check_grad_check_lstm_cell, partial(grad_check_variant, **keywords), True)
    assert not result.passed and result.mistake == name, result.message


def test_every_grad_check_mistake_is_listed():
    assert [m.name for m in GRAD_CHECK.mistakes] == [n for n, _, _ in GRAD_CHECK_MISTAKES]


def test_grad_check_stands_alone_from_the_students_forward():
    """Exercise 6 takes lstm_ref's forward for the cache and the loss, so a wrong exercise
    2 cannot change its verdict: the solution, and the instructions, say so."""
    notebook = json.loads(SOLUTION.read_text())
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
             for c in notebook["cells"]}  # fmt: skip
    solution = cells["grad_check_lstm_cell"]
    assert re.search(r"(?<![.\w])lstm_cell_forward\(", solution) is None, solution
    assert solution.count("numpy_ref.lstm_cell_forward(") == 2
    assert "numpy_ref.lstm_cell_forward" in cells["ex6"] and "your own" not in cells["ex6"]


def test_grad_check_must_return_the_report_and_check_every_gradient():
    with pytest.raises(GradingError, match="expected the GradCheckReport"):
        check_grad_check_lstm_cell(lambda *args: bool(grad_check_vdot(*args)))

    def only_weights(backward, inputs, dh_next, dc_next):
        def loss(**arrays):
            h_next, c_next, _ = numpy_ref.lstm_cell_forward(**arrays)
            return np.sum(dh_next * h_next) + np.sum(dc_next * c_next)

        grads = backward(dh_next, dc_next, numpy_ref.lstm_cell_forward(**inputs)[2])
        return numpy_ref.grad_check(loss, inputs, {"W_ih": grads[3], "W_hh": grads[4]})

    with pytest.raises(GradingError, match="no gradient for x, h, c, b_ih, b_hh"):
        check_grad_check_lstm_cell(only_weights)


# ================================================================ all exercises

CHECKS = [check_sigmoid, check_lstm_cell_forward, check_lstm_cell_torch, check_lstm_forward,
          check_lstm_cell_backward, check_grad_check_lstm_cell]  # fmt: skip


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_stubs_are_explained(check):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="still the stub"):
        check(stub)
    with pytest.raises(GradingError, match="expected a function"):
        check(None)


@pytest.mark.parametrize("check", CHECKS[:-1], ids=lambda c: c.name)
def test_references_follow_the_inputs_dtype(check):
    """Every reference returns the inputs' floating dtype, so a float64 result for float32
    inputs (or the reverse) fails. (The grad check's outputs are counts.)"""
    for part in check.parts:
        cases = part.cases(True)
        for case, outcome in zip(cases, expected_outcomes(part.check, cases)):
            for value in outcome.values:
                assert value.dtype == np.dtype(case.dtype).name, (case.label, value)


# ================================================================ the corpus

torch_cell_compiled = torch.compile(torch_cell_per_gate)  # correct, compiled

CORRECT = {
    check_sigmoid: [sigmoid_masks, sigmoid_logaddexp, stable_sigmoid],
    check_lstm_cell_forward: [cell_per_gate, cell_hx_loop],
    check_lstm_cell_torch: [torch_cell_per_gate, torch_cell_hx, torch_cell_compiled],
    check_lstm_forward: [sequence_loop, sequence_projected, sequence_unbind],
    check_lstm_cell_backward: [backward_per_gate, backward_einsum],
    check_grad_check_lstm_cell: [grad_check_vdot, grad_check_zip],
}
BUGS = {
    check_sigmoid: [
        Bug(sigmoid_textbook, "overflow"),
        Bug(sigmoid_where_naive, "overflow"),
        Bug(sigmoid_branches_swapped, "sigmoid(-a)"),
        Bug(sigmoid_abs, "sigmoid(|a|)"),
        Bug(sigmoid_tanh_unhalved, "sigmoid(2a)"),
        Bug(sigmoid_float64, "dtype"),
        Bug(sigmoid_negative_branch, "sigmoid(-|a|)"),
    ],
    check_lstm_cell_forward: [
        Bug(np_cell_ifog, "the order i, f, o, g"),
        Bug(np_cell_only_b_hh, "only one of the two biases"),
        Bug(np_cell_only_b_ih, "only one of the two biases"),
        Bug(np_cell_float64, "dtype"),
        Bug(np_cell_returns_c_h, "h_next and c_next are returned in each other's place"),
        Bug(np_cell_sigmoid_candidate, "a sigmoid on the candidate g"),
        Bug(np_cell_no_tanh, "without the tanh"),
        Bug(np_cell_old_c, "old cell state"),
        Bug(np_cell_textbook_sigmoid, "overflow"),
        Bug(np_cell_interleaved, "interleaved"),
        Bug(np_cell_no_input_gate, "the input gate is left out"),
    ],
    check_lstm_cell_torch: [
        Bug(torch_cell_c_h, "unpacked as (c, h)"),
        Bug(torch_cell_detached_state, "the gradient is cut"),
        Bug(torch_cell_no_grad, "the gradient is cut"),
        Bug(torch_cell_via_numpy, "the gradient is cut"),
        Bug(torch_cell_float64_zeros, "dtype"),
        Bug(torch_cell_ifog, "the order i, f, o, g"),
        Bug(torch_cell_only_b_ih, "only one of the two biases"),
        Bug(torch_cell_only_b_hh, "only one of the two biases"),
        Bug(torch_cell_returns_c_h, "h_next and c_next are returned in each other's place"),
        Bug(torch_cell_tanh_gates, "sigmoid and tanh swapped"),
    ],
    check_lstm_forward: [
        Bug(seq_no_carry, "every step starts from the initial state"),
        Bug(seq_carry_h_only, "the cell state c is not carried"),
        Bug(seq_collect_c, "output collects c_t"),
        Bug(seq_record_before, "h_{t-1}"),
        Bug(seq_batch_first, "batch-first"),
        Bug(seq_reversed, "backwards in time"),
        Bug(seq_final_c_h, "h_n and c_n are returned in each other's place"),
        Bug(seq_inline_c_h, "unpacked as (c, h)"),
        Bug(seq_truncated, "the gradient is cut"),
        Bug(seq_inline_ifog, "the order i, f, o, g"),
        Bug(seq_inline_only_b_ih, "only one of the two biases"),
        Bug(seq_float64_output, "dtype"),
    ],
    check_lstm_cell_backward: [
        Bug(bw_no_h_path, "through tanh(c_next) is missing"),
        Bug(bw_no_dc_next, "dc_next is left out"),
        Bug(bw_sigmoid_prime_s, "sigmoid' taken as s"),
        Bug(bw_candidate_sigmoid_prime, "a sigmoid's"),
        Bug(bw_no_tanh_in_da_o, "missing the factor tanh(c_next)"),
        Bug(bw_no_f_in_dc, "dc is missing the factor f"),
        Bug(bw_ifog, "stacked in the order i, f, o, g"),
        Bug(bw_transposed_dW, "dW_ih and dW_hh transposed"),
        Bug(bw_db_mean, "averaged over the batch"),
        Bug(bw_float64, "dtype"),
        Bug(bw_returns_dc_dh, "dh and dc are returned in each other's place"),
        Bug(bw_unpack_ifog, 'unpacked as i, f, o, g'),
    ],
    check_grad_check_lstm_cell: [
        Bug(gc_unweighted, "without the weights dh_next and dc_next"),
        Bug(gc_without_c, "the loss leaves out c_next"),
        Bug(gc_mean, "np.mean"),
        Bug(gc_swapped_call, "dh_next and dc_next swapped"),
        Bug(gc_swapped_loss, "dh_next and dc_next swapped"),
        Bug(gc_frozen_inputs, "the loss ignores its arguments"),
        Bug(gc_names_h_c, "under each other's names"),
    ],
}
