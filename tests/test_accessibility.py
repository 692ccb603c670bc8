"""Accessibility of the built website: axe-core on every page, in light and dark mode, and
the explorers' text size and the page width on a 375 px phone.

axe-core comes from the PyPI package axe-playwright-python, which bundles its JavaScript
(axe.min.js); it runs in the system Chromium through Playwright (tests/support/site.py).
A page fails on any violation of impact "serious" or "critical", axe's experimental rules
included (label-content-name-mismatch, WCAG 2.5.3, is one of them). Each failure names the
rule, the page, the colour mode and the offending element.

The site is the one tests/support/site.py gives (built if needed, or ``COURSE_SITE``);
without Chromium or axe-playwright-python the tests are skipped with that reason.
"""

from __future__ import annotations

import pytest

from tests.support.site import Visit, skip_or_fail

pytestmark = pytest.mark.site

MODES = ("light", "dark")
FAILING = {"serious", "critical"}
PHONE = {"width": 375, "height": 800}
PHONE_PAGES = ("book/01_rnn_limits.html", "book/05_language_models.html",
               "book/06_encoder_decoder.html")  # fmt: skip
MIN_TEXT_PX = 10.0

READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const waiting = () => document.querySelectorAll("div.lstm-explorer:not([data-ready])").length;
  for (let k = 0; k < 50 && waiting(); k++) await new Promise((r) => setTimeout(r, 100));
  return document.documentElement.dataset.theme;
}"""

# Every piece of text an explorer shows, with its size on screen: the computed font size,
# times the scale of the SVG it sits in (an SVG drawn smaller than its viewBox shrinks it).
EXPLORER_TEXT = """() => {
  const out = [];
  for (const root of document.querySelectorAll("div.lstm-explorer")) {
    for (const node of root.querySelectorAll("*")) {
      const own = [...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || !node.getClientRects().length) continue;
      let px = parseFloat(getComputedStyle(node).fontSize);
      const svg = node.closest("svg");
      const box = svg && svg.viewBox && svg.viewBox.baseVal;
      if (box && box.width) px *= svg.getBoundingClientRect().width / box.width;
      out.push({ explorer: root.dataset.explorer, tag: node.tagName,
        text: node.textContent.trim().slice(0, 30), px });
    }
  }
  return out;
}"""


def mode_script(mode: str) -> str:
    """Pick the theme's colour mode before its scripts read it (pydata-sphinx-theme)."""
    return f'localStorage.setItem("mode", "{mode}");'


@pytest.fixture(scope="module")
def axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        skip_or_fail("axe-playwright-python is not installed: pip install axe-playwright-python")
    return Axe()


@pytest.fixture(scope="module")
def pages(site) -> list[str]:
    """Every HTML page of the site (top level and book/), redirect stubs left out."""
    files = [*sorted(site.glob("*.html")), *sorted(site.glob("book/*.html"))]
    found = [
        p.relative_to(site).as_posix()
        for p in files
        if 'http-equiv="refresh"' not in p.read_text(errors="replace")[:2000]
    ]
    assert any(p.startswith("book/") for p in found), f"no pages in {site}/book"
    return found


def experimental_rules(visit) -> dict:
    """axe's experimental rules, switched on (they are off by default)."""
    return {
        rule: {"enabled": True}
        for rule in visit.page.evaluate("axe.getRules(['experimental']).map(r => r.ruleId)")
    }


def describe(violation: dict, page: str, mode: str) -> list[str]:
    lines = []
    for node in violation["nodes"]:
        checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
        why = checks[0]["message"] if checks else violation["help"]
        lines.append(
            f"{violation['id']} ({violation['impact']}) on {page} [{mode}]: "
            f"{' '.join(map(str, node['target']))}\n    {node['html'][:240]}\n    {why}"
        )
    return lines


