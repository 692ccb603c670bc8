"""The NumPy cells and sequences agree with torch autograd, forward and backward.

Oracles: torch.nn.RNNCell / LSTMCell / GRUCell and torch.nn.RNN / LSTM / GRU with the
same weights copied in; for the peephole LSTM (torch has none), plain torch ops below.
Everything runs in float64 and must agree to rtol 1e-10.
"""

import numpy as np
import pytest
import torch

from lstm_ref.numpy_ref import (
    gru_backward,
    gru_cell_backward,
    gru_cell_forward,
    gru_forward,
    init_params,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    peephole_lstm_backward,
    peephole_lstm_cell_backward,
    peephole_lstm_cell_forward,
    peephole_lstm_forward,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
)

RTOL, ATOL = 1e-10, 1e-12

# kind: (name for init_params, cell forward, cell backward, sequence forward, backward)
KINDS = {
    "rnn_tanh": ("rnn", rnn_cell_forward, rnn_cell_backward, rnn_forward, rnn_backward),
    "rnn_relu": ("rnn", rnn_cell_forward, rnn_cell_backward, rnn_forward, rnn_backward),
    "lstm": ("lstm", lstm_cell_forward, lstm_cell_backward, lstm_forward, lstm_backward),
    "gru": ("gru", gru_cell_forward, gru_cell_backward, gru_forward, gru_backward),
    "peephole_lstm": (
        "peephole_lstm",
        peephole_lstm_cell_forward,
        peephole_lstm_cell_backward,
        peephole_lstm_forward,
        peephole_lstm_backward,
    ),
}
NUM_STATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 2, "gru": 1, "peephole_lstm": 2}
TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}

# (N, I, H, bias, scale of x); scale 50 drives the gates deep into saturation
CELL_SHAPES = [
    pytest.param(3, 5, 4, True, 1.0, id="typical"),
    pytest.param(1, 5, 4, True, 1.0, id="batch-1"),
    pytest.param(3, 5, 1, True, 1.0, id="hidden-1"),
    pytest.param(3, 1, 4, True, 1.0, id="input-1"),
    pytest.param(3, 5, 4, False, 1.0, id="no-bias"),
    pytest.param(3, 5, 4, True, 50.0, id="large-preactivations"),
]


def nonlinearity_kwargs(kind):
    return {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}


def make_inputs(kind, shape, bias, scale, seed=0):
    """Random params, inputs of ``shape`` + (I,), states and upstream grads of (N, H)."""
    *lead, input_size, hidden_size = shape
    rng = np.random.default_rng(seed)
    params = init_params(KINDS[kind][0], input_size, hidden_size, bias, rng)
    x = rng.standard_normal((*lead, input_size)) * scale
    states = [rng.standard_normal((lead[-1], hidden_size)) for _ in range(NUM_STATES[kind])]
    return params, x, states, rng


def leaf(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def torch_peephole_step(x, state, W_ih, W_hh, w_ci, w_cf, w_co, b_ih=None, b_hh=None):
    """Oracle: the peephole LSTM step written in plain torch ops."""
    h, c = state
    gates = x @ W_ih.T + h @ W_hh.T
    if b_ih is not None:
        gates = gates + b_ih + b_hh
    a_i, a_f, a_g, a_o = gates.chunk(4, dim=1)
    i = torch.sigmoid(a_i + w_ci * c)
    f = torch.sigmoid(a_f + w_cf * c)
    c_next = f * c + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + w_co * c_next)
    return o * torch.tanh(c_next), c_next


def torch_module(kind, params, layer):
    """torch.nn.{RNN,LSTM,GRU}[Cell] holding ``params``; also its tensors by our names."""
    input_size, hidden_size = params["W_ih"].shape[1], params["W_hh"].shape[1]
    family = {"rnn": "RNN", "lst": "LSTM", "gru": "GRU"}[kind[:3]]
    module_class = getattr(torch.nn, family if layer else family + "Cell")
    module = module_class(
        input_size, hidden_size, bias="b_ih" in params, dtype=torch.float64,
        **nonlinearity_kwargs(kind),
    )  # fmt: skip
    suffix = "_l0" if layer else ""
    tensors = {name: getattr(module, TORCH_NAMES[name] + suffix) for name in params}
    with torch.no_grad():
        for name, tensor in tensors.items():
            tensor.copy_(torch.from_numpy(params[name]))
    return module, tensors


