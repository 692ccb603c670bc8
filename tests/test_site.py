"""The built website, opened in headless Chromium as a reader would.

The site is built first if needed (``jupyter-book build``; unchanged pages come from the
execution cache), served on 127.0.0.1, and every page in _toc.yml is checked: no console
errors, no request leaving the site, every image loaded, math typeset, navigation and
search working. Solutions and hidden tests must appear nowhere in the build.

Needs Chromium (Debian: ``apt-get install chromium``). Without it the browser checks are
skipped with that reason, except under CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support.leaks import MARKERS, expand, leaks, secrets
from tests.support.site import ROOT, Visit, toc_pages

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


def test_icons_come_from_the_theme_css_not_the_fontawesome_script(browser, server, site):
    """FontAwesome's 1.5 MB script is gone from every page (book/_ext/course_html.py), and
    every icon still shows: its glyph comes from the theme's CSS and web font."""
    assert [p.name for p in site.rglob("*.html") if "fontawesome.js" in p.read_text()] == []
    visit = Visit(browser, server, "book/04_gradient_flow.html")
    try:
        icons = visit.page.evaluate(
            """() => [...document.querySelectorAll('i[class*="fa-"]')].map(i => {
                 const before = getComputedStyle(i, '::before');
                 return [i.className, before.fontFamily, before.content]; })"""
        )
        assert len(icons) >= 5
        assert all("Font Awesome" in family and content not in ("none", '""')
                   for _, family, content in icons), icons  # fmt: skip
        assert visit.page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
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


def searched(browser, server, query: str) -> Visit:
    """The site's search page for ``query`` (words joined by +), once Sphinx has finished."""
    visit = Visit(browser, server, f"search.html?q={query}")
    visit.page.wait_for_function(
        "document.querySelector('#search-results') &&"
        " document.querySelector('#search-results').innerText.includes('Search finished')",
        timeout=30_000,
    )
    return visit


def test_search_finds_a_page(browser, server):
    visit = searched(browser, server, "reference")
    try:
        found = visit.page.eval_on_selector_all("#search-results a", "a => a.map(x => x.href)")
        assert any("book/intro.html" in href for href in found)
        assert visit.errors == []
    finally:
        visit.close()


def test_search_results_show_the_matching_passage(browser, server):
    """Each hit's summary is a passage with the query in it, not the page's contents list
    (course_html.SEARCH_SUMMARY strips the theme's navigation before Sphinx takes text)."""
    visit = searched(browser, server, "forget+gate")
    try:
        summaries = visit.page.eval_on_selector_all(
            "#search-results li p.context", "ps => ps.map(p => p.innerText)"
        )
        assert len(summaries) >= 4
        assert not [t for t in summaries if "Contents" in t[:40]], summaries
        assert sum("forget" in t.lower() or "gate" in t.lower() for t in summaries) >= 4
        assert visit.errors == []
    finally:
        visit.close()


def test_the_sites_zip_is_the_student_release_and_leaks_nothing(site):
    """The zip that every exercise box links: the notebooks, lstm_ref's wheel and
    requirements, and not one solution marker or solution's code, archives opened."""
    path = site / "_downloads" / f"{ZIP}.zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    for assignment in sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir()):
        assert f"{ZIP}/{assignment}/{assignment}.ipynb" in names
    assert any(n.startswith(f"{ZIP}/wheels/lstm_ref-") for n in names)
    assert f"{ZIP}/requirements.txt" in names
    assert not [n for n in names if "solutions" in n or "autograder" in n]
    assert leaks(expand(path.name, path.read_bytes()), secrets()) == []


def test_no_solution_or_hidden_test_anywhere_in_the_site(site):
    """Pages, _sources/ and downloads: not one solution region or hidden test."""
    leaks = [
        str(path.relative_to(site))
        for path in site.rglob("*")
        if path.is_file()
        and path.suffix in {".html", ".txt", ".md", ".ipynb", ".py", ".js", ".json"}
        and MARKERS.search(path.read_text(errors="ignore"))
    ]
    assert leaks == []
    assert not (site / "solutions").exists() and not (site / "_sources" / "solutions").exists()


# ------------------------------------------------------------- exercise launch links

RELEASE = "https://github.com/lstm-course/lstm-exercises/tree/student-release"
ZIP = "lstm-course-exercises"  # book/_ext/exercises.py: the student release, zipped
BOX = re.compile(r'<div class="exercise-notebook[^"]*">(.*?)</div>', re.S)


