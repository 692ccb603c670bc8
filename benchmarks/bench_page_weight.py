"""Bytes a reader's browser downloads for each page of the built site.

    .venv/bin/python benchmarks/bench_page_weight.py [_build/html] [book/01_rnn_limits.html ...]

Serves the site over HTTP on 127.0.0.1, opens each page in Chromium (Playwright) with an
empty cache, waits until the network is idle, and sums the bodies of every response: the
HTML, scripts, styles, fonts and images the page actually asked for.
"""

from __future__ import annotations

import functools
import http.server
import socketserver
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def weigh(root: Path, pages: list[str]) -> None:
    handler = functools.partial(_Quiet, directory=str(root))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for name in pages:
                context = browser.new_context()
                page, sizes = context.new_page(), {}
                page.on("response", lambda r, sizes=sizes: sizes.__setitem__(r.url, len(r.body())))
                page.goto(base + name, wait_until="networkidle")
                page.wait_for_timeout(1500)  # MathJax fetches its fonts after typesetting
                largest = sorted(((v, k.split("/")[-1].split("?")[0]) for k, v in sizes.items()),
                                 reverse=True)[:4]  # fmt: skip
                print(f"{name}: {sum(sizes.values()) / 1e6:.2f} MB in {len(sizes)} files; "
                      + ", ".join(f"{n} {v / 1e3:.0f} kB" for v, n in largest))  # fmt: skip
                context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("_build/html")
    pages = sys.argv[2:] or sorted(p.relative_to(root).as_posix()
                                   for p in (root / "book").glob("0*.html"))  # fmt: skip
    weigh(root, pages)
