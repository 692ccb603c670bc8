"""Properties that must hold for any sizes and weights (hypothesis draws them)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_ref.nn as ours

MODES = {"RNN": ours.RNN, "LSTM": ours.LSTM, "GRU": ours.GRU, "PeepholeLSTM": ours.PeepholeLSTM}
sizes = st.integers(1, 5)
settings.register_profile("course", max_examples=25, deadline=None)
settings.load_profile("course")


def make(kind, input_size, hidden_size, seed, **kwargs):
    torch.manual_seed(seed)
    return MODES[kind](input_size, hidden_size, **kwargs).double()


@pytest.mark.parametrize("kind", MODES)
@given(L=sizes, N=sizes, I=sizes, H=sizes, seed=st.integers(0, 2**16))
def test_bidirectional_is_forward_concat_reversed_pass_of_reversed_input(kind, L, N, I, H, seed):
    bi = make(kind, I, H, seed, bidirectional=True)
    forward, backward = make(kind, I, H, seed), make(kind, I, H, seed)
    state = bi.state_dict()
    forward.load_state_dict({k: v for k, v in state.items() if not k.endswith("_reverse")})
    backward.load_state_dict({k[: -len("_reverse")]: v for k, v in state.items()
                              if k.endswith("_reverse")})  # fmt: skip
    x = torch.randn(L, N, I, dtype=torch.float64)
    expected = torch.cat([forward(x)[0], backward(x.flip(0))[0].flip(0)], dim=-1)
    torch.testing.assert_close(bi(x)[0], expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["LSTM", "PeepholeLSTM"])
@given(L=sizes, N=sizes, I=sizes, H=sizes, seed=st.integers(0, 2**16))
def test_open_forget_gate_and_closed_input_gate_keep_the_cell(kind, L, N, I, H, seed):
    """f_t = 1 and i_t = 0 make c_t = 1·c_{t-1} + 0·g_t: the cell carries c_0 unchanged."""
    model = make(kind, I, H, seed)
    with torch.no_grad():
        model.bias_ih_l0[:H] = -1e4  # input gate block: σ(-1e4) = 0 in float64
        model.bias_ih_l0[H : 2 * H] = 1e4  # forget gate block: σ(1e4) = 1
    x = torch.randn(L, N, I, dtype=torch.float64) * 3
    h0, c0 = torch.randn(1, N, H).double(), torch.randn(1, N, H).double() * 5
    _, (h_n, c_n) = model(x, (h0, c0))
    assert torch.equal(c_n, c0)
    # and a large cell can hide behind a closed output gate: h = o·tanh(c) with o = 0
    with torch.no_grad():
        model.bias_ih_l0[3 * H :] = -1e4
    assert torch.equal(model(x, (h0, c0))[1][0], torch.zeros_like(h0))


@given(L=sizes, N=sizes, I=sizes, H=sizes, layers=st.integers(1, 2), bi=st.booleans(),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_peephole_lstm_with_zero_peepholes_equals_lstm(L, N, I, H, layers, bi, seed):
    lstm = make("LSTM", I, H, seed, num_layers=layers, bidirectional=bi)
    peephole = ours.PeepholeLSTM.from_lstm(lstm)
    assert all(getattr(peephole, n).abs().sum() == 0 for n in peephole.state_dict() if "_c" in n)
    x = torch.randn(L, N, I, dtype=torch.float64)
    for a, b in zip(lstm(x)[1], peephole(x)[1]):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(lstm(x)[0], peephole(x)[0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kind", MODES)
@given(L=sizes, N=st.integers(2, 5), I=sizes, H=sizes, seed=st.integers(0, 2**16))
def test_batch_elements_are_independent_and_batch_first_is_a_transpose(kind, L, N, I, H, seed):
    model = make(kind, I, H, seed, num_layers=2)
    x = torch.randn(L, N, I, dtype=torch.float64)
    together = model(x)[0]
    alone = torch.cat([model(x[:, n : n + 1])[0] for n in range(N)], dim=1)
    torch.testing.assert_close(together, alone, rtol=1e-12, atol=1e-13)
    model.batch_first = True
    torch.testing.assert_close(model(x.transpose(0, 1))[0].transpose(0, 1), together)


@pytest.mark.parametrize("cls", [ours.PeepholeLSTMCell, ours.PeepholeLSTM])
def test_peephole_gradients_pass_gradcheck(cls):
    """torch has no peephole LSTM, so its gradients are checked by central differences."""
    torch.manual_seed(0)
    model = cls(3, 2).double()
    shape = (2, 3) if cls is ours.PeepholeLSTMCell else (4, 2, 3)  # (N, I) or (L, N, I)
    x = torch.randn(shape, dtype=torch.float64)
    params = list(model.parameters())
    names = [n for n, _ in model.named_parameters()]

    def f(x, *weights):
        state = dict(zip(names, weights))
        return torch.func.functional_call(model, state, (x,))[0]  # h, or the output

    assert torch.autograd.gradcheck(f, (x.requires_grad_(), *params))


def test_peephole_output_gate_sees_the_new_cell_state():
    """Only w_co touches o_t, and it must multiply c_t (not c_{t-1}): check by hand."""
    cell = ours.PeepholeLSTMCell(1, 1, bias=False).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.weight_co.fill_(2.0)
        cell.weight_ih[2] = 1.0  # candidate g = tanh(x)
    x, c_prev = torch.tensor([[0.7]]).double(), torch.tensor([[1.5]]).double()
    h, c = cell(x, (torch.zeros(1, 1).double(), c_prev))
    i = f = torch.sigmoid(torch.tensor(0.0))  # no peephole weight on i and f
    c_new = f * c_prev + i * torch.tanh(x)
    torch.testing.assert_close(c, c_new)
    torch.testing.assert_close(h, torch.sigmoid(2.0 * c_new) * torch.tanh(c_new))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_batch_gives_what_torch_gives(kind, bidirectional, batch_first):
    """N = 0 (the last, empty batch of a loader): outputs and states of torch.nn's shapes,
    and zero gradients. Reshapes that inferred a size from zero elements failed here."""
    torch.manual_seed(0)
    args = dict(num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    theirs = getattr(torch.nn, kind)(3, 4, **args)
    mine = getattr(ours, kind)(3, 4, **args)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn((0, 5, 3) if batch_first else (5, 0, 3), requires_grad=True)
    (out, state), (out_t, state_t) = mine(x), theirs(x)
    states = state if isinstance(state, tuple) else (state,)
    states_t = state_t if isinstance(state_t, tuple) else (state_t,)
    assert out.shape == out_t.shape
    assert [s.shape for s in states] == [s.shape for s in states_t]
    (out.sum() + sum(s.sum() for s in states)).backward()
    assert x.grad.shape == x.shape
    assert all(p.grad is None or not p.grad.any() for p in mine.parameters())
