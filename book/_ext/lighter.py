"""Fewer bytes per page: no script a page does not run (issue 14, "Light").

``benchmarks/bench_page_weight.py`` weighs each page as a reader's browser loads it.

* **No FontAwesome script.** pydata-sphinx-theme loads FontAwesome's script (1.5 MB, over
  a third of a chapter page's bytes) "so that users can add custom icons"; its CSS
  already carries FontAwesome's web fonts and every icon's glyph, which is all the site's
  icons use. The script tag is removed from every page when the build finishes.
* **MathJax without its menu.** sphinx-mathjax-offline serves MathJax 3's combined
  ``tex-chtml.js`` (1.16 MB), of which the right-click menu (``ui/menu``) is 426 kB. The
  pages load MathJax's ``startup.js`` instead, with its loader asked for the TeX input,
  the CommonHTML output and the assistive MathML that screen readers read
  (``a11y/assistive-mml``), about 770 kB in all: the same typesetting, no menu.
  See https://docs.mathjax.org/en/v3.2-latest/web/components/combining.html.
* **No search index on reading pages.** pydata-sphinx-theme loads Sphinx's search
  scripts and the whole search index (about 100 kB) on every page for its search-as-you-
  type box, which is off in this book (``search_as_you_type``): the search field sends
  the reader to ``search.html``, which loads them itself. Other pages drop them when the
  build finishes.
* **No stylesheet or script for a component the page does not have.** Jupyter Book loads
  sphinx-design's CSS and tab script (62 kB) and sphinx-thebe's (6 kB) on every page;
  a page with no sphinx-design element (``sd-`` classes) and no Thebe launch button
  drops them.
* **Figures as lossless WebP.** The notebooks' matplotlib figures come out as PNG; the
  same pixels in lossless WebP take about 43% of the bytes (every browser the course
  supports shows WebP). Each figure is converted when the build finishes, checked pixel
  for pixel, and the pages point at it; a figure that would not be smaller stays PNG.
* **Only the icons the site shows.** FontAwesome's solid web font holds some 1,400 icons
  (156 kB); the site shows about twenty (the theme's buttons and admonition marks).
  fontTools keeps the glyphs of the icons named in the pages, the theme's scripts and its
  CSS's own icon variables, and the font is written back in their place; the theme's
  stylesheet keeps the class rules of those icons only (86 kB of 397 kB were icon rules).
"""

import io
import re
from pathlib import Path

MATHJAX_COMPONENTS = ["input/tex", "output/chtml", "a11y/assistive-mml"]

FONTAWESOME_JS = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>'
                            r"\s*</script>")  # fmt: skip
SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js'
    r'|searchindex\.js)"></script>'
)


def _mathjax_without_menu(app):
    if app.config.mathjax_path != "mathjax/tex-chtml.js":  # not sphinx-mathjax-offline's copy
        return
    app.config.mathjax_path = "mathjax/startup.js"
    config = dict(app.config.mathjax3_config or {})
    loader = dict(config.get("loader", {}))
    loader["load"] = [*loader.get("load", []), *MATHJAX_COMPONENTS]
    config["loader"] = loader
    app.config.mathjax3_config = config


def _search_as_you_type(app) -> bool:
    """The theme's option, as its templates saw it."""
    context = getattr(app.builder, "globalcontext", {})
    return str(context.get("theme_search_as_you_type", False)).lower() == "true"


# (a stylesheet or script, what in a page's body shows that the page uses it)
COMPONENTS = [
    (re.compile(r'\s*<link rel="stylesheet"[^>]*_static/sphinx-design\.min\.css[^>]*/>'
                r'|\s*<script[^>]*_static/design-tabs\.js[^>]*></script>'),
     re.compile(r'class="[^"]*\bsd-')),
    (re.compile(r'\s*<link rel="stylesheet"[^>]*_static/sphinx-thebe\.css[^>]*/>'
                r'|\s*<script[^>]*_static/sphinx-thebe\.js[^>]*></script>'),
     re.compile(r"thebe-launch-button")),
]  # fmt: skip


def _drop_unused_assets(app, exception):
    """Remove FontAwesome's script from every page, the search scripts from every page but
    the search page (when search-as-you-type is off), and each component's assets from
    the pages that do not use it."""
    if exception is not None or app.builder.format != "html":
        return
    outdir, search = Path(app.outdir), not _search_as_you_type(app)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = FONTAWESOME_JS.sub("", text)
        if search and page != outdir / "search.html":
            lighter = SEARCH_SCRIPTS.sub("", lighter)
        body = lighter.split("<body", 1)[-1]
        for assets, used in COMPONENTS:
            if not used.search(body):
                lighter = assets.sub("", lighter)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


IMAGE_SRC = re.compile(r'(<img[^>]*\bsrc="[^"]*_images/)([^"/]+)\.png"')


