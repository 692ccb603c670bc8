"""Chapter 4's checks: correct code written differently passes, each known mistake is
named, delegating BPTT to lstm_ref's backward pass is refused, and the student-like corpus
(CORRECT, BUGS) that tests/test_grading_corpus.py runs."""

import copy
import re

import numpy as np
import pytest
import torch

from lstm_ref.gradflow import input_gradient_norms, seeded_input_gradient_norms
from lstm_ref.grading import GradingError
from lstm_ref.grading.gradient_flow import (
    FIRST_STEP_GRADIENT,
    INIT_FORGET_BIAS,
    LSTM_BPTT,
    Module,
    bptt_cases,
    bptt_variant,
    check_first_step_gradient,
    check_init_forget_bias,
    check_lstm_bptt,
    first_step_variant,
    forget_bias_cases,
    forget_bias_variant,
    init_forget_bias_reference,
)
from lstm_ref.nn import LSTM as RefLSTM
from lstm_ref.numpy_ref import lstm_backward, lstm_cell_backward
from tests.support.grading import Bug, unguarded, verdict


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is faster, and steady on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- lstm_bptt: correct


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


def bptt_notebook(d_out, dh_n, dc_n, caches):
    """Correct: the notebook's solution, with a print on the way."""
    dh, dc = dh_n, dc_n
    dx, grads = [None] * len(caches), {}
    for t in reversed(range(len(caches))):
        x, h_prev, W_ih, W_hh, _, _ = caches[t]["affine_inputs"]
        i, f, g, o = caches[t]["gates"]
        tanh_c, c_prev = caches[t]["tanh_c_next"], caches[t]["c"]
        dh = dh + d_out[t]
        dc = dc + dh * o * (1 - tanh_c**2)
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                             dc * i * (1 - g**2), dh * tanh_c * o * (1 - o)], axis=1)  # fmt: skip
        dx[t] = da @ W_ih
        step = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev,
                "b_ih": da.sum(axis=0), "b_hh": da.sum(axis=0)}  # fmt: skip
        for name, grad in step.items():
            grads[name] = grads.get(name, 0) + grad
        dh, dc = da @ W_hh, f * dc
    print("dx", np.stack(dx).shape)
    return np.stack(dx), dh, dc, grads


# ---------------------------------------------------------------- lstm_bptt: bugs


def _bptt(d_out, dh_n, dc_n, caches, *, order="ifgo", stack="ifgo", overwrite=False,
          forget=True, transposed=False, zeros=np.zeros_like, db_hh=True, d_out_used=True):
    """A student's loop, written once; each bug below changes one line of it."""
    dh, dc = dh_n, dc_n
    _, _, W_ih0, W_hh0, b_ih0, _ = caches[0]["affine_inputs"]
    grads = {"W_ih": zeros(W_ih0), "W_hh": zeros(W_hh0), "b_ih": zeros(b_ih0),
             "b_hh": zeros(b_ih0)}  # fmt: skip
    dx = []
    for t in reversed(range(len(caches))):
        x, h_prev, W_ih, W_hh, _, _ = caches[t]["affine_inputs"]
        gates = dict(zip(order, caches[t]["gates"]))
        i, f, g, o = gates["i"], gates["f"], gates["g"], gates["o"]
        tanh_c, c_prev = caches[t]["tanh_c_next"], caches[t]["c"]
        if d_out_used:
            dh = dh + d_out[t]
        dc = dc + dh * o * (1 - tanh_c**2)
        da = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f),
              "g": dc * i * (1 - g**2), "o": dh * tanh_c * o * (1 - o)}  # fmt: skip
        da = np.concatenate([da[name] for name in stack], axis=1)
        dx.insert(0, da @ W_ih)
        dW_ih, dW_hh = (x.T @ da, h_prev.T @ da) if transposed else (da.T @ x, da.T @ h_prev)
        if overwrite:
            grads["W_ih"], grads["W_hh"] = dW_ih, dW_hh
        else:
            grads["W_ih"] = grads["W_ih"] + dW_ih
            grads["W_hh"] = grads["W_hh"] + dW_hh
        grads["b_ih"] = grads["b_ih"] + da.sum(axis=0)
        if db_hh:
            grads["b_hh"] = grads["b_hh"] + da.sum(axis=0)
        dh = da @ W_hh
        dc = f * dc if forget else dc
    return np.stack(dx), dh, dc, grads


