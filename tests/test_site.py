"""The built website, opened in headless Chromium as a reader would.

The site is built first if needed (``jupyter-book build``; unchanged pages come from the
execution cache), served on 127.0.0.1, and every page in _toc.yml is checked: no console
errors, no request leaving the site, every image loaded, math typeset, navigation and
search working. Solutions and hidden tests must appear nowhere in the build.

Needs Chromium (Debian: ``apt-get install chromium``). Without it the browser checks are
skipped with that reason, except under CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SOLUTION_MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")

pytestmark = pytest.mark.site


def toc_pages() -> list[str]:
    """Every page of _toc.yml, in reading order, as 'book/intro'-style names."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            pages.append(entry["file"])
            walk(entry.get("sections"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return pages


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site; built now (warnings are errors) unless it is newer than its sources."""
    sources = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("book/**/*")]
    index = HTML / "index.html"
    newest_source = max(p.stat().st_mtime for p in sources if p.is_file())
    if not index.exists() or index.stat().st_mtime < newest_source:
        jb = Path(sys.executable).with_name("jupyter-book")
        cmd = [str(jb), "build", str(ROOT), "--warningiserror", "--keep-going"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, "site build failed:\n" + result.stdout[-4000:]
    return HTML


@pytest.fixture(scope="session")
def server(site):
    """A static server for the site on 127.0.0.1 (loopback only)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page opened in a fresh context: what it logged and what it asked the network."""

    def __init__(self, browser, server: str, path: str):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.offsite: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("console", self._console)
        self.context.route("**/*", lambda route: self._route(route, server))
        self.response = self.page.goto(server + path, wait_until="networkidle")

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def _route(self, route, server):
        if route.request.url.startswith(server) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.offsite.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


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