def exercises_extension():
    """book/_ext/exercises.py, the directive's own module."""
    spec = importlib.util.spec_from_file_location("exercises", ROOT / "book/_ext/exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exercise_boxes(page: str) -> list[tuple[str, list[str]]]:
    """(the notebook's download link, the other links) of each exercise box of a built
    page; every box also links the zipped student release, checked here."""
    boxes = []
    for box in BOX.findall(page):
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', box)]
        downloads = [h for h in hrefs if "_downloads/" in h]
        zipped = [h for h in downloads if h.endswith(f"/{ZIP}.zip")]
        notebooks = [h for h in downloads if h.endswith(".ipynb")]
        assert len(zipped) == 1 and len(notebooks) == 1 and len(downloads) == 2, hrefs
        boxes.append((notebooks[0], [h for h in hrefs if h not in downloads]))
    return boxes


def test_no_release_no_launch_links():
    launch_links = exercises_extension().launch_links
    assert launch_links({}, "01_rnn_limits/01_rnn_limits.ipynb") == []
    hub = {"release": "", "jupyterhub_url": "https://hub.example.edu"}
    assert launch_links(hub, "01_rnn_limits/01_rnn_limits.ipynb") == []


def test_launch_links_open_the_notebook_in_the_release():
    launch_links = exercises_extension().launch_links
    config = {"release": RELEASE, "jupyterhub_url": "https://hub.example.edu/"}
    links = dict(launch_links(config, "01_rnn_limits/01_rnn_limits.ipynb"))
    assert links == {
        "Binder": "https://mybinder.org/v2/gh/lstm-course/lstm-exercises/student-release"
                  "?urlpath=lab%2Ftree%2F01_rnn_limits%2F01_rnn_limits.ipynb",
        "JupyterHub": "https://hub.example.edu/hub/user-redirect/git-pull"
                      "?repo=https%3A%2F%2Fgithub.com%2Flstm-course%2Flstm-exercises"
                      "&branch=student-release&urlpath=lab%2Ftree%2Flstm-exercises%2F"
                      "01_rnn_limits%2F01_rnn_limits.ipynb",
        "Colab": "https://colab.research.google.com/github/lstm-course/lstm-exercises/blob/"
                 "student-release/01_rnn_limits/01_rnn_limits.ipynb",
    }  # fmt: skip


@pytest.mark.parametrize("release", ["", RELEASE])
def test_directive_links_the_release_only_when_one_is_set(tmp_path, release):
    """The directive in a one-page Sphinx project: a download link, and launch links to
    the notebook in the release exactly when exercise_launch.release is set."""
    notebook = ROOT / "notebooks" / "01_rnn_limits" / "01_rnn_limits.ipynb"
    (tmp_path / "notebooks" / "01_rnn_limits").mkdir(parents=True)
    (tmp_path / "notebooks" / "01_rnn_limits" / notebook.name).write_bytes(notebook.read_bytes())
    (tmp_path / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})
        extensions = ["myst_parser", "exercises"]
        exercise_launch = {{"release": {release!r}}}
    """))
    (tmp_path / "index.md").write_text("# Chapter\n\n```{exercise-notebook} 01_rnn_limits\n```\n")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q",
                             str(tmp_path), str(tmp_path / "html")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    ((download, links),) = exercise_boxes((tmp_path / "html" / "index.html").read_text())
    assert download.endswith("/01_rnn_limits.ipynb")
    launch = exercises_extension().launch_links({"release": release},
                                                 "01_rnn_limits/01_rnn_limits.ipynb")
    assert links == [url for _, url in launch]
    assert bool(links) == bool(release)
    assert all(url.split("?")[0].count("lstm-exercises") for url in links)


def test_site_links_the_release_named_in_config_and_nothing_else(site):
    """Every chapter's exercise box in the built site: its download, and launch links to
    the release that _config.yml names (none while exercise_launch.release is empty)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    launch = config["sphinx"]["config"]["exercise_launch"]
    launch_links = exercises_extension().launch_links
    boxes = 0
    for page in sorted(site.glob("book/*.html")):
        for download, links in exercise_boxes(page.read_text()):
            boxes += 1
            assignment = Path(download).stem
            expected = launch_links(launch, f"{assignment}/{assignment}.ipynb")
            assert links == [url for _, url in expected], page.name
            if not launch.get("release"):
                assert links == [], page.name
    assert boxes >= len(list((ROOT / "notebooks").glob("*/*.ipynb")))


def test_every_chapter_links_the_glossary(site):
    """Every chapter links its terms to the glossary (book/glossary.md), and every link
    lands on an entry of it."""
    glossary = (site / "book" / "glossary.html").read_text()
    terms = set(re.findall(r'<dt id="(term-[^"]+)"', glossary))
    assert len(terms) >= 30
    linked = set()
    for page in sorted(site.glob("book/0*.html")):
        found = set(re.findall(r'href="glossary\.html#(term-[^"]+)"', page.read_text()))
        assert len(found) >= 2, f"{page.name} links {len(found)} glossary terms"
        linked |= found
    for page in sorted(site.glob("book/*.html")):
        linked |= set(re.findall(r'href="glossary\.html#(term-[^"]+)"', page.read_text()))
    assert linked <= terms


def test_the_root_index_is_a_page_that_leads_to_the_first_chapter(site):
    """Not a bare redirect: a language, a title, and a link for browsers that do not
    follow the redirect (book/_ext/course_html.py)."""
    text = (site / "index.html").read_text()
    assert '<html lang="en">' in text
    assert re.search(r"<title>[^<]+</title>", text)
    assert 'http-equiv="Refresh" content="0; url=book/intro.html"' in text
    assert '<a href="book/intro.html">' in text


@pytest.mark.parametrize("page_name", [p for p in toc_pages() if p.startswith("book/0")])
def test_display_equations_fit_a_laptop_column(browser, server, page_name):
    """At 1280 px, every typeset display equation fits the text column: long ones are
    broken over lines, so none scrolls in its own box or is cut off in print."""
    visit = Visit(browser, server, page_name + ".html", viewport={"width": 1280, "height": 900})
    try:
        page = visit.page
        if page.locator(".math").count() == 0:
            return
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("MathJax.startup.promise")
        too_wide = page.evaluate(
            """() => [...document.querySelectorAll('mjx-container[display="true"]')]
                 .map(m => [m.firstElementChild.getBoundingClientRect().width,
                            m.parentElement.clientWidth, m.textContent.slice(0, 50)])
                 .filter(([width, column]) => width > column)"""
        )
        assert too_wide == []
    finally:
        visit.close()
