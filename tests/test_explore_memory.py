"""The memory explorer: its measurements against closed forms and torch.nn's own cells,
its widget driven through ipywidgets, its website player against the same numbers, and
the claims chapter 4 makes from it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_ref.explore import memory
from tests.support.site import Visit, drag

T = memory.STEPS


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def rnn_closed_form(w: float, steps: int = T, start: float = memory.START):
    """h_t = tanh(w h_{t-1}); ∂h_T/∂h_{T-k} = ∏_{s=T-k+1}^{T} w (1 - h_s²), in NumPy."""
    h = [start]
    for _ in range(steps):
        h.append(math.tanh(w * h[-1]))
    h = np.array(h)
    slopes = w * (1 - h[1:] ** 2)  # ∂h_s/∂h_{s-1}, s = 1 … T
    grad = np.concatenate([[1.0], np.cumprod(slopes[::-1])])  # k = 0 … T
    return h / start, grad


@pytest.mark.parametrize("bias", [-2.0, 0.0, 1.0, 3.0, 6.0])
def test_lstm_holds_f_to_the_t_and_its_gradient_is_f_to_the_k(bias):
    d = memory.lstm_decay(bias)
    powers = sigmoid(bias) ** np.arange(T + 1)
    np.testing.assert_allclose(d.value.numpy(), powers, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(d.grad.numpy(), powers, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("w", [0.0, 0.5, 1.0, 1.5, 2.0])
def test_rnn_matches_its_closed_form(w):
    d = memory.rnn_decay(w)
    value, grad = rnn_closed_form(w)
    np.testing.assert_allclose(d.value.numpy(), value, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(d.grad.numpy(), grad, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("w", [0.7, 1.3])
def test_rnn_gradient_matches_torch_nn_rnncell_jacobian(w):
    cell = torch.nn.RNNCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.weight_hh.fill_(w)
    x = torch.zeros(1, 1, dtype=torch.float64)

    def run(h0, steps):
        h = h0
        for _ in range(steps):
            h = cell(x, h)
        return h

    h0 = torch.full((1, 1), memory.START, dtype=torch.float64)
    for k in (1, 10, 40):
        h_start = run(h0, T - k)  # h_{T-k}
        jacobian = torch.autograd.functional.jacobian(lambda h, k=k: run(h, k), h_start)
        assert memory.rnn_decay(w).grad[k].item() == pytest.approx(jacobian.item(), rel=1e-10)


def test_web_data_has_one_frame_per_slider_position():
    data = memory.web_data()
    assert len(data["lstm"]["value"]) == len(memory.FORGET_BIASES) == 41
    assert len(data["rnn"]["grad"]) == len(memory.RNN_WEIGHTS) == 41
    j = list(memory.FORGET_BIASES).index(3.0)
    np.testing.assert_allclose(data["lstm"]["grad"][j], memory.lstm_decay(3.0).grad.numpy())
    html = memory.web()._repr_html_()
    assert 'data-explorer="memory"' in html


def test_widget_remeasures_when_the_sliders_move():
    explorer = memory.widget()
    chart, readout = explorer.chart.value, explorer.readout.value
    explorer.forget_bias.value = 3.0
    expected = memory.lstm_decay(3.0)
    torch.testing.assert_close(explorer.lstm.grad, expected.grad)
    assert f"{expected.value[-1]:.3g}" in explorer.readout.value
    assert explorer.chart.value != chart and explorer.readout.value != readout
    explorer.rnn_weight.value = 1.5
    expected = memory.rnn_decay(1.5)
    torch.testing.assert_close(explorer.rnn.value, expected.value)
    assert f"∂h_T/∂h_0 = {expected.grad[-1]:.3g}" in explorer.readout.value
    chart = explorer.chart.value
    explorer.log_scale.value = False
    assert explorer.chart.value != chart and "1e" not in explorer.chart.value
    assert explorer.chart.value.count("<polyline") == 4  # LSTM, RNN in each chart


# ------------------------------------------------------------------ chapter 4's claims


def test_claims_of_chapter_4():
    held, rnn = memory.lstm_decay(3.0), memory.rnn_decay(1.5)
    assert held.value[-1].item() == pytest.approx(sigmoid(3.0) ** T, rel=1e-12)
    assert held.grad[-1].item() == pytest.approx(held.value[-1].item(), rel=1e-12)
    assert rnn.value[-1] > 1  # it keeps the value: h* = tanh(1.5 h*) > h_0
    assert rnn.grad[-1] < 1e-30  # but not its gradient
    for w in (1.1, 1.5, 2.0):  # w > 1: a fixed point h* ≠ 0, where the slope is below 1
        h_star = memory.rnn_decay(w, steps=2000).value[-1].item() * memory.START
        assert abs(math.tanh(w * h_star) - h_star) < 1e-12
        assert w * (1 - h_star**2) < 1
    for w in memory.RNN_WEIGHTS[memory.RNN_WEIGHTS <= 1]:  # w <= 1: the value fades
        assert memory.rnn_decay(w).value[-1] < 0.3


# ------------------------------------------------------------------ the website


def shown(root, name: str) -> float:
    return float(root.locator(f'output[data-name="{name}"]').get_attribute("data-value"))


@pytest.mark.site
def test_site_player_shows_the_measured_frame(browser, server):
    visit = Visit(browser, server, "book/04_gradient_flow.html")
    try:
        page = visit.page
        page.wait_for_selector('div.lstm-explorer[data-explorer="memory"][data-ready="true"]')
        root = page.locator('div.lstm-explorer[data-explorer="memory"]')
        points = root.locator("polyline").first.get_attribute("points")
        bias = drag(page, 'input[data-name="forget_bias"]', 0.8)
        assert float(root.get_attribute("data-forget-bias")) == pytest.approx(bias)
        assert bias != 2.0
        d = memory.lstm_decay(bias)
        assert shown(root, "f") == pytest.approx(sigmoid(bias), rel=1e-12)
        # the page carries 4 significant digits (memory.DIGITS): within 5e-4, relatively
        assert shown(root, "lstm_value") == pytest.approx(d.value[-1].item(), rel=1e-3)
        assert shown(root, "lstm_grad") == pytest.approx(sigmoid(bias) ** T, rel=1e-3)
        assert root.locator("polyline").first.get_attribute("points") != points
        weight = drag(page, 'input[data-name="rnn_weight"]', 0.3)
        assert float(root.get_attribute("data-rnn-weight")) == pytest.approx(weight)
        value, grad = rnn_closed_form(weight)
        assert shown(root, "rnn_value") == pytest.approx(value[-1], rel=1e-3)
        assert shown(root, "rnn_grad") == pytest.approx(grad[-1], rel=1e-3, abs=1e-300)
        points = root.locator("polyline").first.get_attribute("points")
        root.locator('button[data-name="log"]').click()
        assert root.locator('button[data-name="log"]').get_attribute("aria-pressed") == "false"
        assert root.locator("polyline").first.get_attribute("points") != points
        assert visit.errors == [] and visit.offsite == []
    finally:
        visit.close()
