"""The ``exercise-notebook`` directive: a chapter's link to its exercise notebook.

    ```{exercise-notebook} 01_rnn_limits
    ```

renders a box with two download links: the whole student release as one zip (the
notebooks, lstm_ref's wheel, requirements.txt and a README; built once per site build by
``autograder.student_release.build`` into the site's _downloads), which works on any
Jupyter, and notebooks/01_rnn_limits/01_rnn_limits.ipynb alone, for a Jupyter that
already has lstm_ref (its install cell looks for the wheel beside it, in ../wheels/).
When ``exercise_launch.release`` in
_config.yml names where the student release is published
(``https://github.com/ORG/REPO/tree/BRANCH``, built by ``python -m autograder
student-release``), the box also links to the notebook in that release on Binder, on a
JupyterHub (through nbgitpuller; when ``jupyterhub_url`` is set) and on Colab. When it is
empty, the download link is all: no link to a release that does not exist. Only the
student release is ever linked, never solutions/.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from autograder.student_release import Release, build

ZIP = "lstm-course-exercises"  # the student release zipped: _downloads/lstm-course-exercises.zip

DEFAULTS = {
    "release": "",  # where the student release is published: https://github.com/ORG/REPO/tree/BRANCH
    "binderhub_url": "https://mybinder.org",
    "jupyterhub_url": "",  # an instructor's hub, e.g. https://hub.example.edu
    "colab_url": "https://colab.research.google.com",
}


def launch_links(config: dict, notebook: str) -> list[tuple[str, str]]:
    """(label, url) for each service that is configured; ``notebook`` is the notebook's
    path in the release, e.g. ``01_rnn_limits/01_rnn_limits.ipynb``. No release: none."""
    config = {**DEFAULTS, **config}
    release = Release.parse(config["release"])
    if release is None:
        return []
    slug, branch = f"{release.owner}/{release.repo}", release.branch
    links = []
    if config["binderhub_url"]:
        url = release.binder(config["binderhub_url"])
        links.append(("Binder", f"{url}?urlpath={quote('lab/tree/' + notebook, safe='')}"))
    if config["jupyterhub_url"]:  # nbgitpuller clones the release into ~/<repo>
        query = (f"repo={quote(release.repository, safe='')}&branch={quote(branch, safe='')}"
                 f"&urlpath={quote(f'lab/tree/{release.repo}/{notebook}', safe='')}")  # fmt: skip
        links.append(("JupyterHub", f"{config['jupyterhub_url'].rstrip('/')}"
                                    f"/hub/user-redirect/git-pull?{query}"))  # fmt: skip
    if config["colab_url"]:
        links.append(("Colab", f"{config['colab_url'].rstrip('/')}/github/{slug}/blob/"
                               f"{branch}/{notebook}"))  # fmt: skip
    return links


class ExerciseNotebook(SphinxDirective):
    required_arguments = 1  # the assignment, e.g. 01_rnn_limits

    def run(self):
        assignment = self.arguments[0]
        notebook = f"notebooks/{assignment}/{assignment}.ipynb"
        root = Path(self.env.srcdir)
        if not (root / notebook).is_file():
            raise self.error(f"exercise notebook {notebook} not found: run the release first")
        here = Path(self.env.doc2path(self.env.docname)).parent
        relative = Path("../" * len(here.relative_to(root).parts)) / notebook
        try:  # the release holds notebooks/'s folders at its root
            launch = launch_links(self.config.exercise_launch or {},
                                  notebook.removeprefix("notebooks/"))  # fmt: skip
        except ValueError as error:  # a release that is not a GitHub URL
            raise self.error(f"exercise_launch in _config.yml: {error}") from None
        links = " · ".join(f"[{label}]({url})" for label, url in launch)
        up = "../" * len(here.relative_to(root).parts)  # from this page to the site's root
        zipped = nodes.reference("", "all the exercises with the course's package (zip)",
                                 refuri=f"{up}_downloads/{ZIP}.zip")  # fmt: skip
        first = nodes.paragraph()
        first += [nodes.Text("Work this chapter's exercises in Jupyter: download "), zipped,
                  nodes.Text(", unpack it and open "),
                  nodes.literal(text=f"{assignment}/{assignment}.ipynb"),
                  nodes.Text(".")]  # fmt: skip
        text = (
            (f"Or open this notebook on {links}. " if links else "")
            + f"The notebook alone, {{download}}`{assignment}.ipynb <{relative.as_posix()}>`, "
            "needs a Jupyter where `lstm_ref` is installed.\n"
            "Each test cell checks your code against the course's reference and names the "
            "likely mistake when it does not match."
        )
        box = nodes.admonition(classes=["exercise-notebook", "tip"])
        box += nodes.title(text="Exercises")
        box += first
        lines = StringList(text.splitlines(), source=self.env.docname)
        self.state.nested_parse(lines, self.content_offset, box)  # MyST: roles and links
        return [box]


def _build_release_zip(app) -> None:
    """The student release, zipped into the site's _downloads (the links above)."""
    if app.builder.format != "html":
        return
    import tempfile

    config = {**DEFAULTS, **(app.config.exercise_launch or {})}
    downloads = Path(app.outdir) / "_downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build(Path(tmp) / ZIP, Release.parse(config["release"]), zip_too=True)
        Path(f"{folder}.zip").replace(downloads / f"{ZIP}.zip")


def setup(app):
    app.connect("builder-inited", _build_release_zip)
    app.add_config_value("exercise_launch", {}, "env")  # read by the directive: re-read pages
    app.add_directive("exercise-notebook", ExerciseNotebook)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
