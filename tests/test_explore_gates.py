"""The gate explorer: its numbers against lstm_ref.nn's cells (float64), its widget driven
through ipywidgets, and its website player (JavaScript) against the same oracle."""

from __future__ import annotations

import json
import random

import pytest
import torch

from lstm_ref.explore import gates
from lstm_ref.nn import GRUCell, LSTMCell
from tests.support.site import Visit, drag

CELLS = {"LSTM": LSTMCell, "GRU": GRUCell}


def oracle(mode: str, values: dict[str, float]) -> dict[str, float]:
    """Gates from torch's own ops on the cell's weights; new states from lstm_ref.nn's cell."""
    full = {s.name: s.value for s in gates.sliders(mode)} | values
    cell = CELLS[mode](1, 1, dtype=torch.float64)
    names = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
    params = gates.params(mode, full)
    cell.load_state_dict({names[k]: torch.from_numpy(v) for k, v in params.items()})
    x = torch.tensor([[full["x"]]], dtype=torch.float64)
    h = torch.tensor([[full["h_prev"]]], dtype=torch.float64)
    x_part = x @ cell.weight_ih.T + cell.bias_ih  # (1, G)
    h_part = h @ cell.weight_hh.T + cell.bias_hh  # (1, G)
    with torch.no_grad():
        if mode == "LSTM":
            c = torch.tensor([[full["c_prev"]]], dtype=torch.float64)
            a = (x_part + h_part)[0]  # (4,) in order i, f, g, o
            out = dict(i=a[0].sigmoid(), f=a[1].sigmoid(), g=a[2].tanh(), o=a[3].sigmoid())
            out["h"], out["c"] = cell(x, (h, c))
        else:
            r, z = (x_part + h_part)[0, :2].sigmoid()
            n = (x_part[0, 2] + r * h_part[0, 2]).tanh()  # r after W_hn h + b_hn
            out = dict(r=r, z=z, n=n, h=cell(x, h))
    return {k: float(v.item()) for k, v in out.items()}


def random_values(mode: str, rng: random.Random) -> dict[str, float]:
    return {s.name: round(rng.uniform(s.min, s.max), 2) for s in gates.sliders(mode)}


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_compute_matches_lstm_ref_nn_cells(mode):
    rng = random.Random(0)
    for values in [{}, *(random_values(mode, rng) for _ in range(20))]:
        got, expected = gates.compute(mode, values), oracle(mode, values)
        assert got.keys() == set(gates.OUTPUTS[mode])
        for name in got:
            assert got[name] == pytest.approx(expected[name], abs=1e-12), (name, values)


def test_unknown_mode_says_what_was_expected():
    with pytest.raises(ValueError, match="'LSTM' or 'GRU'"):
        gates.compute("RNN")


def shown(explorer: gates.GateExplorer, name: str) -> str:
    return explorer.bars[name].value


def test_widget_recomputes_when_a_slider_moves():
    explorer = gates.widget()
    assert explorer.values == pytest.approx(oracle("LSTM", {}), abs=1e-12)
    before = dict(explorer.values)
    explorer.sliders["b_f"].value = -2.5
    explorer.sliders["x"].value = -1.5
    explorer.sliders["c_prev"].value = 1.75
    values = {"b_f": -2.5, "x": -1.5, "c_prev": 1.75}
    expected = oracle("LSTM", values)
    assert explorer.values == pytest.approx(expected, abs=1e-12)
    assert explorer.values["f"] != pytest.approx(before["f"])
    for name in gates.OUTPUTS["LSTM"]:
        assert gates.fmt(expected[name]) in shown(explorer, name)
        assert explorer.bars[name] in explorer.children


def test_widget_switches_to_the_gru():
    explorer = gates.widget()
    explorer.sliders["h_prev"].value = -0.6
    explorer.mode.value = "GRU"
    assert set(explorer.values) == {"r", "z", "n", "h"}
    explorer.sliders["w_n"].value = 2.0
    expected = oracle("GRU", {"h_prev": -0.6, "w_n": 2.0})
    assert explorer.values == pytest.approx(expected, abs=1e-12)
    for name in "rznh":
        assert gates.fmt(expected[name]) in shown(explorer, name)
    for hidden in ("c_prev", "w_f", "b_o"):
        assert explorer.sliders[hidden] not in explorer.children
    assert explorer.bars["c"] not in explorer.children
    assert explorer.children[-4:] == tuple(explorer.bars[k] for k in "rznh")
    explorer.mode.value = "LSTM"  # back: the LSTM's sliders kept their values
    assert explorer.values == pytest.approx(oracle("LSTM", {"h_prev": -0.6}), abs=1e-12)