def bptt_overwrites(d_out, dh_n, dc_n, caches):
    return _bptt(d_out, dh_n, dc_n, caches, overwrite=True)


def bptt_no_forget(d_out, dh_n, dc_n, caches):
    return _bptt(d_out, dh_n, dc_n, caches, forget=False)


def bptt_unpacks_ifog(d_out, dh_n, dc_n, caches):
    """i, f, o, g = cache["gates"]: the cached tuple read in Keras-like order."""
    return _bptt(d_out, dh_n, dc_n, caches, order="ifog")


def bptt_stacks_ifog(d_out, dh_n, dc_n, caches):
    """np.concatenate([da_i, da_f, da_o, da_g]): the gradient blocks in another order."""
    return _bptt(d_out, dh_n, dc_n, caches, stack="ifog")


def bptt_believes_fiog(d_out, dh_n, dc_n, caches):
    """Reads and stacks the gates as f, i, o, g throughout."""
    return _bptt(d_out, dh_n, dc_n, caches, order="fiog", stack="fiog")


def bptt_state_swapped(d_out, dc_n, dh_n, caches):
    """The signature's arguments in the order (dc_n, dh_n)."""
    return _bptt(d_out, dh_n, dc_n, caches)


def bptt_float64_zeros(d_out, dh_n, dc_n, caches):
    """np.zeros(shape) without a dtype: float64 gradients for float32 inputs."""
    return _bptt(d_out, dh_n, dc_n, caches, zeros=lambda a: np.zeros(a.shape))


def bptt_transposed(d_out, dh_n, dc_n, caches):
    """x.T @ da: the weight gradients summed with grads.get(name, 0), so no error shows."""
    dh, dc = dh_n, dc_n
    dx, grads = [None] * len(caches), {}
    for t in reversed(range(len(caches))):
        x, h_prev, W_ih, W_hh, _, _ = caches[t]["affine_inputs"]
        i, f, g, o = caches[t]["gates"]
        tanh_c, c_prev = caches[t]["tanh_c_next"], caches[t]["c"]
        dh = dh + d_out[t]
        dc = dc + dh * o * (1 - tanh_c**2)
        da = np.hstack([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                        dc * i * (1 - g**2), dh * tanh_c * o * (1 - o)])  # fmt: skip
        dx[t] = da @ W_ih
        for name, grad in [("W_ih", x.T @ da), ("W_hh", h_prev.T @ da),
                           ("b_ih", da.sum(0)), ("b_hh", da.sum(0))]:  # fmt: skip
            grads[name] = grads.get(name, 0) + grad
        dh, dc = da @ W_hh, f * dc
    return np.stack(dx), dh, dc, grads


def bptt_overwrites_all(d_out, dh_n, dc_n, caches):
    """grads = step: every gradient is the last step's (t = 0)."""
    dh, dc = dh_n, dc_n
    dx = np.zeros((len(caches), *caches[0]["affine_inputs"][0].shape), d_out.dtype)
    for t in reversed(range(len(caches))):
        x, h_prev, W_ih, W_hh, _, _ = caches[t]["affine_inputs"]
        i, f, g, o = caches[t]["gates"]
        tanh_c, c_prev = caches[t]["tanh_c_next"], caches[t]["c"]
        dh = dh + d_out[t]
        dc = dc + dh * o * (1 - tanh_c**2)
        da = np.hstack([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                        dc * i * (1 - g**2), dh * tanh_c * o * (1 - o)])  # fmt: skip
        dx[t] = da @ W_ih
        grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
        dh, dc = da @ W_hh, f * dc
    return dx, dh, dc, grads


