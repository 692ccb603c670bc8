"""A page downloads only what it uses (book/_ext/lighter.py; issue 14, "Light").

The bytes themselves are measured by benchmarks/bench_page_weight.py; these tests hold
the site to what made them fewer, and check that nothing a reader sees was lost: every
icon keeps its glyph, every figure its pixels, every equation its typesetting and the
MathML that screen readers read.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.support.site import Visit

pytestmark = pytest.mark.site

PAGES = ["book/04_gradient_flow.html", "book/07_using_lstms.html", "book/glossary.html",
         "search.html"]  # fmt: skip

# what the theme stack loads and no page here uses (see book/_ext/lighter.py)
UNUSED = ["scripts/fontawesome.js", "mathjax/tex-chtml.js", "mathjax/ui/menu.js",
          "searchindex.js", "searchtools.js", "sphinx-design.min.css", "design-tabs.js",
          "sphinx-thebe"]  # fmt: skip

MATHJAX_READY = "window.MathJax && MathJax.startup && MathJax.startup.promise"
SHOWN_GLYPHS = """() => {
  const glyphs = [];
  for (const element of document.querySelectorAll("body *")) {
    for (const pseudo of ["::before", "::after"]) {
      const style = getComputedStyle(element, pseudo);
      if (!style.fontFamily.includes("Font Awesome")) continue;
      const content = style.content;
      if (!content || content === "none" || content === "normal") continue;
      glyphs.push([element.className.toString(), content]);
    }
  }
  return glyphs;
}"""


def resources(visit: Visit) -> list[str]:
    return visit.page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")


def test_chapter_pages_load_nothing_they_do_not_use(browser, server):
    for name in PAGES[:2]:
        visit = Visit(browser, server, name)
        try:
            visit.page.wait_for_function(MATHJAX_READY)
            visit.page.evaluate("MathJax.startup.promise")
            loaded = resources(visit)
            assert [u for u in loaded if any(asset in u for asset in UNUSED)] == [], name
            assert any("mathjax/startup.js" in u for u in loaded)
            # the same typesetting as tex-chtml.js, and the MathML a screen reader reads
            equations = visit.page.locator("mjx-container").count()
            assert equations >= visit.page.locator(".math").count() > 10
            assert visit.page.locator("mjx-container mjx-assistive-mml").count() == equations
            assert visit.page.locator("mjx-merror").count() == 0
        finally:
            visit.close()


def test_the_search_page_keeps_its_index(site):
    text = (site / "search.html").read_text()
    assert "searchindex.js" in text and "searchtools.js" in text
    chapter = (site / "book" / "04_gradient_flow.html").read_text()
    assert "searchindex.js" not in chapter and "fontawesome.js" not in chapter


def test_the_icon_font_holds_every_glyph_the_pages_show(browser, server, site):
    """The trimmed font (a few kB, not 156) still draws every icon and admonition mark."""
    from fontTools.ttLib import TTFont

    font_path = site / "_static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2"
    assert font_path.stat().st_size < 20_000, "the icon font was not trimmed"
    cmap = set(TTFont(io.BytesIO(font_path.read_bytes())).getBestCmap())
    for name in PAGES:
        visit = Visit(browser, server, name)
        try:
            glyphs = visit.page.evaluate(SHOWN_GLYPHS)
        finally:
            visit.close()
        assert len(glyphs) >= 5, name
        for owner, content in glyphs:
            character = content.strip('"')
            assert len(character) == 1, (name, owner, content)
            code = ord(character)
            assert code in cmap, f"{name}: {owner} shows U+{code:04X}, not in the font"


def test_figures_are_webp_with_the_pngs_pixels(site):
    from PIL import Image

    pages = list((site / "book").glob("*.html"))
    sources = {m for page in pages
               for m in re.findall(r'<img[^>]*\bsrc="[^"]*_images/([^"/]+)"', page.read_text())}
    figures = {s for s in sources if not s.endswith(".svg")}
    assert len(figures) >= 20
    assert {s.rsplit(".", 1)[1] for s in figures} == {"webp"}
    for name in figures:
        webp, png = site / "_images" / name, (site / "_images" / name).with_suffix(".png")
        with Image.open(webp) as ours, Image.open(png) as original:
            assert ours.size == original.size
            assert ours.convert("RGBA").tobytes() == original.convert("RGBA").tobytes(), name
