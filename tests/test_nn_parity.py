"""lstm_ref.nn against torch.nn, the oracle: same parameters, outputs and gradients.

Everything runs in float64 and must agree to a relative 1e-10.
"""

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstm_ref.nn as ours

RTOL, ATOL = 1e-10, 1e-12
LAYERS = {"RNN": (ours.RNN, torch.nn.RNN), "LSTM": (ours.LSTM, torch.nn.LSTM),
          "GRU": (ours.GRU, torch.nn.GRU)}  # fmt: skip
CELLS = {"RNNCell": (ours.RNNCell, torch.nn.RNNCell),
         "LSTMCell": (ours.LSTMCell, torch.nn.LSTMCell),
         "GRUCell": (ours.GRUCell, torch.nn.GRUCell)}  # fmt: skip


def twins(kind, *args, device="cpu", **kwargs):
    """Our module and torch's, torch's weights copied into ours, both float64."""
    Ours, Theirs = {**LAYERS, **CELLS}[kind]
    theirs = Theirs(*args, **kwargs).double().to(device)
    mine = Ours(*args, **kwargs).double().to(device)
    mine.load_state_dict(theirs.state_dict())
    return mine, theirs


def flat(result):
    """(output, h_n) or (output, (h_n, c_n)) or a cell's h or (h, c) as a flat list."""
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for item in result for t in flat(item)]


def assert_same_forward_and_backward(mine, theirs, inputs, seed=0):
    """Outputs, final states, input/state gradients and every parameter gradient agree."""
    gens = torch.Generator().manual_seed(seed)
    results = []
    for module in (mine, theirs):
        module.zero_grad()
        leaves = [x.detach().clone().requires_grad_() for x in inputs]
        out = flat(module(*_nest(module, leaves)))
        weights = [torch.randn(o.shape, generator=gens.manual_seed(seed + k), dtype=o.dtype)
                   for k, o in enumerate(out)]  # fmt: skip
        loss = sum((o * w.to(o.device)).sum() for o, w in zip(out, weights))
        loss.backward()
        grads = {name: p.grad for name, p in module.named_parameters()}
        results.append((out, [x.grad for x in leaves], grads))
    (out_a, dx_a, dp_a), (out_b, dx_b, dp_b) = results
    for a, b in zip(out_a, out_b):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    for a, b in zip(dx_a, dx_b):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    assert dp_a.keys() == dp_b.keys()
    for name in dp_a:
        torch.testing.assert_close(dp_a[name], dp_b[name], rtol=RTOL, atol=ATOL, msg=name)


def _nest(module, leaves):
    """Inputs as the module takes them: (x,), (x, h) or (x, (h, c))."""
    if len(leaves) == 3:
        return leaves[0], (leaves[1], leaves[2])
    return tuple(leaves)


CONFIGS = list(itertools.product([1, 2], [False, True], [False, True], [True, False]))


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,bias", CONFIGS)
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, bias, device):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
              bias=bias, device=device)  # fmt: skip
    mine, theirs = twins(kind, 5, 7, **kw)
    L, N, D = 6, 3, 2 if bidirectional else 1
    g = torch.Generator().manual_seed(1)
    x = torch.randn((N, L, 5) if batch_first else (L, N, 5), generator=g, dtype=torch.float64)
    h0 = torch.randn(D * num_layers, N, 7, generator=g, dtype=torch.float64)
    inputs = [x, h0, torch.randn_like(h0)] if kind == "LSTM" else [x, h0]
    assert_same_forward_and_backward(mine, theirs, [t.to(device) for t in inputs])


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_lstm_projection_matches_torch(num_layers, bidirectional, device):
    mine, theirs = twins("LSTM", 4, 6, num_layers=num_layers, bidirectional=bidirectional,
                         proj_size=3, device=device)  # fmt: skip
    D = 2 if bidirectional else 1
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    h0, c0 = torch.randn(D * num_layers, 2, 3).double(), torch.randn(D * num_layers, 2, 6).double()
    assert_same_forward_and_backward(mine, theirs, [t.to(device) for t in (x, h0, c0)])