def _figures_as_webp(app, exception):
    """Write each page's PNG figures as lossless WebP and point the pages at them."""
    if exception is not None or app.builder.format != "html":
        return
    from PIL import Image

    images = Path(app.outdir) / "_images"
    converted = {path.stem for path in images.glob("*.webp")}  # by an earlier build
    for png in images.glob("*.png"):
        webp = png.with_suffix(".webp")
        with Image.open(png) as image:
            image.load()
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", lossless=True, quality=100, method=4)
            with Image.open(io.BytesIO(buffer.getvalue())) as back:
                same = back.convert("RGBA").tobytes() == image.convert("RGBA").tobytes()
        if same and buffer.tell() < png.stat().st_size:
            webp.write_bytes(buffer.getvalue())
            converted.add(png.stem)
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = IMAGE_SRC.sub(lambda m: m[0] if m[2] not in converted
                                else f'{m[1]}{m[2]}.webp"', text)  # fmt: skip
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


FA_FONT = "vendor/fontawesome/webfonts/fa-solid-900.woff2"  # in the theme's static folder
FA_CSS = "styles/pydata-sphinx-theme.css"
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,?)+)\{content:"([^"]*)"\}')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
CSS_GLYPH = re.compile(r'"\\([0-9a-f]{4,5})"')  # "\f0c9" in a CSS value; some are written
# as the private-use character itself ("--pst-icon-bell"), which icon_codepoints also reads


def _theme_static() -> Path:
    """pydata-sphinx-theme's own static folder: the untrimmed font and stylesheet."""
    import pydata_sphinx_theme

    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"


def _codepoint(content: str) -> int:
    """The character a CSS ``content`` string names: ``\f0c9``, ``\30 `` or ``K``."""
    if content.startswith("\\") and re.fullmatch(r"\\[0-9a-f]{1,6} ?", content):
        return int(content[1:].strip(), 16)
    return ord(content.lstrip("\\")[0])


def icon_classes(outdir: Path) -> set[str]:
    """FontAwesome class names (``fa-bars``) in the pages and the theme's scripts."""
    used = set()
    for source in [*outdir.rglob("*.html"), *(outdir / "_static" / "scripts").glob("*.js")]:
        used.update(ICON_CLASS.findall(source.read_text(encoding="utf-8", errors="replace")))
    return used


def icon_codepoints(outdir: Path, theme_css: str) -> set[int]:
    """The FontAwesome characters the site can show: icons named by class in the pages and
    the theme's scripts, and glyphs the CSS uses directly (admonition and button marks)."""
    by_class = {}
    for names, content in ICON_RULE.findall(theme_css):
        for name in re.findall(r"fa-[a-z0-9-]+", names):
            by_class[name] = _codepoint(content)
    codepoints = {by_class[name] for name in icon_classes(outdir) if name in by_class}
    sheets = [theme_css, *(p.read_text(encoding="utf-8", errors="replace")
                           for p in (outdir / "_static").rglob("*.css"))]  # fmt: skip
    for sheet in sheets:
        text = ICON_RULE.sub("", sheet)
        codepoints.update(int(code, 16) for code in CSS_GLYPH.findall(text))
        codepoints.update(ord(c) for c in text if 0xE000 <= ord(c) <= 0xF8FF)  # "" as is
    return codepoints


def _subset_icon_font(app, exception):
    """Write the built site's icon font and theme stylesheet from the theme's originals,
    with only the icons the site shows (every build: a page may have gained an icon)."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset
    from fontTools.ttLib import TTFont

    theme, static = _theme_static(), Path(app.outdir) / "_static"
    if not all(p.is_file() for p in (theme / FA_FONT, theme / FA_CSS, static / FA_FONT,
                                      static / FA_CSS)):  # fmt: skip
        return  # another theme version: its files as they are
    css = (theme / FA_CSS).read_text(encoding="utf-8")
    used = icon_classes(Path(app.outdir))
    trimmed = ICON_RULE.sub(lambda m: m[0] if used & set(re.findall(r"fa-[a-z0-9-]+", m[1]))
                            else "", css)  # fmt: skip
    font = TTFont(theme / FA_FONT)
    keep = icon_codepoints(Path(app.outdir), css) & set(font.getBestCmap())
    subsetter = subset.Subsetter(subset.Options(flavor="woff2", layout_features=["*"],
                                                notdef_outline=True))  # fmt: skip
    subsetter.populate(unicodes=keep)
    subsetter.subset(font)
    font.flavor = "woff2"
    font.save(static / FA_FONT)
    (static / FA_CSS).write_text(trimmed, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", _mathjax_without_menu)
    app.connect("build-finished", _drop_unused_assets)
    app.connect("build-finished", _figures_as_webp)
    app.connect("build-finished", _subset_icon_font)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
