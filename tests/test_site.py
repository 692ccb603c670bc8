"""The built website, opened in headless Chromium as a reader would.

The site is built first if needed (``jupyter-book build``; unchanged pages come from the
execution cache), served on 127.0.0.1, and every page in _toc.yml is checked: no console
errors, no request leaving the site, every image loaded, math typeset, navigation and
search working. Solutions and hidden tests must appear nowhere in the build.

Needs Chromium (Debian: ``apt-get install chromium``). Without it the browser checks are
skipped with that reason, except under CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import re

import pytest

from tests.support.site import Visit, toc_pages

SOLUTION_MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")

pytestmark = pytest.mark.site


@pytest.mark.parametrize("page_name", toc_pages())
def test_page_loads_cleanly_with_no_network(browser, server, page_name):
    visit = Visit(browser, server, page_name + ".html")
    try:
        assert visit.response.status == 200
        page = visit.page
        if page.locator(".math").count() > 0:  # MathJax, served from _static, typesets it
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("MathJax.startup.promise")
            assert page.locator("mjx-container").count() >= page.locator(".math").count()
            assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
        broken = page.evaluate(
            "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        assert broken == [], f"images that did not load: {broken}"
        assert visit.errors == []
        assert visit.offsite == [], "the site must work offline"
    finally:
        visit.close()


def test_next_links_walk_the_table_of_contents_in_order(browser, server):
    pages = toc_pages()
    visit = Visit(browser, server, pages[0] + ".html")
    try:
        for expected in pages[1:]:
            visit.page.locator("a.right-next").first.click()
            visit.page.wait_for_load_state("networkidle")
            assert visit.page.url.endswith(expected + ".html")
        assert visit.errors == []
    finally:
        visit.close()


def test_sidebar_lists_every_page(browser, server):
    pages = toc_pages()
    visit = Visit(browser, server, pages[0] + ".html")
    try:
        hrefs = visit.page.eval_on_selector_all(
            "nav.bd-docs-nav a.reference", "links => links.map(a => a.href)"
        )
        for name in pages[1:]:
            assert any(h.split("#")[0].endswith(name + ".html") for h in hrefs), name
    finally:
        visit.close()


def test_search_finds_a_page(browser, server):
    visit = Visit(browser, server, "search.html?q=reference")
    try:
        visit.page.wait_for_function(
            "document.querySelector('#search-results') &&"
            " document.querySelector('#search-results').innerText.includes('Search finished')",
            timeout=20_000,
        )
        found = visit.page.eval_on_selector_all("#search-results a", "a => a.map(x => x.href)")
        assert any("book/intro.html" in href for href in found)
        assert visit.errors == []
    finally:
        visit.close()


def test_no_solution_or_hidden_test_anywhere_in_the_site(site):
    """Pages, _sources/ and downloads: not one solution region or hidden test."""
    leaks = [
        str(path.relative_to(site))
        for path in site.rglob("*")
        if path.is_file()
        and path.suffix in {".html", ".txt", ".md", ".ipynb", ".py", ".js", ".json"}
        and SOLUTION_MARKERS.search(path.read_text(errors="ignore"))
    ]
    assert leaks == []
    assert not (site / "solutions").exists() and not (site / "_sources" / "solutions").exists()
