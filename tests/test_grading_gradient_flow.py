"""Chapter 4's checks: correct code written differently passes, each known mistake is
named, and delegating BPTT to lstm_ref's backward pass is refused."""

import re

import numpy as np
import pytest
import torch

from lstm_ref.gradflow import input_gradient_norms
from lstm_ref.grading import GradingError
from lstm_ref.grading.gradient_flow import (
    FIRST_STEP_GRADIENT,
    INIT_FORGET_BIAS,
    LSTM_BPTT,
    bptt_cases,
    bptt_variant,
    check_first_step_gradient,
    check_init_forget_bias,
    check_lstm_bptt,
    first_step_variant,
    forget_bias_variant,
    init_forget_bias_reference,
)
from lstm_ref.nn import LSTM as RefLSTM
from lstm_ref.numpy_ref import lstm_backward, lstm_cell_backward


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is faster, and steady on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- lstm_bptt


def sigmoid(a):
    return 0.5 * (1 + np.tanh(a / 2))  # never overflows


def bptt_recomputed(d_out, dh_n, dc_n, caches):
    """Correct: recomputes the gates from the affine inputs, one gate matrix at a time."""
    x, _, W_ih, W_hh, b_ih, b_hh = caches[0]["affine_inputs"]
    H = W_hh.shape[1]
    W_i, W_h, b = np.split(W_ih, 4), np.split(W_hh, 4), np.split(b_ih + b_hh, 4)
    grads = {"W_ih": np.zeros_like(W_ih), "W_hh": np.zeros_like(W_hh),
             "b_ih": np.zeros_like(b_ih), "b_hh": np.zeros_like(b_hh)}  # fmt: skip
    dx = np.zeros((len(caches), *x.shape), dtype=x.dtype)
    dh, dc = dh_n.copy(), dc_n.copy()
    for t in range(len(caches) - 1, -1, -1):
        x_t, h_prev = caches[t]["affine_inputs"][:2]
        c_prev = caches[t]["c"]
        a = [x_t @ W_i[k].T + h_prev @ W_h[k].T + b[k] for k in range(4)]
        i, f, g, o = sigmoid(a[0]), sigmoid(a[1]), np.tanh(a[2]), sigmoid(a[3])
        c = f * c_prev + i * g
        dh = dh + d_out[t]
        dc = dc + dh * o * (1 - np.tanh(c) ** 2)
        da = [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
              dh * np.tanh(c) * o * (1 - o)]  # fmt: skip
        dx[t] = sum(da[k] @ W_i[k] for k in range(4))
        dh = sum(da[k] @ W_h[k] for k in range(4))
        dc = dc * f
        for k in range(4):
            rows = slice(k * H, (k + 1) * H)
            grads["W_ih"][rows] += da[k].T @ x_t
            grads["W_hh"][rows] += da[k].T @ h_prev
            grads["b_ih"][rows] += da[k].sum(axis=0)
            grads["b_hh"][rows] += da[k].sum(axis=0)
    return dx, dh, dc, grads


def bptt_einsum(d_out, dh_n, dc_n, caches):
    """Correct: stores every step's gate gradients, then sums over time with einsum."""
    dh, dc, d_gates = dh_n, dc_n, []
    for cache in caches[::-1]:
        i, f, g, o = cache["gates"]
        tanh_c = cache["tanh_c_next"]
        dh = dh + d_out[len(caches) - 1 - len(d_gates)]
        dc = dc + dh * o * (1 - tanh_c * tanh_c)
        da = np.concatenate([dc * g * i * (1 - i), dc * cache["c"] * f * (1 - f),
                             dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)], axis=1)  # fmt: skip
        W_hh = cache["affine_inputs"][3]
        dh, dc = da @ W_hh, dc * f
        d_gates.append(da)
    d_gates = np.stack(d_gates[::-1])  # (L, N, 4H)
    xs = np.stack([c["affine_inputs"][0] for c in caches])  # (L, N, I)
    hs = np.stack([c["affine_inputs"][1] for c in caches])  # (L, N, H)
    W_ih = caches[0]["affine_inputs"][2]
    db = d_gates.sum(axis=(0, 1))
    grads = {"W_ih": np.einsum("lng,lni->gi", d_gates, xs),
             "W_hh": np.einsum("lng,lnh->gh", d_gates, hs),
             "b_ih": db, "b_hh": db.copy()}  # fmt: skip
    return d_gates @ W_ih, dh, dc, grads


