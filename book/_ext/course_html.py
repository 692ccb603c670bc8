"""Small fixes to the HTML that Jupyter Book 1's theme stack emits, so pages load with a
clean browser console (tests/test_site.py checks every page) and pass axe-core's serious
and critical rules (tests/test_accessibility.py).

* sphinx-thebe and sphinx-togglebutton register inline scripts that Sphinx 7 emits twice;
  the second ``const THEBE_JS_URL`` is a SyntaxError. Keep the first copy of each.
* pydata-sphinx-theme logs "Got invalid theme mode" on a first visit (empty localStorage).
  Start every new reader in light mode: the figures are drawn on white.
* myst-nb names each "Show code cell source" toggle "Toggle hidden content" (aria-label),
  a name that does not contain its visible text (axe: label-content-name-mismatch, WCAG
  2.5.3). Drop the aria-label: the visible text names it.
* The theme's colour-mode button is named "Color mode" but holds icons titled "Light",
  "Dark", "System Settings" (same rule). The icons are decorative: hide them from
  assistive technology; the button keeps its name and its tooltip.
* The theme's search field button is named "Search" but shows "Search Ctrl+K" (same
  rule): its visible "Search" names it, the shortcut moves to aria-keyshortcuts.
* sphinxcontrib-bibtex's reference list is ``role="list"`` around entries with the
  DPUB role ``doc-biblioentry``, which axe does not accept as list items
  (aria-required-children, critical): the entries become ``role="listitem"``.
* ``course.css``: long inline code breaks anywhere, so no page is wider than a phone.
* Sphinx's search summarises each hit with text from the page's ``[role=main]``, which in
  this theme starts with the page's contents list (raw TeX in its headings), so a hit
  showed that list instead of the passage that matched. ``SEARCH_SUMMARY`` strips the
  theme's navigation from a fetched page before Sphinx takes its text.
* pydata-sphinx-theme 0.17 and sphinx-book-theme 1.3 bind their sidebar toggles to the
  page's first ``.primary-toggle`` (``.secondary-toggle``), a navbar button this layout
  hides, so the visible ☰ did nothing and the contents could not be opened on a phone
  (pydata-sphinx-theme #2451). ``SIDEBAR_TOGGLES`` passes its clicks on to the first.
* A display equation wider than a phone's column scrolls inside its own box, which a
  keyboard reader can scroll only if it takes focus (axe: scrollable-region-focusable,
  serious). ``SCROLLABLE_MATH`` gives each one that overflows ``tabindex="0"``, checked
  again when the window is resized.
* Jupyter Book's root ``index.html`` is a bare redirect: no language, no title, nothing
  for a reader whose browser does not follow it. ``_write_index`` makes it a small page
  that redirects and links the first page.

What a page need not download at all is removed by book/_ext/lighter.py.
"""

import html
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "_static"  # book/_static

TOGGLE_SUMMARY = '<summary aria-label="Toggle hidden content">'

THEME_MODE = (
    'if (!localStorage.getItem("mode")) { localStorage.setItem("mode", "light"); }'
    ' document.documentElement.dataset.mode = localStorage.getItem("mode");'
)

ACCESSIBLE_NAMES = """
(function () {
  function fix() {
    for (const icon of document.querySelectorAll(".theme-switch-button .theme-switch")) {
      icon.removeAttribute("title");
      icon.removeAttribute("aria-labelledby");
      icon.setAttribute("aria-hidden", "true");
      const title = icon.querySelector("title");
      if (title) title.remove();
    }
    for (const button of document.querySelectorAll(".search-button-field[aria-label]")) {
      const shortcut = button.querySelector(".search-button__kbd-shortcut");
      if (!button.textContent.includes(button.getAttribute("aria-label"))) continue;
      if (shortcut) {
        shortcut.setAttribute("aria-hidden", "true");
        button.setAttribute("aria-keyshortcuts", "Control+K");
      }
      button.removeAttribute("aria-label"); // named by its visible text, "Search"
    }
    const toggles = 'summary[aria-label="Toggle hidden content"]';
    for (const summary of document.querySelectorAll(toggles)) {
      if (summary.textContent.trim()) summary.removeAttribute("aria-label");
    }
  }
  document.addEventListener("DOMContentLoaded", fix);
  window.addEventListener("load", fix);
})();
"""


SEARCH_SUMMARY = """
(function () {
  const NAVIGATION = ".bd-header-article, .bd-sidebar-secondary, .bd-sidebar-primary, "
    + ".bd-toc, .prev-next-footer, .header-article-items, .onlyprint";  // print-only contents
  function patch() {
    // searchtools.js declares Search with const: a global binding, not a window property
    if (typeof Search === "undefined" || !Search.htmlToText || Search.courseSummary) return;
    const original = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const page = new DOMParser().parseFromString(htmlString, "text/html");
      page.querySelectorAll(NAVIGATION).forEach((element) => element.remove());
      return original(page.documentElement.outerHTML, anchor);
    };
    Search.courseSummary = true;
  }
  document.addEventListener("DOMContentLoaded", patch);
})();
"""


SIDEBAR_TOGGLES = """
document.addEventListener("click", (event) => {
  for (const kind of [".primary-toggle", ".secondary-toggle"]) {
    const button = event.target.closest(kind);
    const first = document.querySelector(kind);  // the one the themes listen to
    if (button && first && button !== first) {
      event.preventDefault();
      event.stopPropagation();
      first.click();
    }
  }
});
"""


SCROLLABLE_MATH = """
(function () {
  function mark() {
    for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
      if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    }
  }
  window.addEventListener("load", () => {
    const startup = window.MathJax && MathJax.startup && MathJax.startup.promise;
    (startup || Promise.resolve()).then(mark);
  });
  window.addEventListener("resize", mark);
})();
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = sorted(getattr(script, "attributes", {}).items())
        filename = getattr(script, "filename", script) or ""  # inline: None or ""
        key = (filename, repr(attributes))  # the copies differ in priority only
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _name_toggles_by_their_text(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = context["body"].replace(TOGGLE_SUMMARY, "<summary>")


def _list_the_references(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if 'class="citation-list"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta http-equiv="Refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
</head>
<body>
<main>
<h1>{title}</h1>
<p><a href="{target}">Start reading</a>.</p>
</main>
</body>
</html>
"""


def _write_index(app, exception):
    """The root index.html: a redirect to the first page that is a page of its own."""
    index = Path(app.outdir) / "index.html"
    if exception is not None or app.builder.format != "html" or not index.is_file():
        return
    target = re.search(r'url=([^"\s]+)', index.read_text(encoding="utf-8"))
    if target and len(index.read_text(encoding="utf-8")) < 200:  # Jupyter Book's redirect
        title = html.escape(app.config.html_title or app.config.project)
        index.write_text(INDEX.format(title=title, target=html.escape(target[1])),
                         encoding="utf-8")  # fmt: skip


def _add_static_path(app, config):
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_js_file(None, body=THEME_MODE, priority=1)  # before the theme's own scripts
    app.add_js_file(None, body=ACCESSIBLE_NAMES, priority=1)
    app.add_js_file(None, body=SEARCH_SUMMARY)
    app.add_js_file(None, body=SIDEBAR_TOGGLES)
    app.add_js_file(None, body=SCROLLABLE_MATH)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("html-page-context", _name_toggles_by_their_text)
    app.connect("html-page-context", _list_the_references)
    app.connect("config-inited", _add_static_path)
    app.connect("build-finished", _write_index, priority=900)  # after sphinx-external-toc writes it
    app.add_css_file("course.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