@pytest.mark.parametrize("kind", LAYERS)
def test_default_state_and_unbatched_input(kind, device):
    mine, theirs = twins(kind, 3, 4, num_layers=2, bidirectional=True, device=device)
    x = torch.randn(5, 3, dtype=torch.float64, device=device)  # (L, I), no batch dimension
    assert_same_forward_and_backward(mine, theirs, [x])
    assert mine(x)[0].shape == (5, 8)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequence_matches_torch(kind, enforce_sorted, device):
    mine, theirs = twins(kind, 3, 4, num_layers=2, bidirectional=True, device=device)
    lengths = torch.tensor([6, 4, 4, 1] if enforce_sorted else [4, 6, 1, 4])
    x = torch.randn(6, 4, 3, dtype=torch.float64, device=device)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    out_a, state_a = mine(packed)
    out_b, state_b = theirs(packed)
    torch.testing.assert_close(out_a.data, out_b.data, rtol=RTOL, atol=ATOL)
    assert torch.equal(out_a.batch_sizes, out_b.batch_sizes)
    for a, b in zip(flat(state_a), flat(state_b)):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    flat(state_a)[0].sum().backward()
    assert all(p.grad is not None for p in mine.parameters())


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(kind, bias, device):
    mine, theirs = twins(kind, 5, 4, bias=bias, device=device)
    x, h = torch.randn(3, 5).double(), torch.randn(3, 4).double()
    inputs = [x, h, torch.randn(3, 4).double()] if kind == "LSTMCell" else [x, h]
    assert_same_forward_and_backward(mine, theirs, [t.to(device) for t in inputs])
    unbatched = torch.randn(5, dtype=torch.float64, device=device)
    for a, b in zip(flat(mine(unbatched)), flat(theirs(unbatched))):  # no state: zeros
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


def test_relu_rnn_matches_torch(device):
    mine, theirs = twins("RNN", 3, 4, num_layers=2, nonlinearity="relu", device=device)
    assert_same_forward_and_backward(mine, theirs, [torch.randn(5, 2, 3).double().to(device)])


@pytest.mark.parametrize("kind", list(LAYERS) + list(CELLS))
def test_state_dict_round_trip_and_names(kind):
    args = dict(num_layers=2, bidirectional=True) if kind in LAYERS else {}
    Ours, Theirs = {**LAYERS, **CELLS}[kind]
    mine, theirs = Ours(3, 4, **args), Theirs(3, 4, **args)
    assert [(n, p.shape) for n, p in mine.named_parameters()] == [
        (n, p.shape) for n, p in theirs.named_parameters()
    ]
    theirs.load_state_dict(mine.state_dict())  # ours -> theirs, strict
    for (_, a), (_, b) in zip(mine.named_parameters(), theirs.named_parameters()):
        assert torch.equal(a, b)


def test_initialisation_follows_torch():
    """Every weight ~ U(-1/√H, 1/√H): within the bound and spread across it."""
    H = 16
    weights = torch.cat([p.detach().flatten() for p in ours.LSTM(8, H, num_layers=2).parameters()])
    assert weights.abs().max().item() <= H**-0.5
    assert weights.std().item() == pytest.approx((H**-0.5) / 3**0.5, rel=0.05)


def test_dropout_between_layers_only(device):
    """dropout=1 zeroes the second layer's input in training mode, and nothing in eval."""
    mine, theirs = twins("LSTM", 3, 4, num_layers=2, dropout=1.0, device=device)
    x = torch.randn(5, 2, 3, dtype=torch.float64, device=device)
    mine.eval(), theirs.eval()
    torch.testing.assert_close(mine(x)[0], theirs(x)[0], rtol=RTOL, atol=ATOL)
    mine.train()
    top = torch.nn.LSTM(4, 4).double().to(device)
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in theirs.state_dict().items()
                         if "_l1" in k})  # fmt: skip
    torch.testing.assert_close(mine(x)[0], top(torch.zeros(5, 2, 4).double().to(device))[0])
    with pytest.warns(UserWarning, match="num_layers > 1"):
        ours.LSTM(3, 4, dropout=0.5)


def test_modules_move_to_float32_and_back(device):
    mine, theirs = twins("GRU", 3, 4, device=device)
    mine.float(), theirs.float()
    x = torch.randn(5, 2, 3, device=device)
    torch.testing.assert_close(mine(x)[0], theirs(x)[0], rtol=1e-5, atol=1e-6)