def test_bars_follow_the_equations_order_and_share_one_scale_per_group():
    assert gates.OUTPUTS["LSTM"][:4] == gates.GATES["LSTM"] == ("i", "f", "g", "o")
    outputs = {o["name"]: o for o in gates.web().data["modes"]["LSTM"]["outputs"]}
    assert outputs["c"]["range"] == outputs["h"]["range"]  # c_t and h_t compare
    assert outputs["c"]["group"] == outputs["h"]["group"] != outputs["f"]["group"]
    assert len({tuple(o["range"]) for o in outputs.values() if o["group"] == "gates"}) == 1


def test_web_embeds_the_sliders_and_fixed_weights_of_both_modes():
    html = gates.web()._repr_html_()
    data = json.loads(html.split('class="lstm-explorer-data">')[1].split("</script>")[0])
    for mode in gates.GATES:
        spec = data["modes"][mode]
        assert [s["name"] for s in spec["sliders"]] == [s.name for s in gates.sliders(mode)]
        assert spec["recurrent"] == {k: gates.RECURRENT[k] for k in gates.GATES[mode]}
        assert [o["name"] for o in spec["outputs"]] == list(gates.OUTPUTS[mode])


# --- the website's player, in Chromium ---------------------------------------------------

PAGE = "book/02_lstm_cell.html"
EXPLORER = 'div.lstm-explorer[data-explorer="gates"]'


def page_values(page) -> dict[str, float]:
    return page.eval_on_selector_all(
        f"{EXPLORER} input[type=range]",
        "inputs => Object.fromEntries(inputs.map(i => [i.dataset.name, Number(i.value)]))",
    )


def check_page_against_oracle(page, mode: str) -> None:
    values = page_values(page)
    names = {s.name for s in gates.sliders(mode)}
    expected = oracle(mode, {k: v for k, v in values.items() if k in names})
    for name in gates.OUTPUTS[mode]:
        row = page.locator(f'{EXPLORER} [data-output="{name}"] output.lstm-x-value')
        assert row.is_visible(), name
        assert row.text_content() == gates.fmt(expected[name]), (mode, name, values)
        raw = float(row.get_attribute("data-value"))
        assert raw == pytest.approx(expected[name], abs=1e-12), (mode, name, values)


@pytest.mark.site
def test_site_player_matches_lstm_ref(browser, server):
    visit = Visit(browser, server, PAGE)
    try:
        page = visit.page
        page.wait_for_selector(f'{EXPLORER}[data-ready="true"]')
        page.locator(EXPLORER).scroll_into_view_if_needed()
        check_page_against_oracle(page, "LSTM")  # the defaults
        order = page.eval_on_selector_all(
            f"{EXPLORER} [data-output]",
            "rows => rows.filter(r => r.offsetParent).map(r => r.dataset.output)",
        )
        assert order == list(gates.OUTPUTS["LSTM"])  # i, f, g, o, then c, h
        fills = {  # c_t and h_t on one scale: bar widths in the ratio of their values
            name: page.locator(f'{EXPLORER} [data-output="{name}"] .lstm-x-fill').bounding_box()
            for name in "ch"
        }
        shown = {k: float(page.locator(f'{EXPLORER} [data-output="{k}"] output')
                          .get_attribute("data-value")) for k in "ch"}  # fmt: skip
        assert fills["c"]["width"] / fills["h"]["width"] == pytest.approx(
            abs(shown["c"] / shown["h"]), rel=0.05
        )

        before = page_values(page)["b_f"]
        drag(page, f'{EXPLORER} input[data-name="b_f"]', 0.1)
        assert page_values(page)["b_f"] < before - 1, "the drag did not move the slider"
        check_page_against_oracle(page, "LSTM")

        page.locator(f'{EXPLORER} input[data-name="x"]').fill("-1.35")
        page.locator(f'{EXPLORER} input[data-name="c_prev"]').fill("1.8")
        page.locator(f'{EXPLORER} input[data-name="w_o"]').press("ArrowLeft")
        check_page_against_oracle(page, "LSTM")

        page.locator(f'{EXPLORER} button[data-mode="GRU"]').click()
        assert page.locator(EXPLORER).get_attribute("data-mode") == "GRU"
        assert not page.locator(f'{EXPLORER} [data-output="c"]').is_visible()
        check_page_against_oracle(page, "GRU")
        drag(page, f'{EXPLORER} input[data-name="w_n"]', 0.9)
        page.locator(f'{EXPLORER} input[data-name="h_prev"]').fill("-0.75")
        check_page_against_oracle(page, "GRU")

        page.locator(f'{EXPLORER} button[data-mode="LSTM"]').click()
        check_page_against_oracle(page, "LSTM")
        assert visit.errors == []
        assert visit.offsite == []
    finally:
        visit.close()
