"""The built website, served on loopback and opened in headless Chromium (Playwright).

Fixtures ``site``, ``server`` and ``browser`` (imported by tests/conftest.py) and
:class:`Visit`, one page opened in a fresh context that records console errors and every
request leaving the site. Builds are serialised by a lock in _build/, so two test runs (or
``flock _build/.build-lock jupyter-book build .``) never write the same tree at once.

``COURSE_SITE=/path/to/html`` tests a site built elsewhere as it is, with no build (e.g. a
copy with patched static files); the site tests are skipped, with that reason, when it
holds no index.html (they fail instead under CI).
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


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


def skip_or_fail(reason: str):
    """Skip with ``reason``; under CI (``CI`` set) fail instead: CI must run every check."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site; built now (warnings are errors) unless it is newer than its sources.

    With ``COURSE_SITE`` set, that directory as it is (no build).
    """
    if os.environ.get("COURSE_SITE"):
        given = Path(os.environ["COURSE_SITE"])
        if not (given / "index.html").is_file():
            skip_or_fail(f"COURSE_SITE={given} holds no built site (no index.html)")
        return given
    sources = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("book/**/*")]
    index = HTML / "index.html"
    newest_source = max(p.stat().st_mtime for p in sources if p.is_file())
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".build-lock", "w") as lock:  # one build at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not index.exists() or index.stat().st_mtime < newest_source:
            jb = Path(sys.executable).with_name("jupyter-book")
            cmd = [str(jb), "build", str(ROOT), "--warningiserror", "--keep-going"]
            result = subprocess.run(cmd, capture_output=True, text=True)
            assert result.returncode == 0, "site build failed:\n" + result.stdout[-4000:]
    return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request in the test output
        pass


@pytest.fixture(scope="session")
def server(site):
    """A static server for the site on 127.0.0.1 (loopback only)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page opened in a fresh context: what it logged and what it asked the network."""

    def __init__(self, browser, server: str, path: str, init_script: str = "", **context):
        """``init_script`` runs in the page before its own scripts (e.g. to pick the theme's
        colour mode); ``context``: options of ``browser.new_context`` (viewport, ...)."""
        self.context = browser.new_context(**context)
        if init_script:
            self.context.add_init_script(init_script)
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


def drag(page, target, fraction: float) -> float:
    """Drag a range input's thumb with the mouse to ``fraction`` of its track; its new value.

    ``target`` is a selector or a Playwright locator. The press lands on the thumb where it
    is, so this is a drag, not a click on the track.
    """
    slider = page.locator(target) if isinstance(target, str) else target
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    start = slider.evaluate("i => (i.value - i.min) / (i.max - i.min)")  # thumb, 0 … 1
    page.mouse.move(box["x"] + 8 + start * (box["width"] - 16), y)  # the thumb is ~16 px wide
    page.mouse.down()
    page.mouse.move(box["x"] + 8 + fraction * (box["width"] - 16), y, steps=8)
    page.mouse.up()
    return float(slider.input_value())
