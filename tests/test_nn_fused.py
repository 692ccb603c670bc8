"""lstm_ref.nn.fused and .gemm: the LSTM's hand-written backward and the oneDNN linear.

The oracles: torch.autograd.gradcheck (central differences, float64), the plain loop of
lstm_step through autograd, and torch.nn.LSTM in float32, with every product on oneDNN's
GEMM and then every one on torch's (the `gemm` fixture).
"""

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

import lstm_ref.nn as ours
from lstm_ref.nn import fused
from lstm_ref.nn import gemm as products  # `gemm` is the fixture below
from lstm_ref.nn.functional import lstm_step
from lstm_ref.nn.recurrent import scan

L, N, I, H = 5, 3, 2, 4


def lstm_inputs(bias=True, seed=0, dtype=torch.float64):
    """x (L, N, I), h_0, c_0 (N, H), W_ih (4H, I), W_hh (4H, H), b_ih, b_hh (4H,): all
    requiring grad, in the order of lstm_scan (biases None without bias)."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(L, N, I), (N, H), (N, H), (4 * H, I), (4 * H, H)] + [(4 * H,)] * 2 * bias
    tensors = [torch.randn(s, generator=gen, dtype=dtype).requires_grad_() for s in shapes]
    return tensors + ([] if bias else [None, None])


def scan_outputs(run, x, h_0, c_0, *weights):
    out, (h, c) = run(x, (h_0, c_0), *weights)
    return out, h, c


def fused_run(x, state, W_ih, W_hh, b_ih, b_hh):
    return fused.lstm_scan(x, state, W_ih, W_hh, b_ih, b_hh)


def plain_run(x, state, W_ih, W_hh, b_ih, b_hh):
    return scan(lstm_step, F.linear(x, W_ih, b_ih), state, (W_hh, b_hh))


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_scan_passes_gradcheck(bias):
    inputs = lstm_inputs(bias)
    check = lambda *xs: scan_outputs(fused_run, *xs)  # noqa: E731
    assert torch.autograd.gradcheck(check, tuple(inputs), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("steps_per_block", [1, 2, 3, 5, 8])
def test_lstm_scan_equals_the_plain_loop_of_lstm_step(steps_per_block, monkeypatch):
    """With blocks of local derivatives that divide L = 5, that do not, and that exceed it."""
    monkeypatch.setattr(fused, "BACKWARD_BLOCK", steps_per_block * N * 4 * H)
    inputs = lstm_inputs()
    weights = [torch.randn(s, dtype=torch.float64) for s in [(L, N, H), (N, H), (N, H)]]
    results = []
    for run in (fused_run, plain_run):
        outs = scan_outputs(run, *inputs)
        loss = sum((o * w).sum() for o, w in zip(outs, weights))
        results.append((outs, torch.autograd.grad(loss, inputs)))
    (out_a, grad_a), (out_b, grad_b) = results
    for a, b in zip([*out_a, *grad_a], [*out_b, *grad_b]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_lstm_scan_double_backward_falls_back_to_autograd():
    inputs = lstm_inputs(seed=1)
    check = lambda *xs: scan_outputs(fused_run, *xs)  # noqa: E731
    assert torch.autograd.gradgradcheck(check, tuple(inputs), eps=1e-6, atol=1e-7)


def test_lstm_scan_refuses_an_output_changed_in_place():
    """The backward reads the outputs as h_{t-1}: changing them must not pass silently."""
    x, h_0, c_0, *weights = lstm_inputs()
    out, _ = fused_run(x, (h_0, c_0), *weights)
    with pytest.raises(RuntimeError, match="inplace|in-place"):
        out.mul_(2).sum().backward()


@pytest.mark.parametrize("bias", [True, False])
def test_linear_backward_passes_gradcheck(bias):
    gen = torch.Generator().manual_seed(0)
    x, W, b = (torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_()
               for s in [(2, 3, 5), (4, 5), (4,)])  # fmt: skip
    assert torch.autograd.gradcheck(products._Linear.apply, (x, W, b if bias else None))


NO_ONEDNN = pytest.mark.skipif(not products._ONEDNN, reason="this torch is built without oneDNN")


@pytest.fixture(params=[pytest.param("oneDNN", marks=NO_ONEDNN), "torch"])
def gemm(request, monkeypatch):
    """Each float32 test twice: every product on oneDNN's GEMM, then every one on torch's
    (the small products of these tests would otherwise all take torch's)."""
    monkeypatch.setattr(products, "ONEDNN_MIN_MACS", 0 if request.param == "oneDNN" else 2**62)
    return request.param


def gemm_ops(run) -> set[str]:
    """The names of the matrix-product ops that run() dispatches."""
    seen = set()

    class Spy(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(func.name())
            return func(*args, **(kwargs or {}))

    with Spy():
        run()
    return {name for name in seen if "linear" in name or "mm" in name}


@NO_ONEDNN
def test_only_products_worth_its_start_go_to_onednn():
    """Below ONEDNN_MIN_MACS multiply-adds torch's GEMM runs, at or above it oneDNN's."""
    side = round(products.ONEDNN_MIN_MACS ** (1 / 3))  # M = K = P: M·K·P ≈ the threshold
    with torch.no_grad():
        small, big = torch.randn(side - 1, side - 1), torch.randn(side + 1, side + 1)
        assert gemm_ops(lambda: products.matmul_t(small, small)) == {"aten::mm"}
        assert gemm_ops(lambda: products.matmul_t(big, big)) == {"mkldnn::_linear_pointwise"}
        assert gemm_ops(lambda: products.matmul_t(big.double(), big.double())) == {"aten::mm"}


@NO_ONEDNN
@pytest.mark.parametrize("big", [False, True])
def test_linear_counts_the_multiply_adds_of_every_product(big):
    """products.linear on a 3-d x: its forward and both backward products (dx = dy W and
    dW = dyᵀ x, each M·I·O multiply-adds, M = L·N) go to one GEMM, chosen by that count."""
    L, N, I, O = 10, 32, 64, 128  # M·I·O = 2^21.3: under the threshold; 8 × L: over
    x = torch.randn(8 * L if big else L, N, I, requires_grad=True)
    W, b = torch.randn(O, I, requires_grad=True), torch.randn(O, requires_grad=True)

    def run():
        y = products.linear(x, W, b)
        torch.autograd.grad(y.sum(), (x, W, b))

    expected = {"mkldnn::_linear_pointwise"} if big else {"aten::addmm", "aten::mm"}
    assert gemm_ops(run) == expected


def test_linear_float32_matches_f_linear(gemm):
    """In float32 on the CPU: oneDNN's GEMM (when torch has it) or torch's, against F.linear."""
    gen = torch.Generator().manual_seed(0)
    x, W, b = (torch.randn(s, generator=gen).requires_grad_() for s in [(7, 6, 5), (9, 5), (9,)])
    grads = []
    for linear in (products.linear, F.linear):
        y = linear(x, W, b)
        grads.append((y, *torch.autograd.grad((y * y).sum(), (x, W, b))))
    for a, b_ in zip(*grads):
        torch.testing.assert_close(a, b_, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_float32_matches_torch(bidirectional, gemm):
    """The fast path as the benchmark runs it: float32, either GEMM, two layers."""
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(6, 8, num_layers=2, bidirectional=bidirectional)
    mine = ours.LSTM(6, 8, num_layers=2, bidirectional=bidirectional)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 3, 6, requires_grad=True)  # ∂ℓ/∂x too: the scan's own dx
    results = []
    for module in (mine, theirs):
        out, (h, c) = module(x)
        loss = out.sum() + h.sum() + c.sum()
        results.append([out, h, c, *torch.autograd.grad(loss, [x, *module.parameters()])])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_lstm_scan_with_frozen_weights_gives_the_input_its_gradient():
    """Weights that need no gradient get none, and x's is still the plain loop's."""
    x, h_0, c_0, W_ih, W_hh, b_ih, b_hh = lstm_inputs()
    frozen = [w.detach() for w in (W_ih, W_hh, b_ih, b_hh)]
    grads = []
    for run in (fused_run, plain_run):
        out, _ = run(x, (h_0, c_0), *frozen)
        grads.append(torch.autograd.grad(out.sum(), [x, h_0, c_0]))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_the_lstm_takes_the_scan_except_backward_through_packed_input(monkeypatch):
    """Which path runs: the scan for a padded batch and for a packed one going forward;
    the plain steps for a packed one going backward (it must start at each one's end)."""
    calls, real = [], fused.lstm_scan
    monkeypatch.setattr(fused, "lstm_scan", lambda *a, **k: calls.append(1) or real(*a, **k))
    x, packed_lengths = torch.randn(5, 3, 2), [2, 5, 3]
    for bidirectional in (False, True):
        layer = ours.LSTM(2, 4, bidirectional=bidirectional)
        calls.clear()
        layer(x)
        assert len(calls) == 1 + bidirectional
        calls.clear()
        layer(torch.nn.utils.rnn.pack_padded_sequence(x, packed_lengths, enforce_sorted=False))
        assert len(calls) == 1  # the forward direction only


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequences_through_the_scan_match_torch(bidirectional):
    """float64, unsorted lengths, two layers: outputs, final states and every gradient
    as torch.nn's, so each sequence's final state is taken at its own end."""
    torch.manual_seed(1)
    kwargs = dict(num_layers=2, bidirectional=bidirectional, dtype=torch.float64)
    theirs, mine = torch.nn.LSTM(3, 5, **kwargs), ours.LSTM(3, 5, **kwargs)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(6, 4, 3, dtype=torch.float64, requires_grad=True)
    lengths = [3, 6, 1, 4]
    results = []
    for module in (mine, theirs):
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, finals = module(packed)
        out = torch.nn.utils.rnn.pad_packed_sequence(out)[0]
        loss = (out * out.detach().sin()).sum() + sum((f * f.detach().cos()).sum() for f in finals)
        results.append([out, *finals, *torch.autograd.grad(loss, [x, *module.parameters()])])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_lstm_scan_with_lengths_passes_gradcheck_and_gradgradcheck():
    """The final state taken at each sequence's own end, and its gradient put back there."""
    inputs = tuple(lstm_inputs(seed=5))
    lengths = torch.tensor([2, 5, 4])  # L = 5, N = 3

    def check(x, h_0, c_0, *weights):
        out, (h, c) = fused.lstm_scan(x, (h_0, c_0), *weights, lengths=lengths)
        alive = (torch.arange(L)[:, None] < lengths).unsqueeze(-1)  # steps inside each one
        return out * alive, h, c  # what a packed output keeps

    assert torch.autograd.gradcheck(check, inputs, eps=1e-6, atol=1e-8)
    assert torch.autograd.gradgradcheck(check, inputs, eps=1e-6, atol=1e-7)
    _, h, c = check(*inputs)
    _, (h_L, c_L) = fused.lstm_scan(inputs[0], inputs[1:3], *inputs[3:])
    assert torch.equal(h[1], h_L[1]) and not torch.allclose(h[0], h_L[0])  # n = 1 runs to L


@pytest.mark.parametrize("bad", [[0, 5, 4], [2, 6, 4]])
def test_lstm_scan_refuses_lengths_outside_the_sequence(bad):
    """A length of 0 would put the final state's gradient at step L - 1 (index -1), not
    at h_0 (found by a review): lengths must lie in 1..L."""
    x, h_0, c_0, *weights = lstm_inputs()
    with pytest.raises(ValueError, match="lengths in 1..5"):
        fused.lstm_scan(x, (h_0, c_0), *weights, lengths=torch.tensor(bad))