def torch_cell_step(kind, params):
    """Return ``(step, tensors)``: ``step(x, state) -> next state tuple`` in torch."""
    if kind == "peephole_lstm":
        tensors = {name: leaf(value) for name, value in params.items()}
        return lambda x, state: torch_peephole_step(x, state, **tensors), tensors
    cell, tensors = torch_module(kind, params, layer=False)
    if kind == "lstm":
        return lambda x, state: cell(x, state), tensors
    return lambda x, state: (cell(x, state[0]),), tensors


def torch_sequence(kind, params, x, states):
    """Return ``(out, final states, tensors)`` of the torch layer (or peephole loop)."""
    if kind == "peephole_lstm":
        tensors = {name: leaf(value) for name, value in params.items()}
        outputs = []
        for x_t in x:
            states = torch_peephole_step(x_t, states, **tensors)
            outputs.append(states[0])
        return torch.stack(outputs), states, tensors
    layer, tensors = torch_module(kind, params, layer=True)
    batched = tuple(state[None] for state in states)  # (num_layers=1, N, H)
    out, final = layer(x, batched if kind == "lstm" else batched[0])
    final = final if kind == "lstm" else (final,)
    return out, tuple(state[0] for state in final), tensors


def assert_close(actual, expected, name):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=name)


def assert_grads_match(grads, tensors):
    assert grads.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert_close(grads[name], tensor.grad, name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("N", "I", "H", "bias", "scale"), CELL_SHAPES)
def test_cell_forward_and_backward_match_torch(kind, N, I, H, bias, scale):
    params, x, states, rng = make_inputs(kind, (N, I, H), bias, scale)
    d_next = [rng.standard_normal((N, H)) for _ in states]
    _, cell_forward, cell_backward, _, _ = KINDS[kind]

    *next_states, cache = cell_forward(x, *states, **params, **nonlinearity_kwargs(kind))
    dx, *d_states, grads = cell_backward(*d_next, cache)

    step, tensors = torch_cell_step(kind, params)
    x_torch, states_torch = leaf(x), tuple(leaf(state) for state in states)
    next_torch = step(x_torch, states_torch)
    loss = sum((s * torch.from_numpy(d)).sum() for s, d in zip(next_torch, d_next, strict=True))
    loss.backward()

    for ours, theirs in zip(next_states, next_torch, strict=True):
        assert_close(ours, theirs, "next state")
    assert_close(dx, x_torch.grad, "dx")
    for ours, theirs in zip(d_states, states_torch, strict=True):
        assert_close(ours, theirs.grad, "d state")
    assert_grads_match(grads, tensors)


# (L, N, I, H, bias, scale of x)
SEQUENCE_SHAPES = [
    pytest.param(5, 3, 4, 3, True, 1.0, id="typical"),
    pytest.param(1, 3, 4, 3, True, 1.0, id="length-1"),
    pytest.param(5, 1, 4, 3, True, 1.0, id="batch-1"),
    pytest.param(5, 3, 4, 1, True, 1.0, id="hidden-1"),
    pytest.param(5, 3, 4, 3, False, 1.0, id="no-bias"),
    pytest.param(5, 3, 4, 3, True, 50.0, id="large-preactivations"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("L", "N", "I", "H", "bias", "scale"), SEQUENCE_SHAPES)
def test_sequence_forward_and_bptt_match_torch(kind, L, N, I, H, bias, scale):
    params, x, states, rng = make_inputs(kind, (L, N, I, H), bias, scale)
    d_out = rng.standard_normal((L, N, H))
    d_final = [rng.standard_normal((N, H)) for _ in states]  # dh_n and dc_n, both nonzero
    _, _, _, forward, backward = KINDS[kind]

    out, *final, caches = forward(x, *states, params, **nonlinearity_kwargs(kind))
    dx, *d_initial, grads = backward(d_out, *d_final, caches)

    x_torch, states_torch = leaf(x), tuple(leaf(state) for state in states)
    out_torch, final_torch, tensors = torch_sequence(kind, params, x_torch, states_torch)
    loss = (out_torch * torch.from_numpy(d_out)).sum()
    for state, d_state in zip(final_torch, d_final, strict=True):
        loss = loss + (state * torch.from_numpy(d_state)).sum()
    loss.backward()

    assert_close(out, out_torch, "out")
    for ours, theirs in zip(final, final_torch, strict=True):
        assert_close(ours, theirs, "final state")
    assert_close(dx, x_torch.grad, "dx")
    for ours, theirs in zip(d_initial, states_torch, strict=True):
        assert_close(ours, theirs.grad, "d initial state")
    assert_grads_match(grads, tensors)
