"""input_gradient_norms against a closed form, causality and its promises to the caller."""

import pytest
import torch
from torch import nn

from lstm_ref.device import available_devices
from lstm_ref.gradflow import input_gradient_norms, seeded_input_gradient_norms


def scalar_rnn(w_hh: float) -> nn.RNN:
    """h_t = tanh(1·x_t + w_hh·h_{t-1}), one unit, no bias, float64."""
    rnn = nn.RNN(1, 1, bias=False).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(w_hh)
    return rnn


@pytest.mark.parametrize("w_hh", [0.5, 0.9])
def test_scalar_rnn_decays_geometrically(w_hh):
    L = 12
    x = 1e-5 * torch.randn(L, 4, 1, dtype=torch.float64)  # tanh'(≈0) ≈ 1
    norms = input_gradient_norms(scalar_rnn(w_hh), x)
    # ∂h_{L-1}/∂x_t = Π tanh'(·) w_hh^(L-1-t) ≈ w_hh^(L-1-t); the unit v is ±1
    expected = w_hh ** torch.arange(L - 1, -1, -1, dtype=torch.float64)
    torch.testing.assert_close(norms, expected, rtol=1e-6, atol=0)


def test_parameters_grads_mode_and_input_untouched():
    lstm = nn.LSTM(3, 5, num_layers=2)
    lstm.weight_hh_l0.grad = torch.ones_like(lstm.weight_hh_l0)
    before = {name: p.detach().clone() for name, p in lstm.named_parameters()}
    x = torch.randn(7, 2, 3)
    x_before = x.clone()
    lstm.eval()
    input_gradient_norms(lstm, x)
    for name, p in lstm.named_parameters():
        assert torch.equal(p, before[name]), name
        if name != "weight_hh_l0":
            assert p.grad is None, name
    assert torch.equal(lstm.weight_hh_l0.grad, torch.ones_like(lstm.weight_hh_l0))
    assert not lstm.training
    assert torch.equal(x, x_before) and not x.requires_grad


def test_batch_first_read_from_module():
    torch.manual_seed(0)
    seq_first = nn.GRU(2, 4)
    batch_first = nn.GRU(2, 4, batch_first=True)
    batch_first.load_state_dict(seq_first.state_dict())
    x = torch.randn(9, 3, 2)  # (L, N, I)
    expected = input_gradient_norms(seq_first, x)
    actual = input_gradient_norms(batch_first, x.transpose(0, 1))
    torch.testing.assert_close(actual, expected)
    assert actual.shape == (9,)


def test_norm_is_rms_over_batch():
    torch.manual_seed(1)
    rnn = nn.RNN(2, 6)
    x = torch.randn(10, 5, 2)
    per_sample = torch.stack([input_gradient_norms(rnn, x[:, n : n + 1]) for n in range(5)])
    rms = per_sample.pow(2).mean(0).sqrt()
    torch.testing.assert_close(input_gradient_norms(rnn, x), rms)


def test_custom_loss_respects_causality():
    torch.manual_seed(2)
    lstm = nn.LSTM(2, 4)
    x = torch.randn(10, 3, 2)
    norms = input_gradient_norms(lstm, x, loss=lambda y: y[4].sum())
    assert torch.all(norms[5:] == 0)  # x_t for t > 4 cannot reach y_4
    assert torch.all(norms[:5] > 0)


def test_seeded_curves_reproducible_and_rng_restored():
    def make_module():
        return nn.LSTM(1, 8)

    def make_input():
        return torch.randn(20, 4, 1)

    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = seeded_input_gradient_norms(make_module, make_input, seeds=[0, 1, 2])
    assert torch.equal(torch.get_rng_state(), state)
    second = seeded_input_gradient_norms(make_module, make_input, seeds=[0, 1, 2])
    assert first.shape == (3, 20)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.allclose(first[0], first[1])  # different seeds, different nets


@pytest.mark.parametrize("device", available_devices(), ids=str)
def test_eval_mode_lstm_on_every_device_matches_cpu(device):
    torch.manual_seed(3)
    lstm = nn.LSTM(2, 4, num_layers=2).double().eval()  # eval: cuDNN would refuse backward
    x = torch.randn(8, 3, 2, dtype=torch.float64)
    expected = input_gradient_norms(lstm, x)
    actual = input_gradient_norms(lstm.to(device), x.to(device))
    assert actual.device.type == device.type
    torch.testing.assert_close(actual.cpu(), expected)


def test_bad_inputs_rejected():
    rnn = nn.RNN(2, 3)
    with pytest.raises(ValueError, match=r"expected x of shape \(L, N, I\), got \(5, 2\)"):
        input_gradient_norms(rnn, torch.randn(5, 2))
    with pytest.raises(ValueError, match="expected loss 'last' or a callable"):
        input_gradient_norms(rnn, torch.randn(5, 1, 2), loss="first")
    with pytest.raises(ValueError, match="expected at least one seed"):
        seeded_input_gradient_norms(lambda: rnn, lambda: torch.randn(5, 1, 2), seeds=[])
