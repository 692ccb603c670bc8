"""The comparison explorer: counts against lstm_ref.params and torch.nn, retention against
chapter 4's own curves, its widget driven through ipywidgets, its website player against
the same numbers, and the claims chapter 3 makes from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_ref.experiments.gradients import (
    CURVE_LENGTH,
    forget_bias_curves,
    geometric_mean,
    lag_curves,
    layer_factory,
    relative,
)
from lstm_ref.experiments.memory import SEEDS
from lstm_ref.explore import compare
from lstm_ref.params import param_count
from tests.support.site import Visit, drag

TORCH = {"RNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}


def expected_count(model: str, input_size: int, hidden_size: int) -> int:
    mode = "LSTM" if model == "BiLSTM" else model
    return param_count(mode, input_size, hidden_size, bidirectional=model == "BiLSTM")


@pytest.mark.parametrize("sizes", [(8, 8), (32, 128), (128, 256), (24, 72)])
def test_counts_equal_the_closed_form_and_torch_nn(sizes):
    input_size, hidden_size = sizes
    got = compare.counts(input_size, hidden_size)
    for model, n in got.items():
        assert n == expected_count(model, input_size, hidden_size)
        mode = "LSTM" if model == "BiLSTM" else model
        layer = TORCH[mode](input_size, hidden_size, bidirectional=model == "BiLSTM")
        assert n == sum(p.numel() for p in layer.parameters())


def test_retention_is_chapter_4s_curve():
    open_gates = forget_bias_curves([3.0], hidden_size=32, seeds=SEEDS, seq_len=CURVE_LENGTH)
    np.testing.assert_allclose(compare.retention("LSTM", "b_f = 3"), geometric_mean(open_gates[0]))
    gru = relative(lag_curves(layer_factory("GRU", 32), seeds=SEEDS, seq_len=CURVE_LENGTH))
    for init in compare.INITS:  # no forget gate: the same curve for every init
        np.testing.assert_allclose(compare.retention("GRU", init), geometric_mean(gru))
    assert compare.retention("LSTM")[0] == 1.0


def test_web_data_grids():
    data = compare.web_data()
    a, b = compare.HIDDEN_SIZES.index(64), compare.INPUT_SIZES.index(16)
    for model in compare.MODELS:
        assert data["params"][model][a][b] == expected_count(model, 16, 64)
        assert len(data["retention"]["b_f = 1"][model]) == CURVE_LENGTH
    assert 'data-explorer="compare"' in compare.web()._repr_html_()


def test_widget_follows_toggles_and_sliders():
    explorer = compare.widget()
    assert list(explorer.curves) == list(compare.MODELS)
    chart = explorer.chart.value
    explorer.shown["GRU"].value = False
    assert "GRU" not in explorer.curves and "GRU" not in explorer.counts
    assert 'data-name="GRU"' not in explorer.chart.value and explorer.chart.value != chart
    explorer.init.value = "b_f = 3"
    np.testing.assert_array_equal(explorer.curves["LSTM"], compare.retention("LSTM", "b_f = 3"))
    explorer.lag.value = 50
    expected = compare.retention("BiLSTM", "b_f = 3")[50]
    assert f"{expected:.3g}" in explorer.retention_table.value
    explorer.hidden_size.value, explorer.input_size.value = 200, 72
    for model, n in explorer.counts.items():
        assert n == expected_count(model, 72, 200)
        assert f"{n:,}" in explorer.count_table.value
    chart = explorer.chart.value
    explorer.log_scale.value = False
    assert explorer.chart.value != chart


# ------------------------------------------------------------------ chapter 3's claims


def test_claims_of_chapter_3():
    data = compare.web_data()
    lstm = np.array(data["params"]["LSTM"])
    for model, ratio in {"RNN": 0.25, "GRU": 0.75, "BiLSTM": 2.0}.items():
        assert np.all(np.array(data["params"][model]) == ratio * lstm)  # at every size
    for init in compare.INITS:
        bi, one_way = compare.retention("BiLSTM", init), compare.retention("LSTM", init)
        assert np.all(bi[1:] < one_way[1:])
    assert max(compare.retention(m)[50] for m in compare.MODELS) < 1e-6
    assert compare.retention("LSTM", "b_f = 3")[50] > 0.1


# ------------------------------------------------------------------ the website


@pytest.mark.site
def test_site_player_shows_lstm_refs_numbers(browser, server):
    visit = Visit(browser, server, "book/03_variants.html")
    try:
        page = visit.page
        page.wait_for_selector('div.lstm-explorer[data-explorer="compare"][data-ready="true"]')
        root = page.locator('div.lstm-explorer[data-explorer="compare"]')
        bar = lambda m: root.locator(f'.lstm-x-bar[data-name="{m}"] output')  # noqa: E731
        points = root.locator('[data-chart="retention"] polyline').first.get_attribute("points")
        hidden = int(drag(page, root.locator('input[data-name="hidden_size"]'), 0.3))
        assert f"d = {hidden}" in root.locator('[data-chart="params"] p').inner_text()
        same = root.locator('[data-chart="retention"] polyline').first.get_attribute("points")
        assert same == points  # retention was measured at one size: the chart stays
        inputs = int(drag(page, root.locator('input[data-name="input_size"]'), 0.7))
        assert (hidden, inputs) != (128, 32)
        assert root.get_attribute("data-hidden-size") == str(hidden)
        for model in compare.MODELS:
            n = expected_count(model, inputs, hidden)
            assert int(float(bar(model).get_attribute("data-value"))) == n
            assert bar(model).inner_text() == f"{n:,}"
        polylines = root.locator('[data-chart="retention"] polyline')
        assert polylines.count() == 4
        caption = root.locator(".lstm-x-caption").first.inner_text()
        assert f"hidden size {compare.RETENTION_HIDDEN}" in caption  # the chart's one size
        svg = root.locator('[data-chart="retention"] svg.lstm-x-lines')
        assert "retention against lag k" in svg.get_attribute("aria-label")
        ticks = svg.locator(".axes text").all_inner_texts()
        assert len(ticks) >= 2 + 4 + 4  # axis titles, and several ticks on each axis
        boxes = [b for b in svg.locator(".axes text").evaluate_all(
            "ts => ts.map(t => { const r = t.getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom]; })")]  # fmt: skip
        for j, a in enumerate(boxes):  # no two labels overlap
            for b in boxes[j + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        root.locator('button[data-name="GRU"]').click()
        assert polylines.count() == 3
        assert root.locator('polyline[data-name="GRU"]').count() == 0
        root.locator('button[data-name="b_f = 3"]').click()
        lag = int(drag(page, root.locator('input[data-name="lag"]'), 0.45))
        assert lag != 10
        for model in ("RNN", "LSTM", "BiLSTM"):
            out = root.locator(f'[data-table="retention"] [data-model="{model}"] output')
            expected = compare.retention(model, "b_f = 3")[lag]
            assert float(out.get_attribute("data-value")) == pytest.approx(expected, rel=1e-5)
        points = polylines.first.get_attribute("points")
        root.locator('button[data-name="log scale"]').click()
        assert polylines.first.get_attribute("points") != points
        assert visit.errors == [] and visit.offsite == []
    finally:
        visit.close()
