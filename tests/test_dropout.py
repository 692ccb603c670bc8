"""lstm_ref.nn.dropout against oracles: torch's LSTM, a plain loop, and weight algebra."""

import pytest
import torch
from torch.func import functional_call

from lstm_ref.nn import LSTM
from lstm_ref.nn.dropout import METHODS, Masks, RecurrentDropoutLSTM, dropout_mask
from lstm_ref.nn.functional import lstm_cell

I, H = 3, 5
DOUBLE = dict(dtype=torch.float64)


def layer_like(reference, method, p):
    """A RecurrentDropoutLSTM with `reference`'s weights."""
    layer = RecurrentDropoutLSTM(I, H, method, p, **DOUBLE)
    layer.load_state_dict(reference.state_dict())
    return layer


@pytest.fixture
def reference():
    torch.manual_seed(0)
    return LSTM(I, H, **DOUBLE)


@pytest.fixture
def x():
    torch.manual_seed(1)
    return torch.randn(7, 2, I, **DOUBLE)  # (L, N, I)


def loop_oracle(layer, x, masks, state=None):
    """The spec: lstm_cell stepped by hand, each mask applied where its paper puts it."""
    W_ih, W_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b_ih, b_hh = layer.bias_ih_l0, layer.bias_hh_l0
    if masks.W_hh is not None:
        W_hh = masks.W_hh * W_hh
    L, N, _ = x.shape
    h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
    outputs = []
    for t in range(L):
        x_t = x[t] if masks.x is None else masks.x[t] * x[t]
        h_in = h if masks.h is None else masks.h[t] * h
        h_new, c_new = lstm_cell(x_t, (h_in, c), W_ih, W_hh, b_ih, b_hh)
        if masks.keep_c is not None:
            h_new = masks.keep_h[t] * h + (1 - masks.keep_h[t]) * h_new
            c_new = masks.keep_c[t] * c + (1 - masks.keep_c[t]) * c_new
        h, c = h_new, c_new
        outputs.append(h)
    return torch.stack(outputs), (h, c)


@pytest.mark.parametrize("method", METHODS)
def test_rate_zero_is_the_plain_lstm(method, reference, x):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(I, H, **DOUBLE)
    theirs.load_state_dict(reference.state_dict())
    layer = layer_like(reference, method, 0.0).train()
    output, (h_n, c_n) = layer(x)
    expected, (h_ref, c_ref) = reference(x)
    assert torch.equal(output, expected) and torch.equal(h_n, h_ref) and torch.equal(c_n, c_ref)
    torch.testing.assert_close(output, theirs(x)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_training_is_random_and_evaluation_is_deterministic(method, reference, x):
    layer = layer_like(reference, method, 0.5)
    first, second = layer(x)[0], layer(x)[0]
    assert (method == "none") == torch.equal(first, second)
    layer.eval()
    assert torch.equal(layer(x)[0], layer(x)[0])


@pytest.mark.parametrize("method", ["naive", "variational", "weight_drop"])
def test_dropout_methods_evaluate_as_the_plain_lstm(method, reference, x):
    layer = layer_like(reference, method, 0.5).eval()
    torch.testing.assert_close(layer(x)[0], reference(x)[0], rtol=0, atol=1e-14)


def test_zoneout_evaluates_at_its_expectation(reference, x):
    p = 0.3
    layer = layer_like(reference, "zoneout", p).eval()
    expected = torch.full((7, 2, H), p, **DOUBLE)  # d_t replaced by E[d_t] = p
    oracle = loop_oracle(layer, x, Masks(keep_c=expected, keep_h=expected))[0]
    torch.testing.assert_close(layer(x)[0], oracle, rtol=0, atol=1e-14)
    assert (layer(x)[0] - reference(x)[0]).abs().max() > 1e-2  # not the plain LSTM


@pytest.mark.parametrize("method", METHODS)
def test_training_pass_follows_the_loop_spec(method, reference, x):
    layer = layer_like(reference, method, 0.4)
    torch.manual_seed(2)
    masks = layer.draw_masks(7, 2, x)
    output, (h_n, c_n) = layer(x, masks=masks)
    expected, (h, c) = loop_oracle(layer, x, masks)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-14)
    torch.testing.assert_close((h_n[0], c_n[0]), (h, c), rtol=0, atol=1e-14)


def test_naive_masks_are_fresh_at_every_step(reference, x):
    torch.manual_seed(3)
    masks = layer_like(reference, "naive", 0.5).draw_masks(7, 2, x)
    assert masks.h.shape == (7, 2, H) and masks.x.shape == (7, 2, I)
    distinct = {tuple(m.flatten().tolist()) for m in masks.h}
    assert len(distinct) > 1


def test_variational_mask_is_the_same_at_every_step(reference, x):
    torch.manual_seed(3)
    masks = layer_like(reference, "variational", 0.5).draw_masks(7, 2, x)
    for mask in (masks.x, masks.h):
        assert all(torch.equal(mask[t], mask[0]) for t in range(7))
        assert not torch.equal(mask[0, 0], mask[0, 1])  # but its own for each sequence


