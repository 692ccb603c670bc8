"""What the instructor's autograded notebook and the student's feedback show.

* :func:`record_verdicts` writes the grader's verdicts into the private gradebook (so
  nbgrader's feedback and the Formgrader show them) and into each test cell's output in
  the autograded notebook, replacing whatever the student's kernel printed there.
* :func:`for_students` makes the autograded notebooks fit for a student while nbgrader
  renders the feedback: no hidden tests in the test cells, no paths of the grading
  machine in any traceback, and each interactive widget replaced by a note (the page has
  no kernel to drive it; left in, it renders blank with a script error). The instructor's
  copies are put back afterwards, and the feedback HTML is made to work off-line
  (:func:`offline`): nbgrader's template loads MathJax 2 from a CDN, so off-line the math
  stays raw LaTeX. Each page gets MathJax 3 inlined instead (the copy the course's site
  serves, from sphinx-mathjax-offline; its SVG output needs no font files), so a single
  HTML file, as nbgrader's release_feedback or an LMS hands it to a student, is complete.
  Plots are in the page already, as data: URIs (the graded kernel's inline backend).
"""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import nbformat

from lstm_ref.grading.core import GradingError

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                    re.DOTALL | re.MULTILINE)  # fmt: skip
PATH = re.compile(r"(?:/[\w.+@-]+)+/([\w.+@-]+)")  # an absolute path: keep its last part
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "An interactive widget was here; open the notebook in Jupyter to use it."
MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)
MATHJAX_CONFIG = """<script>
window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
                        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
                        processEscapes: true, processEnvironments: true, tags: "ams"},
                  svg: {fontCache: "global"}};
</script>"""


def points(source: bytes) -> dict[str, float]:
    """grade_id -> points of every graded cell of a source notebook."""
    notebook = nbformat.reads(source.decode(), as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"]["points"])
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade")}  # fmt: skip


def record_verdicts(root: Path, assignment: str, student: str, verdicts: dict) -> None:
    """Store the verdicts (notebook file name -> grade_id -> CellVerdict) in the private
    gradebook and in the autograded notebooks' test-cell outputs."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's models
        for name, cells in verdicts.items():
            for grade_id, verdict in cells.items():
                grade = gb.find_grade(grade_id, Path(name).stem, assignment, student)
                grade.auto_score = float(grade.max_score) if verdict.passed else 0.0
        gb.db.commit()
    for name, cells in verdicts.items():
        path = root / "autograded" / student / assignment / name
        if not path.exists():
            continue
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            verdict = cells.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if verdict is not None and cell.cell_type == "code":
                cell.outputs = [_output(verdict)]
        nbformat.write(notebook, path)


def _output(verdict) -> nbformat.NotebookNode:
    if verdict.passed:
        return nbformat.v4.new_output("stream", name="stdout", text=verdict.message + "\n")
    error = GradingError(verdict.message)
    return nbformat.v4.new_output("error", ename="GradingError", evalue=verdict.message,
                                  traceback=error._render_traceback_())  # fmt: skip


def student_view(notebook: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    """The notebook without hidden tests and without the grading machine's paths."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = HIDDEN.sub("", cell.source).rstrip()
        for index, output in enumerate(cell.get("outputs", [])):
            if WIDGET in output.get("data", {}):
                cell.outputs[index] = _widget_note()
            elif output.output_type == "error":
                output.traceback = [_no_paths(line, root) for line in output.traceback]
                output.evalue = _no_paths(output.evalue, root)
            elif output.output_type == "stream":
                output.text = _no_paths(output.text, root)
            elif "text/plain" in output.get("data", {}):
                output.data["text/plain"] = _no_paths(output.data["text/plain"], root)
    notebook.metadata.pop("widgets", None)  # saved widget state: nothing left to show it
    return notebook


def _widget_note() -> nbformat.NotebookNode:
    html = f'<p class="autograder-widget-note"><em>{WIDGET_NOTE}</em></p>'
    return nbformat.v4.new_output("display_data", data={"text/html": html,
                                                        "text/plain": WIDGET_NOTE})


@functools.lru_cache(maxsize=1)
def mathjax_script() -> str:
    """MathJax 3 (TeX input, SVG output, every TeX extension) as one inline <script>."""
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    folders = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    for folder in folders:
        path = folder / "static" / "mathjax" / "tex-svg-full.js"
        if path.is_file():
            code = path.read_text(encoding="utf-8").replace("</script", "<\\/script")
            return f"{MATHJAX_CONFIG}\n<script>{code}</script>"
    raise FileNotFoundError("MathJax for off-line feedback comes from the package "
                            "sphinx-mathjax-offline (requirements.txt); it is not installed")


def offline(html: str) -> str:
    """nbgrader's feedback page with MathJax inlined in place of its CDN script."""
    if MATHJAX_CONFIG in html:  # done already
        return html
    html, found = MATHJAX.subn(lambda _: mathjax_script(), html, count=1)
    if not found:  # another template: drop any CDN MathJax and add ours before </head>
        html = re.sub(r"<script[^>]*src=\"https?://[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>",
                      "", html)
        html = html.replace("</head>", mathjax_script() + "\n</head>", 1)
    return html


def _no_paths(text: str, root: Path) -> str:
    return PATH.sub(r"\1", text.replace(str(root) + "/", ""))


@contextlib.contextmanager
def for_students(paths: Iterable[Path], root: Path):
    """Inside the block the notebooks are the students' view; afterwards, as they were,
    and the feedback pages made in the block (root/feedback/...) work off-line."""
    saved = {path: path.read_bytes() for path in paths}
    try:
        for path in saved:
            notebook = nbformat.read(path, as_version=4)
            nbformat.write(student_view(notebook, root), path)
        yield
        for path in saved:
            page = _feedback_page(path, root)
            if page is not None and page.is_file():
                page.write_text(offline(page.read_text(encoding="utf-8")), encoding="utf-8")
    finally:
        for path, content in saved.items():
            path.write_bytes(content)


def _feedback_page(notebook: Path, root: Path) -> Path | None:
    """root/autograded/<student>/<assignment>/x.ipynb -> root/feedback/.../x.html"""
    try:
        relative = notebook.relative_to(root / "autograded")
    except ValueError:
        return None
    return root / "feedback" / relative.with_suffix(".html")


class _CompiledTemplates:
    """jinja2's bytecode cache, in memory: a worker compiles nbconvert's feedback templates
    once, not for every submission (about 0.1 s each). jinja2 checks each template's source
    checksum against the cached code, so a changed template is compiled again."""

    def __init__(self):
        import jinja2

        class Cache(jinja2.BytecodeCache):
            def __init__(self):
                self.code: dict[str, bytes] = {}

            def load_bytecode(self, bucket):
                if bucket.key in self.code:
                    bucket.bytecode_from_string(self.code[bucket.key])

            def dump_bytecode(self, bucket):
                self.code[bucket.key] = bucket.bytecode_to_string()

        self.cache = Cache()

    def __call__(self, create):
        @functools.wraps(create)
        def create_environment(exporter):
            environment = create(exporter)
            environment.bytecode_cache = self.cache
            return environment

        create_environment.compiled_templates = self
        return create_environment


def fast_templates() -> None:
    """Have nbconvert's exporters in this process reuse compiled templates (idempotent)."""
    from nbconvert.exporters.templateexporter import TemplateExporter

    if not hasattr(TemplateExporter._create_environment, "compiled_templates"):
        TemplateExporter._create_environment = _CompiledTemplates()(
            TemplateExporter._create_environment)  # fmt: skip