def bptt_one_bias(d_out, dh_n, dc_n, caches):
    """Only b_ih's gradient is accumulated."""
    return _bptt(d_out, dh_n, dc_n, caches, db_hh=False)


def bptt_batch_first_dx(d_out, dh_n, dc_n, caches):
    dx, dh0, dc0, grads = _bptt(d_out, dh_n, dc_n, caches)
    return np.stack(list(dx), axis=1), dh0, dc0, grads  # (N, L, I)


def bptt_returns_c_first(d_out, dh_n, dc_n, caches):
    dx, dh0, dc0, grads = _bptt(d_out, dh_n, dc_n, caches)
    return dx, dc0, dh0, grads


def bptt_ignores_d_out(d_out, dh_n, dc_n, caches):
    return _bptt(d_out, dh_n, dc_n, caches, d_out_used=False)


# ---------------------------------------------------------------- init_forget_bias: correct


def init_by_attribute_names(lstm, value):
    """Correct: one layer and direction at a time, by parameter name (getattr)."""
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


def init_by_all_weights(lstm, value):
    """Correct: over lstm.all_weights, [W_ih, W_hh, b_ih, b_hh] per layer and direction."""
    H = lstm.hidden_size
    print(f"setting the forget bias of {len(lstm.all_weights)} layer-directions")
    with torch.no_grad():
        for _w_ih, _w_hh, b_ih, b_hh in lstm.all_weights:
            b_ih[H : 2 * H] = value
            b_hh[H : 2 * H] = 0


def init_by_named_parameters(lstm, value):
    """Correct: the notebook's solution, over named_parameters()."""
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = value
            elif name.startswith("bias_hh"):
                parameter[H : 2 * H] = 0.0


# ---------------------------------------------------------------- init_forget_bias: bugs


