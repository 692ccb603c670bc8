"""Bytes a reader's browser downloads for each page of the built site.

    .venv/bin/python benchmarks/bench_page_weight.py [--html _build/html] [--stock] [PAGE ...]

Serves the site over HTTP on 127.0.0.1, opens each page in Chromium (Playwright) with an
empty cache, waits until the network is idle, and sums the bodies of every response: the
HTML, scripts, styles, fonts and images the page actually asked for (uncompressed, as a
server that does not compress sends them).

``--stock`` is the baseline, in the same run: the same book built again without
``book/_ext/lighter.py`` (what the theme stack emits), into a temporary folder, reusing the
executed notebooks of ``_build``'s cache (build the site first). Each page is then
weighed in both builds, with the ratio.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import socketserver
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[1]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def weigh(root: Path, pages: list[str]) -> dict[str, tuple[int, int, list[tuple[int, str]]]]:
    """page -> (bytes, files, the four largest (bytes, name))."""
    handler = functools.partial(_Quiet, directory=str(root))
    weights = {}
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
                weights[name] = (sum(sizes.values()), len(sizes), largest)
                context.close()
            browser.close()
        server.shutdown()
    return weights


def build_stock(folder: Path) -> Path:
    """The book as the theme stack emits it: _config.yml without book/_ext/lighter.py."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    extensions = config["sphinx"]["local_extensions"]
    extensions.pop("lighter")
    config["sphinx"]["local_extensions"] = {k: str(REPO / v) for k, v in extensions.items()}
    config.setdefault("execute", {})["cache"] = str(REPO / "_build" / ".jupyter_cache")
    path = folder / "stock_config.yml"
    path.write_text(yaml.safe_dump(config))
    try:
        subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", ".",
                        "--config", str(path), "--path-output", str(folder)],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    finally:
        path.unlink()
    return folder / "_build" / "html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--stock", action="store_true", help="weigh the theme's own build too")
    parser.add_argument("pages", nargs="*")
    args = parser.parse_args()
    pages = args.pages or sorted(p.relative_to(args.html).as_posix()
                                 for p in (args.html / "book").glob("0*.html"))  # fmt: skip
    ours = weigh(args.html, pages)
    stock = {}
    if args.stock:
        with tempfile.TemporaryDirectory() as folder:
            stock = weigh(build_stock(Path(folder)), pages)
        print("| page | stock theme (MB) | this site (MB) | ratio |\n|---|---|---|---|")
        for name in pages:
            print(f"| {name} | {stock[name][0] / 1e6:.2f} | {ours[name][0] / 1e6:.2f} | "
                  f"{ours[name][0] / stock[name][0]:.2f} |")  # fmt: skip
    for name, (total, files, largest) in ours.items():
        print(f"{name}: {total / 1e6:.2f} MB in {files} files; "
              + ", ".join(f"{n} {v / 1e3:.0f} kB" for v, n in largest))  # fmt: skip


if __name__ == "__main__":
    main()