@pytest.mark.parametrize("student", [bptt_recomputed, bptt_einsum])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_bptt_passes(student, hidden, capsys):
    check_lstm_bptt(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ lstm_bptt") and out.err == ""


def test_bptt_variant_without_mistakes_is_the_oracle():
    for case in bptt_cases() + bptt_cases(hidden=True):
        ours, oracle = bptt_variant(*case.args), lstm_backward(*case.args)
        for a, b in zip(ours[:3], oracle[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        for name in oracle[3]:
            np.testing.assert_allclose(ours[3][name], oracle[3][name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mistake", LSTM_BPTT.mistakes, ids=lambda m: m.name)
def test_each_bptt_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_lstm_bptt(mistake.fn.student)


def test_bptt_delegation_is_refused():
    with pytest.raises(GradingError, match="write it yourself.*numpy_ref.lstm_backward"):
        check_lstm_bptt(lstm_backward)

    def through_the_cell(d_out, dh_n, dc_n, caches):
        dh, dc, dx, grads = dh_n, dc_n, [], {}
        for t in reversed(range(len(caches))):
            dx_t, dh, dc, step = lstm_cell_backward(dh + d_out[t], dc, caches[t])
            dx.insert(0, dx_t)
            grads = {k: grads.get(k, 0) + v for k, v in step.items()}
        return np.stack(dx), dh, dc, grads

    with pytest.raises(GradingError, match="write it yourself.*numpy_ref.lstm_cell_backward"):
        check_lstm_bptt(through_the_cell)


def test_bptt_return_values_are_explained():
    with pytest.raises(GradingError, match=r"return \(dx, dh0, dc0, grads\)"):
        check_lstm_bptt(lambda *args: bptt_einsum(*args)[:3])
    with pytest.raises(GradingError, match=r"missing \['b_ih', 'b_hh'\]"):
        check_lstm_bptt(lambda *args: (*bptt_einsum(*args)[:3], {"W_ih": 0, "W_hh": 0}))


def test_bptt_unknown_error_reports_where():
    def off(*args):
        dx, dh0, dc0, grads = bptt_einsum(*args)
        return dx, dh0 + 0.01, dc0, grads

    with pytest.raises(GradingError, match=r"dh0 differs: largest error 0.01"):
        check_lstm_bptt(off)


# ---------------------------------------------------------------- init_forget_bias


def init_by_attribute_names(lstm, value):
    """Correct: one layer and direction at a time, by parameter name."""
    H = lstm.hidden_size
    for layer in range(lstm.num_layers):
        for suffix in ["", "_reverse"][: 2 if lstm.bidirectional else 1]:
            b_ih = getattr(lstm, f"bias_ih_l{layer}{suffix}")
            b_hh = getattr(lstm, f"bias_hh_l{layer}{suffix}")
            with torch.no_grad():
                b_ih[H : 2 * H].fill_(value)
                b_hh[H : 2 * H].zero_()


def init_by_chunks(lstm, value):
    """Correct: through .data and chunk(4), the gates' blocks in order i, f, g, o."""
    for name, parameter in lstm.named_parameters():
        if "bias" in name:
            forget = parameter.data.chunk(4)[1]
            forget.fill_(value if "bias_ih" in name else 0.0)


@pytest.mark.parametrize("student", [init_by_attribute_names, init_by_chunks])
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_init_forget_bias_passes(student, hidden, capsys):
    check_init_forget_bias(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ init_forget_bias") and out.err == ""


@pytest.mark.parametrize("module", [torch.nn.LSTM, RefLSTM])
def test_reference_sets_the_effective_forget_bias(module):
    lstm = module(3, 4, num_layers=2, bidirectional=True)
    before = {n: p.detach().clone() for n, p in lstm.named_parameters()}
    init_forget_bias_reference(lstm, 2.5)
    for name, p in lstm.named_parameters():
        if name.startswith("bias_ih"):
            total = p + getattr(lstm, name.replace("bias_ih", "bias_hh"))
            assert torch.equal(total[4:8], torch.full((4,), 2.5))
        if name.startswith("bias"):
            rows = torch.cat([torch.arange(0, 4), torch.arange(8, 16)])
            assert torch.equal(p[rows], before[name][rows])
        else:
            assert torch.equal(p, before[name])


def test_forget_bias_variant_without_mistakes_is_the_reference():
    ours = torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    reference = RefLSTM(2, 3, num_layers=2, bidirectional=True)
    reference.load_state_dict(ours.state_dict())
    forget_bias_variant(ours, 1.5)
    init_forget_bias_reference(reference, 1.5)
    for (name, a), b in zip(ours.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("mistake", INIT_FORGET_BIAS.mistakes, ids=lambda m: m.name)
def test_each_init_forget_bias_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_init_forget_bias(mistake.fn.student)


def test_init_forget_bias_without_no_grad_gets_a_hint():
    def no_grad_forgotten(lstm, value):
        H = lstm.hidden_size
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = value

    with pytest.raises(GradingError, match=r"torch\.no_grad"):
        check_init_forget_bias(no_grad_forgotten)


# ---------------------------------------------------------------- first_step_gradient


def first_step_by_hand(forget_bias, length, seeds):
    """Correct: the seeds looped by hand, with input_gradient_norms."""
    values = []
    for seed in seeds:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            lstm = torch.nn.LSTM(1, 32)
            init_by_chunks(lstm, forget_bias)
            x = torch.randn(length, 8, 1)
        values.append(input_gradient_norms(lstm, x)[0].item())
    return sum(values) / len(values)


@pytest.mark.parametrize("hidden", [False, True])
def test_correct_first_step_gradient_passes_and_shows_the_effect(hidden, capsys):
    check_first_step_gradient(first_step_by_hand, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ first_step_gradient") and "forget bias 0:" in out.out
    assert out.err == ""


def test_forget_bias_helps_the_gradient_reach_the_first_step():
    """The claim the exercise rests on: bias 1 lets far more gradient through than 0."""
    no_bias, bias_one = (first_step_variant(b, 50, (0, 1, 2)) for b in (0.0, 1.0))
    assert bias_one > 1e3 * no_bias > 0


@pytest.mark.parametrize("mistake", FIRST_STEP_GRADIENT.mistakes, ids=lambda m: m.name)
def test_each_first_step_gradient_mistake_is_named(mistake):
    with pytest.raises(GradingError, match="known mistake: " + re.escape(mistake.name)):
        check_first_step_gradient(mistake.fn.student)


def test_first_step_gradient_must_return_one_number():
    with pytest.raises(GradingError, match="expected one number, got 50 values"):
        check_first_step_gradient(lambda b, length, seeds: torch.ones(length))
