"""Bad input raises an error that names what was expected."""

import pytest
import torch

import lstm_ref.nn as ours


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: m(torch.randn(5, 2, 4)), ValueError, r"input of shape \(5, 2, 3\)"),
        (lambda m: m(torch.randn(5)), ValueError, "2-D or 3-D"),
        (lambda m: m(torch.ones(5, 2, 3, dtype=torch.long)), TypeError, "floating-point"),
        (lambda m: m(torch.randn(5, 2, 3).double()), TypeError, "dtype torch.float32"),
        (lambda m: m(torch.randn(0, 2, 3)), ValueError, "length >= 1"),
        (lambda m: m(torch.randn(5, 2, 3), torch.zeros(2, 2, 4)), TypeError, r"tuple \(h_0, c_0\)"),
        (lambda m: m(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4))),
         ValueError, r"expected h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"),
        (lambda m: m(torch.randn(5, 2, 3), (torch.zeros(2, 2, 4), torch.zeros(2, 3, 4))),
         ValueError, r"expected c_0 of shape \(2, 2, 4\), got \(2, 3, 4\)"),
        (lambda m: m([[1.0, 2.0, 3.0]]), TypeError, "torch.Tensor, got list"),
    ],
)  # fmt: skip
def test_lstm_rejects_bad_input_with_expected_shape(call, error, message):
    lstm = ours.LSTM(3, 4, num_layers=2)
    with pytest.raises(error, match=message):
        call(lstm)


def test_batch_first_error_names_the_layout():
    gru = ours.GRU(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"layout \(N, L, input_size\)"):
        gru(torch.randn(2, 5, 6))


def test_unbatched_input_needs_unbatched_state():
    rnn = ours.RNN(3, 4)
    with pytest.raises(ValueError, match="expected h_0 to be 2-D"):
        rnn(torch.randn(5, 3), torch.zeros(1, 1, 4))


@pytest.mark.parametrize(
    "cls, args, message",
    [
        (ours.LSTM, (0, 4), "input_size to be a positive int"),
        (ours.LSTM, (3, 4.5), "hidden_size to be a positive int"),
        (ours.LSTM, (3, 4, 0), "num_layers to be an int >= 1"),
        (ours.GRU, (3, 4, 2, True, False, 1.5), r"dropout to be a probability in \[0, 1\]"),
        (ours.RNN, (3, 4, 1, "sigmoid"), "nonlinearity 'tanh' or 'relu'"),
        (ours.LSTMCell, (3, -1), "hidden_size to be a positive int"),
    ],
)
def test_bad_configuration_is_rejected(cls, args, message):
    with pytest.raises(ValueError, match=message):
        cls(*args)


def test_projection_limits():
    with pytest.raises(ValueError, match="proj_size < hidden_size"):
        ours.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="peephole|PeepholeLSTM has no projection"):
        ours.PeepholeLSTM.from_lstm(ours.LSTM(3, 4, proj_size=2))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda c: c(torch.randn(2, 5)), ValueError, r"input of shape \(2, 3\)"),
        (lambda c: c(torch.randn(2, 3), torch.zeros(2, 4)), TypeError, r"tuple \(h, c\)"),
        (lambda c: c(torch.randn(2, 3), (torch.zeros(3, 4), torch.zeros(2, 4))), ValueError,
         r"expected h of shape \(2, 4\), got \(3, 4\)"),
        (lambda c: c(torch.ones(2, 3, dtype=torch.int32)), TypeError, "floating-point"),
    ],
)  # fmt: skip
def test_cell_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(ours.LSTMCell(3, 4))
