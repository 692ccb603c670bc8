"""Parameter counts against torch's own modules as the oracle."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_ref.params import cell_param_count, gate_blocks, param_count

TORCH_LAYERS = {"RNN_TANH": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}
TORCH_CELLS = {"RNN_TANH": torch.nn.RNNCell, "GRU": torch.nn.GRUCell, "LSTM": torch.nn.LSTMCell}


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@st.composite
def layer_configs(draw):
    mode = draw(st.sampled_from(sorted(TORCH_LAYERS)))
    hidden_size = draw(st.integers(1, 12))
    config = dict(
        mode=mode,
        input_size=draw(st.integers(1, 12)),
        hidden_size=hidden_size,
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
    )
    if mode == "LSTM":  # torch.nn.RNN and GRU take no proj_size argument
        config["proj_size"] = draw(st.integers(0, hidden_size - 1))
    return config


@settings(max_examples=60, deadline=None)
@given(layer_configs())
def test_param_count_equals_torch_layers(config):
    mode = config.pop("mode")
    module = TORCH_LAYERS[mode](**config)
    assert param_count(mode, **config) == numel(module)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(sorted(TORCH_CELLS)),
    st.integers(1, 16),
    st.integers(1, 16),
    st.booleans(),
)
def test_param_count_equals_torch_cells(mode, input_size, hidden_size, bias):
    cell = TORCH_CELLS[mode](input_size, hidden_size, bias=bias)
    assert param_count(mode, input_size, hidden_size, bias=bias) == numel(cell)


def test_relu_rnn_counts_like_tanh_rnn():
    module = torch.nn.RNN(5, 7, num_layers=2, nonlinearity="relu")
    assert param_count("RNN_RELU", 5, 7, num_layers=2) == numel(module)
    assert param_count("RNN", 5, 7, num_layers=2) == numel(module)


@given(st.integers(1, 64), st.integers(1, 64))
def test_textbook_and_torch_lstm_formulas(m, d):
    assert cell_param_count("LSTM", m, d, bias_vectors=1) == 4 * (d * (d + m) + d)
    assert cell_param_count("LSTM", m, d, bias_vectors=2) == 4 * (d * (d + m) + 2 * d)
    assert cell_param_count("LSTM", m, d, bias_vectors=0) == 4 * d * (d + m)


@given(st.integers(1, 64), st.integers(1, 64), st.integers(0, 2))
def test_gru_has_three_quarters_of_lstm(m, d, bias_vectors):
    gru = cell_param_count("GRU", m, d, bias_vectors)
    lstm = cell_param_count("LSTM", m, d, bias_vectors)
    assert 4 * gru == 3 * lstm  # exactly 25% fewer, not "30-50%"


@given(st.integers(1, 10), st.integers(1, 10), st.integers(1, 3), st.booleans())
def test_peephole_adds_three_vectors_per_layer_direction(m, d, num_layers, bidirectional):
    args = dict(num_layers=num_layers, bidirectional=bidirectional)
    plain = param_count("LSTM", m, d, **args)
    peephole = param_count("PEEPHOLE_LSTM", m, d, **args)
    directions = 2 if bidirectional else 1
    assert peephole - plain == 3 * d * num_layers * directions


def test_gate_blocks_case_insensitive():
    assert [gate_blocks(m) for m in ("rnn", "gru", "lstm")] == [1, 3, 4]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(mode="LSTMX", input_size=3, hidden_size=4), "expected mode in"),
        (dict(mode="LSTM", input_size=0, hidden_size=4), "expected input_size >= 1, got 0"),
        (dict(mode="LSTM", input_size=3, hidden_size=0), "expected hidden_size >= 1, got 0"),
        (dict(mode="GRU", input_size=3, hidden_size=4, proj_size=2), "expected proj_size = 0"),
        (dict(mode="LSTM", input_size=3, hidden_size=4, proj_size=4), "proj_size < hidden"),
        (dict(mode="LSTM", input_size=3, hidden_size=4, num_layers=0), "num_layers >= 1"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        param_count(**kwargs)


def test_bad_bias_vectors_rejected():
    with pytest.raises(ValueError, match=r"expected bias_vectors in \(0, 1, 2\), got 3"):
        cell_param_count("LSTM", 3, 4, bias_vectors=3)


def test_projected_lstm_feeds_p_times_d_into_next_layer():
    module = torch.nn.LSTM(10, 20, num_layers=3, bidirectional=True, proj_size=5)
    args = dict(num_layers=3, bidirectional=True, proj_size=5)
    assert param_count("LSTM", 10, 20, **args) == numel(module)
    assert module.weight_ih_l1.shape == (4 * 20, 2 * 5)  # the count's assumption


@settings(max_examples=30, deadline=None)
@given(
    mode=st.sampled_from(["RNN_TANH", "GRU", "LSTM", "PEEPHOLE_LSTM"]),
    input_size=st.integers(1, 9),
    hidden_size=st.integers(1, 9),
    num_layers=st.integers(1, 3),
    bias=st.booleans(),
    bidirectional=st.booleans(),
)
def test_param_count_equals_lstm_ref_layers(mode, input_size, hidden_size, num_layers, bias,
                                            bidirectional):  # fmt: skip
    """The course's own modules, the peephole LSTM included, count as the formula says."""
    from lstm_ref import nn as ours

    cls = {"RNN_TANH": ours.RNN, "GRU": ours.GRU, "LSTM": ours.LSTM,
           "PEEPHOLE_LSTM": ours.PeepholeLSTM}[mode]  # fmt: skip
    module = cls(input_size, hidden_size, num_layers, bias=bias, bidirectional=bidirectional)
    assert numel(module) == param_count(
        mode, input_size, hidden_size, num_layers, bias=bias, bidirectional=bidirectional
    )
    cell_cls = {"RNN_TANH": ours.RNNCell, "GRU": ours.GRUCell, "LSTM": ours.LSTMCell,
                "PEEPHOLE_LSTM": ours.PeepholeLSTMCell}[mode]  # fmt: skip
    cell = cell_cls(input_size, hidden_size, bias=bias)
    expected = cell_param_count(mode, input_size, hidden_size, bias_vectors=2 if bias else 0)
    assert numel(cell) == expected