def test_variational_equals_an_lstm_with_masked_weight_columns(reference):
    # For one sequence, h_{t-1} ⊙ m at every step is W_hh diag(m): a fixed, thinned LSTM.
    torch.manual_seed(4)
    x = torch.randn(9, 1, I, **DOUBLE)
    layer = layer_like(reference, "variational", 0.5)
    masks = layer.draw_masks(9, 1, x)
    thinned = LSTM(I, H, **DOUBLE)
    state = reference.state_dict()
    state["weight_ih_l0"] = state["weight_ih_l0"] * masks.x[0]  # columns scaled by m^x
    state["weight_hh_l0"] = state["weight_hh_l0"] * masks.h[0]  # columns scaled by m^h
    thinned.load_state_dict(state)
    torch.testing.assert_close(layer(x, masks=masks)[0], thinned(x)[0], rtol=0, atol=1e-13)


def test_weight_drop_masks_entries_of_w_hh_and_rescales(reference, x):
    p = 0.5
    layer = layer_like(reference, "weight_drop", p)
    torch.manual_seed(5)
    masks = layer.draw_masks(7, 2, x)
    assert masks.x is masks.h is masks.keep_c is None
    assert masks.W_hh.shape == layer.weight_hh_l0.shape  # (4H, H): one mask per entry
    assert set(masks.W_hh.unique().tolist()) == {0.0, 1 / (1 - p)}
    thinned = LSTM(I, H, **DOUBLE)
    state = reference.state_dict()
    state["weight_hh_l0"] = masks.W_hh * state["weight_hh_l0"]
    thinned.load_state_dict(state)
    torch.testing.assert_close(layer(x, masks=masks)[0], thinned(x)[0], rtol=0, atol=1e-13)


def test_weight_drop_shares_its_mask_across_the_batch(reference):
    torch.manual_seed(6)
    x = torch.randn(6, 1, I, **DOUBLE).expand(6, 3, I)  # three copies of one sequence
    output = layer_like(reference, "weight_drop", 0.5)(x)[0]
    for n in (1, 2):  # equal up to rounding: the rows of one matrix product
        torch.testing.assert_close(output[:, n], output[:, 0], rtol=0, atol=1e-14)
    varied = layer_like(reference, "variational", 0.5)(x)[0]
    assert (varied[:, 1] - varied[:, 0]).abs().max() > 1e-3  # a mask per sequence


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_mask_is_inverted_dropout(p):
    torch.manual_seed(7)
    mask = dropout_mask((200_000,), p, torch.zeros((), **DOUBLE))
    assert set(mask.unique().tolist()) == {0.0, 1 / (1 - p)}
    assert abs((mask == 0).double().mean().item() - p) < 0.01
    assert abs(mask.mean().item() - 1.0) < 0.02  # E[m] = 1


@pytest.mark.parametrize("training", [True, False])
def test_zoneout_with_rate_one_keeps_the_initial_state(reference, x, training):
    layer = layer_like(reference, "zoneout", 1.0).train(training)
    torch.manual_seed(8)
    h_0, c_0 = torch.randn(1, 2, H, **DOUBLE), torch.randn(1, 2, H, **DOUBLE)
    output, (h_n, c_n) = layer(x, (h_0, c_0))
    assert torch.equal(output, h_0.expand(7, 2, H))
    assert torch.equal(h_n, h_0) and torch.equal(c_n, c_0)


@pytest.mark.parametrize("method", METHODS)
def test_gradients_match_central_differences(method):
    torch.manual_seed(9)
    layer = RecurrentDropoutLSTM(2, 3, method, 0.5, **DOUBLE)
    x = torch.randn(3, 2, 2, **DOUBLE, requires_grad=True)
    masks = layer.draw_masks(3, 2, x)  # fixed, so the function is deterministic
    params = {k: v.detach().clone().requires_grad_() for k, v in layer.named_parameters()}
    names = list(params)

    def run(x, *weights):
        return functional_call(layer, dict(zip(names, weights)), (x,), {"masks": masks})[0]

    assert torch.autograd.gradcheck(run, (x, *params.values()))


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="expected method in"):
        RecurrentDropoutLSTM(I, H, "dropconnect")
    with pytest.raises(ValueError, match="expected 0 <= p < 1"):
        RecurrentDropoutLSTM(I, H, "variational", 1.0)
    with pytest.raises(ValueError, match="expected 0 <= p < 1"):
        RecurrentDropoutLSTM(I, H, "zoneout", -0.1)
    RecurrentDropoutLSTM(I, H, "zoneout", 1.0)  # allowed: every unit keeps its state
    with pytest.raises(ValueError, match=r"expected input of shape \(7, 2, 3\)"):
        RecurrentDropoutLSTM(I, H)(torch.randn(7, 2, 4))
    with pytest.raises(ValueError, match="expected h_0 of shape"):
        RecurrentDropoutLSTM(I, H)(torch.randn(7, 2, I), (torch.zeros(2, H), torch.zeros(2, H)))
