"""The data-flow animation: every stage shows chapter 2's worked step, in the widget and in
the website's player, and the website's digits are the ones its tables print."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstm_ref.experiments.worked_example import cell_check, worked_params, worked_step
from lstm_ref.explore import dataflow
from tests.support.site import Visit

STEP = worked_step()
ORDER = ["forget", "input", "candidate", "cell", "output"]


def expected(name: str) -> list[str]:
    """The chapter's printing of a quantity: 4 decimals (markdown_table)."""
    return [f"{v:.4f}" for v in getattr(STEP, name)[0]]


def table_rows(html: str) -> dict[str, tuple[bool, list[str]]]:
    """name -> (active, values) of a frame's rendered table."""
    rows = {}
    for name, active, body in re.findall(
        r'<tr data-name="(\w+)" data-active="(\w+)"[^>]*>(.*?)</tr>', html
    ):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body)[1:]  # first cell is the label
        rows[name] = (active == "true", cells)
    return rows


def test_frames_are_the_five_stages_with_the_worked_numbers():
    frames = dataflow.frames()
    assert [f["stage"] for f in frames] == ORDER
    h_cell, c_cell = cell_check(STEP, worked_params())  # lstm_ref.nn.LSTMCell, float64
    assert np.allclose(h_cell, STEP.h, atol=1e-12) and np.allclose(c_cell, STEP.c, atol=1e-12)
    seen = set()
    for frame in frames:
        for name in frame["active"]:
            assert frame["values"][name] == expected(name)
        seen |= set(frame["active"])
        assert set(frame["values"]) == seen | set(dataflow.GIVEN)  # nothing from the future
    assert frames[-1]["values"]["h"] == expected("h")


def test_widget_steps_through_every_stage():
    explorer = dataflow.widget()
    assert explorer.play.max == explorer.stage.max == 4
    for k, stage in enumerate(ORDER):
        if k:
            explorer.forward.click()
        assert explorer.stage.value == k
        assert explorer.frame["stage"] == stage
        assert f"Stage {k + 1} of 5" in explorer.indicator.value
        rows = table_rows(explorer.table.value)
        for name in explorer.frame["active"]:
            assert rows[name] == (True, expected(name)), (stage, name)
        active = re.findall(r'data-stage="(\w*)" stroke="#1f77b4"', explorer.diagram.value)
        assert active and set(active) == {stage}
    assert rows["c"][1] == expected("c") and rows["h"][1] == expected("h")
    explorer.forward.click()  # past the end: stays on the last stage
    assert explorer.stage.value == 4
    explorer.back.click()
    assert explorer.frame["stage"] == "cell"
    assert table_rows(explorer.table.value)["h"] == (False, ["", ""])


def test_play_is_linked_to_the_stage_slider():
    explorer = dataflow.widget()
    explorer.play.value = 2
    assert explorer.stage.value == 2
    assert explorer.frame["stage"] == "candidate"
    assert table_rows(explorer.table.value)["g"] == (True, expected("g"))


# --- the website's player, in Chromium ---------------------------------------------------

PAGE = "book/02_lstm_cell.html"
EXPLORER = 'div.lstm-explorer[data-explorer="dataflow"]'


def shown_rows(page) -> dict[str, dict]:
    return page.eval_on_selector_all(
        f"{EXPLORER} tr[data-name]",
        """rows => Object.fromEntries(rows.map(r => [r.dataset.name, {
            active: r.dataset.active === "true",
            values: [...r.querySelectorAll("td")].slice(1).map(td => td.textContent)}]))""",
    )


@pytest.mark.site
def test_site_player_shows_the_chapters_numbers(browser, server):
    visit = Visit(browser, server, PAGE)
    try:
        page = visit.page
        page.wait_for_selector(f'{EXPLORER}[data-ready="true"]')
        root = page.locator(EXPLORER)
        root.scroll_into_view_if_needed()
        printed = set(page.eval_on_selector_all(  # every number of the chapter's tables
            "main table:not(.lstm-x-dataflow) td", "cells => cells.map(c => c.textContent.trim())"
        ))  # fmt: skip
        for k, stage in enumerate(ORDER):
            if k:
                root.locator('button[data-action="forward"]').click()
            assert root.get_attribute("data-stage") == stage
            assert root.locator(".lstm-x-stage").text_content().startswith(f"Stage {k + 1} of 5")
            rows = shown_rows(page)
            for name in dataflow.frames()[k]["active"]:
                assert rows[name] == {"active": True, "values": expected(name)}, (stage, name)
                assert set(expected(name)) <= printed, f"{name} is not what the chapter prints"
            highlighted = root.locator('svg [data-stage][stroke="#1f77b4"]')
            assert highlighted.count() > 0
            assert set(highlighted.evaluate_all("e => e.map(x => x.dataset.stage)")) == {stage}

        root.locator('button[data-action="back"]').click()
        assert root.get_attribute("data-stage") == "cell"
        root.locator('button[data-action="play"]').click()  # plays on from "cell"
        page.wait_for_function(
            f"document.querySelector('{EXPLORER}').dataset.stage === 'output'", timeout=5000
        )
        assert shown_rows(page)["h"] == {"active": True, "values": expected("h")}
        assert visit.errors == []
        assert visit.offsite == []
    finally:
        visit.close()