def init_input_gate_block(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if "bias_ih" in name:
                p[:H] = value
            elif "bias_hh" in name:
                p[:H] = 0


def init_tensorflow_order(lstm, value):
    """TensorFlow's i, g, f, o: the forget block is the third."""
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias"):
                p.chunk(4)[2].fill_(value if "ih" in name else 0.0)


def init_both_biases(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if "bias" in name:
                p[H : 2 * H] = value


def init_only_b_ih(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for layer in lstm.all_weights:
            b_ih = layer[2]
            b_ih[H : 2 * H] = value


def init_first_layer(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        lstm.bias_ih_l0[H : 2 * H] = value
        lstm.bias_hh_l0[H : 2 * H] = 0.0
        if lstm.bidirectional:
            lstm.bias_ih_l0_reverse[H : 2 * H] = value
            lstm.bias_hh_l0_reverse[H : 2 * H] = 0.0


def init_forward_only(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for k in range(lstm.num_layers):
            getattr(lstm, f"bias_ih_l{k}")[H : 2 * H] = value
            getattr(lstm, f"bias_hh_l{k}")[H : 2 * H] = 0.0


def init_whole_bias(lstm, value):
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p.fill_(value)
            elif name.startswith("bias_hh"):
                p.zero_()


def init_on_a_copy(lstm, value):
    lstm = copy.deepcopy(lstm)
    init_by_named_parameters(lstm, value)


def init_input_size(lstm, value):
    H = lstm.input_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[H : 2 * H] = value
            elif name.startswith("bias_hh"):
                p[H : 2 * H] = 0.0


def init_zeroes_everything(lstm, value):
    """Zeroes every parameter, then sets the forget bias."""
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.zero_()
            if name.startswith("bias_ih"):
                p[H : 2 * H] = value


def init_float32_rebuilt(lstm, value):
    """Rebuilds each bias with torch.tensor(list): float32 whatever the module's dtype."""
    H = lstm.hidden_size
    for name, p in lstm.named_parameters():
        if name.startswith("bias"):
            values = p.tolist()
            values[H : 2 * H] = [value if "ih" in name else 0.0] * H
            p.data = torch.tensor(values, device=p.device)


def init_swapped_roles(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_hh"):
                p[H : 2 * H] = value
            elif name.startswith("bias_ih"):
                p[H : 2 * H] = 0.0


# ---------------------------------------------------------------- first_step_gradient


def first_step_by_hand(forget_bias, length, seeds):
    """Correct: the seeds looped by hand, with input_gradient_norms."""
    values = []
    for seed in seeds:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            lstm = torch.nn.LSTM(1, 32)
            init_forget_bias(lstm, forget_bias)  # noqa: F821 - the course's, while checked
            x = torch.randn(length, 8, 1)
        values.append(input_gradient_norms(lstm, x)[0].item())
    return sum(values) / len(values)


def first_step_notebook(forget_bias, length, seeds):
    """Correct: the notebook's solution."""

    def make_module():
        lstm = torch.nn.LSTM(1, 32)
        init_forget_bias(lstm, forget_bias)  # noqa: F821
        return lstm

    norms = seeded_input_gradient_norms(make_module, lambda: torch.randn(length, 8, 1), seeds)
    return norms[:, 0].mean().item()


def first_step_inline(forget_bias, length, seeds):
    """Correct: the bias set inline (chunks), the mean taken in NumPy."""

    def make_module():
        lstm = torch.nn.LSTM(1, 32)
        init_by_chunks(lstm, forget_bias)
        return lstm

    norms = seeded_input_gradient_norms(make_module, lambda: torch.randn(length, 8, 1), seeds)
    return float(np.mean(norms.numpy()[:, 0]))


def _first_step(forget_bias, length, seeds, column=0, reduce="mean", shape=None, init=True):
    def make_module():
        lstm = torch.nn.LSTM(1, 32)
        if init:
            init_forget_bias(lstm, forget_bias)  # noqa: F821
        return lstm

    norms = seeded_input_gradient_norms(
        make_module, lambda: torch.randn(*(shape or (length, 8, 1))), seeds)
    if reduce == "all":
        return norms.mean().item()
    column = norms[:, column]
    return {"mean": column.mean, "sum": column.sum, "first": lambda: column[0]}[reduce]().item()


def first_step_last(forget_bias, length, seeds):
    return _first_step(forget_bias, length, seeds, column=-1)


def first_step_all_steps(forget_bias, length, seeds):
    return _first_step(forget_bias, length, seeds, reduce="all")


def first_step_first_seed(forget_bias, length, seeds):
    return _first_step(forget_bias, length, seeds, reduce="first")


def first_step_summed(forget_bias, length, seeds):
    return _first_step(forget_bias, length, seeds, reduce="sum")


def first_step_batch_first(forget_bias, length, seeds):
    return _first_step(forget_bias, length, seeds, shape=(8, length, 1))


def first_step_never_set(forget_bias, length, seeds):
    return _first_step(forget_bias, length, seeds, init=False)


def first_step_tensor(forget_bias, length, seeds):
    """Forgets .item(): a 0-d tensor."""
    def make_module():
        lstm = torch.nn.LSTM(1, 32)
        init_forget_bias(lstm, forget_bias)  # noqa: F821
        return lstm

    return seeded_input_gradient_norms(make_module, lambda: torch.randn(length, 8, 1),
                                       seeds)[:, 0].mean()  # fmt: skip


# ---------------------------------------------------------------- the corpus


CORRECT = {
    check_lstm_bptt: [bptt_recomputed, bptt_einsum, bptt_notebook],
    check_init_forget_bias: [init_by_attribute_names, init_by_chunks, init_by_all_weights,
                             init_by_named_parameters],
    check_first_step_gradient: [first_step_by_hand, first_step_notebook, first_step_inline],
}  # fmt: skip
BUGS = {
    check_lstm_bptt: [
        Bug(bptt_overwrites, "overwritten at each step"),
        Bug(bptt_overwrites_all, "overwritten at each step"),
        Bug(bptt_no_forget, "without the forget gate"),
        Bug(bptt_unpacks_ifog, "read in the order i, f, o, g"),
        Bug(bptt_stacks_ifog, "read in the order i, f, o, g"),
        Bug(bptt_believes_fiog, "read in the order f, i, o, g"),
        Bug(bptt_state_swapped, "(c, h)"),
        Bug(bptt_float64_zeros, "dtype"),
        Bug(bptt_transposed, "weight gradients are transposed"),
        Bug(bptt_one_bias, "only one of the two biases"),
        Bug(bptt_batch_first_dx, "dx is batch-first"),
        Bug(bptt_returns_c_first, "dh0 and dc0 are returned in each other's place"),
        Bug(bptt_ignores_d_out, "d_out are ignored"),
    ],
    check_init_forget_bias: [
        Bug(init_input_gate_block, "rows 0:H"),
        Bug(init_tensorflow_order, "rows 2H:3H"),
        Bug(init_both_biases, "2·value"),
        Bug(init_only_b_ih, "left as it was"),
        Bug(init_first_layer, "only layer 0"),
        Bug(init_forward_only, "only the forward direction"),
        Bug(init_whole_bias, "the whole bias is set"),
        Bug(init_on_a_copy, "left unchanged"),
        Bug(init_input_size, "input_size instead of hidden_size"),
        Bug(init_zeroes_everything, "the weights are zeroed"),
        Bug(init_float32_rebuilt, "dtype"),
        Bug(init_swapped_roles, "value is put in bias_hh"),
    ],
    check_first_step_gradient: [
        Bug(first_step_last, "last step"),
        Bug(first_step_all_steps, "mean over every step"),
        Bug(first_step_first_seed, "only the first seed"),
        Bug(first_step_summed, "summed instead of averaged"),
        Bug(first_step_batch_first, "(N, L, 1)"),
        Bug(first_step_never_set, "never set"),
        Bug(first_step_tensor, "should be a Python float, got a tensor"),
    ],
}


# ---------------------------------------------------------------- lstm_bptt's own tests


@pytest.mark.parametrize("student", CORRECT[check_lstm_bptt], ids=lambda f: f.__name__)
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_bptt_passes(student, hidden, capsys):
    check_lstm_bptt(student, hidden=hidden)
    out = capsys.readouterr()
    assert "✓ lstm_bptt" in out.out and out.err == ""


def test_bptt_variant_without_mistakes_is_the_oracle():
    for case in bptt_cases() + bptt_cases(hidden=True):
        ours, oracle = bptt_variant(*case.args), lstm_backward(*case.args)
        for a, b in zip(ours[:3], oracle[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
            assert a.dtype == b.dtype == case.dtype
        for name in oracle[3]:
            np.testing.assert_allclose(ours[3][name], oracle[3][name], rtol=1e-5, atol=1e-6)
            assert oracle[3][name].dtype == case.dtype


# the 69 gate orders (23 orders, 3 forms) are made by one loop: every seventh is tried
BPTT_SAMPLE = [m for k, m in enumerate(LSTM_BPTT.mistakes) if "gate blocks" not in m.name
               or k % 7 == 0]  # fmt: skip


@pytest.mark.parametrize("mistake", BPTT_SAMPLE, ids=lambda m: m.name)
def test_each_bptt_mistake_is_named(mistake):
    result = verdict(unguarded(check_lstm_bptt), lambda *args: _unflat(mistake.fn(*args)),
                     hidden=True)  # fmt: skip
    assert not result.passed and result.mistake == mistake.name


def _unflat(outputs):
    dx, dh0, dc0, *grads = outputs
    return dx, dh0, dc0, dict(zip(["W_ih", "W_hh", "b_ih", "b_hh"], grads))


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
    with pytest.raises(GradingError, match="expected a function"):
        check_lstm_bptt(None)


def test_bptt_unknown_error_reports_where():
    def off(*args):
        dx, dh0, dc0, grads = bptt_einsum(*args)
        return dx, dh0 + 0.01, dc0, grads

    with pytest.raises(GradingError, match=r"dh0 differs: largest error 0.01"):
        check_lstm_bptt(off)


def test_bptt_shape_error_gets_the_exercises_hint():
    with pytest.raises(GradingError, match=r"Hint: da is \(N, 4H\)"):
        check_lstm_bptt(_bptt_wrong_product)


def _bptt_wrong_product(d_out, dh_n, dc_n, caches):
    x, _, W_ih, *_ = caches[0]["affine_inputs"]
    return W_ih @ x, dh_n, dc_n, {}


# ---------------------------------------------------------------- init_forget_bias's own


@pytest.mark.parametrize("student", CORRECT[check_init_forget_bias], ids=lambda f: f.__name__)
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_init_forget_bias_passes(student, hidden, capsys):
    check_init_forget_bias(student, hidden=hidden)
    out = capsys.readouterr()
    assert "✓ init_forget_bias" in out.out and out.err == ""


def test_cases_stay_inside_the_instructions():
    """torch's or lstm_ref's LSTM, any layers, either direction, with biases; no proj_size."""
    for case in forget_bias_cases() + forget_bias_cases(hidden=True):
        module, value = case.args
        lstm = module.build()
        assert isinstance(lstm, torch.nn.LSTM | RefLSTM)
        assert lstm.proj_size == 0 and lstm.bias and not lstm.batch_first
        assert lstm.input_size != lstm.hidden_size
        assert str(module) in case.label and isinstance(value, float)


def test_cases_are_rebuilt_identically():
    first, again = forget_bias_cases(hidden=True), forget_bias_cases(hidden=True)
    for a, b in zip(first, again):
        for (n, p), q in zip(a.args[0].build().named_parameters(), b.args[0].build().parameters()):
            assert torch.equal(p, q), n


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
    ours = Module("torch", 2, 3, 2, True).build()
    reference = RefLSTM(2, 3, num_layers=2, bidirectional=True)
    reference.load_state_dict(ours.state_dict())
    forget_bias_variant(ours, 1.5)
    init_forget_bias_reference(reference, 1.5)
    for (name, a), b in zip(ours.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("mistake", INIT_FORGET_BIAS.mistakes, ids=lambda m: m.name)
def test_each_init_forget_bias_mistake_is_named(mistake):
    result = verdict(check_init_forget_bias, mistake.fn.init, hidden=True)
    assert not result.passed and result.mistake == mistake.name


def test_init_forget_bias_without_no_grad_gets_a_hint():
    def no_grad_forgotten(lstm, value):
        H = lstm.hidden_size
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = value

    with pytest.raises(GradingError, match=r"torch\.no_grad"):
        check_init_forget_bias(no_grad_forgotten)


def test_init_forget_bias_failure_is_five_lines_at_most():
    with pytest.raises(GradingError) as error:
        check_init_forget_bias(init_both_biases, hidden=True)
    assert len(str(error.value).splitlines()) <= 5
    assert str(error.value).startswith("✗ init_forget_bias:")


# ---------------------------------------------------------------- first_step_gradient's own


@pytest.mark.parametrize("student", CORRECT[check_first_step_gradient],
                         ids=lambda f: f.__name__)  # fmt: skip
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_first_step_gradient_passes_and_shows_the_effect(student, hidden, capsys):
    check_first_step_gradient(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓ first_step_gradient") and "forget bias 0:" in out.out
    assert out.err == ""


def test_first_step_gradient_takes_the_course_init_forget_bias():
    """A wrong init_forget_bias of the student's does not cost exercise 3; the name is
    restored afterwards."""
    global init_forget_bias
    init_forget_bias = init_both_biases
    try:
        check_first_step_gradient(first_step_notebook, hidden=True)
        assert init_forget_bias is init_both_biases
    finally:
        del init_forget_bias
    check_first_step_gradient(first_step_notebook)
    assert "init_forget_bias" not in globals()


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
        check_first_step_gradient(lambda b, length, seeds: [0.1] * length)
    with pytest.raises(GradingError, match="positive, finite number"):
        check_first_step_gradient(lambda b, length, seeds: 0.0)


def test_first_step_gradient_near_miss_shows_both_numbers():
    with pytest.raises(GradingError, match=r"the reference's .*log10 differs"):
        check_first_step_gradient(lambda *args: 1.01 * first_step_notebook(*args))