@pytest.mark.parametrize("mode", MODES)
def test_axe_finds_no_serious_or_critical_violation(browser, server, axe, pages, mode):
    found = []
    for page in pages:
        visit = Visit(browser, server, page, init_script=mode_script(mode))
        try:
            assert visit.page.evaluate(READY) == mode, f"{page} did not open in {mode} mode"
            visit.page.evaluate(axe.axe_script)
            options = {"resultTypes": ["violations"], "rules": experimental_rules(visit)}
            results = axe.run(visit.page, options=options).response
            for violation in results["violations"]:
                if violation["impact"] in FAILING:
                    found += describe(violation, page, mode)
        finally:
            visit.close()
    assert not found, f"{len(found)} serious or critical axe violations:\n" + "\n".join(found)


def test_axe_on_a_phone_finds_no_serious_or_critical_violation(browser, server, axe):
    """At 375 px wide equations, tables and code scroll inside their boxes; each box that
    scrolls must take the keyboard's focus (scrollable-region-focusable, serious), which
    the desktop-width run above cannot see. The pages with the widest equations."""
    found = []
    for page in PHONE_PAGES:
        visit = Visit(browser, server, page, viewport=PHONE)
        try:
            visit.page.evaluate(READY)
            visit.page.evaluate(axe.axe_script)
            options = {"resultTypes": ["violations"], "rules": experimental_rules(visit)}
            for violation in axe.run(visit.page, options=options).response["violations"]:
                if violation["impact"] in FAILING:
                    found += describe(violation, page, "light, 375 px")
        finally:
            visit.close()
    assert not found, f"{len(found)} serious or critical axe violations:\n" + "\n".join(found)


@pytest.mark.parametrize("mode", MODES)
def test_phone_width_and_explorer_text_size(browser, server, pages, mode):
    too_wide, too_small, explorers = [], [], 0
    for page in pages:
        visit = Visit(browser, server, page, init_script=mode_script(mode), viewport=PHONE)
        try:
            visit.page.evaluate(READY)
            width = visit.page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide.append(f"{page} [{mode}]: {width} px wide")
            texts = visit.page.evaluate(EXPLORER_TEXT)
            explorers += visit.page.locator("div.lstm-explorer").count()
            too_small += [
                f"{page} [{mode}] {t['explorer']}: <{t['tag'].lower()}> {t['text']!r} "
                f"{t['px']:.1f} px"
                for t in texts
                if t["px"] < MIN_TEXT_PX
            ]
        finally:
            visit.close()
    assert explorers >= 4, "expected the four explorers on the site's pages"
    assert not too_wide, "pages wider than a 375 px phone:\n" + "\n".join(too_wide)
    assert not too_small, f"explorer text under {MIN_TEXT_PX} px:\n" + "\n".join(too_small)


@pytest.mark.parametrize("width", [PHONE["width"], 1280])
def test_the_visible_menu_buttons_open_the_contents(browser, server, width):
    """The ☰ a reader sees opens the site's contents (on a phone, as a dialog that Escape
    closes; on a wide screen the sidebar folds away), and on a phone "On this page" opens
    too. The themes listened only to a hidden copy of each button (pydata-sphinx-theme
    #2451), found by a reader walk-through at 375 px."""
    visit = Visit(browser, server, "book/01_rnn_limits.html",
                  viewport={"width": width, "height": 800})  # fmt: skip
    try:
        visit.page.evaluate(READY)
        opened = "(id) => document.getElementById(id).open"
        folded = "document.getElementById('pst-primary-sidebar').classList" \
                 ".contains('pst-sidebar-hidden')"  # fmt: skip
        visit.page.locator(".primary-toggle").locator("visible=true").first.click()
        if width == PHONE["width"]:
            assert visit.page.evaluate(opened, "pst-primary-sidebar-modal")
            visit.page.keyboard.press("Escape")
            assert not visit.page.evaluate(opened, "pst-primary-sidebar-modal")
            visit.page.locator(".secondary-toggle").locator("visible=true").first.click()
            assert visit.page.evaluate(opened, "pst-secondary-sidebar-modal")
        else:
            assert visit.page.evaluate(folded)
            assert not visit.page.evaluate(opened, "pst-primary-sidebar-modal")
    finally:
        visit.close()
