"""The feedback page a student gets is complete off-line: graded for real, then opened in
headless Chromium with every request that leaves the file refused."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder import grading
from autograder.course import REPO
from autograder.feedback import WIDGET_NOTE
from tests.support.klass import fill, write_submission

PLOT, WIDGETS = "01_rnn_limits", "02_lstm_cell"  # a plot cell; two explorer widgets
STUDENT = "fake_student_42"
# a student cell that fails deep inside numpy: its traceback runs through site-packages
FAILS = "\nnp.linalg.inv(np.zeros((2, 2)))"
ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:tmp|work|root|home|usr|opt|var)/")
RAW_MATH = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll("pre, code, script, style, mjx-container").forEach(e => e.remove());
    return body.innerText.match(/\\$[^$\\n]+\\$|\\\\(frac|sigma|odot|tanh)\\b/g) || [];
}"""
pytestmark = pytest.mark.grading


def solution(assignment: str) -> dict[str, str]:
    path = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    return {cell.metadata.nbgrader.grade_id: cell.source
            for cell in nbformat.read(path, as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("solution")}  # fmt: skip


@pytest.fixture(scope="module")
def feedback(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("offline")
    answers = {PLOT: solution(PLOT), WIDGETS: solution(WIDGETS)}
    answers[PLOT]["rnn_step"] += FAILS
    pages = {}
    for assignment, filled in answers.items():
        write_submission(root / assignment, STUDENT, assignment, fill(assignment, filled))
        results = grading.grade(assignment, root / assignment, root / "ws", workers=1,
                                progress=False)  # fmt: skip
        assert [r.status for r in results] == ["graded"], results[0].reason
        pages[assignment] = root / "ws" / "feedback" / STUDENT / assignment / f"{assignment}.html"
    return {"pages": pages, "root": root}


class OfflinePage:
    """The page opened from disk; anything not file: or data: is refused and noted."""

    def __init__(self, browser, path):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.errors, self.refused = [], []
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.context.route("**/*", self._route)
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_function("() => window.MathJax && MathJax.startup"
                                    " && MathJax.startup.promise", timeout=30_000)  # fmt: skip
        self.page.evaluate("() => MathJax.startup.promise")  # typesetting done

    def _route(self, route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()


@pytest.mark.parametrize("assignment", [PLOT, WIDGETS])
def test_feedback_is_complete_offline(feedback, browser, assignment):
    view = OfflinePage(browser, feedback["pages"][assignment])
    try:
        page = view.page
        assert page.locator("mjx-container svg").count() > 0  # typeset by the inlined MathJax
        assert page.evaluate(RAW_MATH) == []  # no LaTeX left as text outside code
        plots = page.locator("img[src^='data:image/png']")
        assert plots.count() >= 1
        assert plots.first.evaluate("img => img.complete && img.naturalWidth > 100")
        assert view.errors == [] and view.refused == []
    finally:
        view.context.close()


def test_widgets_leave_a_note_not_a_blank(feedback, browser):
    html = feedback["pages"][WIDGETS].read_text()
    assert "widget-view+json" not in html and "var element = $(" not in html
    view = OfflinePage(browser, feedback["pages"][WIDGETS])
    try:
        assert view.page.get_by_text(WIDGET_NOTE).count() == 2  # gates and dataflow
    finally:
        view.context.close()


def test_no_path_of_the_grading_machine(feedback):
    html = feedback["pages"][PLOT].read_text()
    assert "LinAlgError" in html  # the student's own error is shown ...
    for machine in (str(REPO), "site-packages", f"grade-{STUDENT}-", str(feedback["root"])):
        assert machine not in html  # ... without where it ran
    shown = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.DOTALL)
    assert not ABSOLUTE.findall(shown), ABSOLUTE.findall(shown)[:5]
    assert not re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=\"(?:https?:)?//", html)
