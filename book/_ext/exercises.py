"""The ``exercise-notebook`` directive: a chapter's link to its exercise notebook.

    ```{exercise-notebook} 01_rnn_limits
    ```

renders a box with a download link to notebooks/01_rnn_limits/01_rnn_limits.ipynb (the
student release, copied into the site's _downloads) and launch links for Binder,
a JupyterHub (through nbgitpuller) and Colab, built from ``exercise_launch`` in
_config.yml. Only the release in notebooks/ is ever linked, never solutions/.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

DEFAULTS = {
    "repository": "",  # e.g. https://github.com/ORG/REPO
    "branch": "main",
    "binderhub_url": "https://mybinder.org",
    "jupyterhub_url": "",  # an instructor's hub, e.g. https://hub.example.edu
    "colab_url": "https://colab.research.google.com",
}


def launch_links(config: dict, notebook: str) -> list[tuple[str, str]]:
    """(label, url) for each service that is configured; ``notebook`` is repo-relative."""
    repo, branch = config["repository"].rstrip("/"), config["branch"]
    if not repo.startswith("https://github.com/"):
        return []
    slug = repo.removeprefix("https://github.com/")
    links = []
    if config["binderhub_url"]:
        url = f"{config['binderhub_url'].rstrip('/')}/v2/gh/{slug}/{branch}"
        links.append(("Binder", f"{url}?urlpath={quote('lab/tree/' + notebook, safe='')}"))
    if config["jupyterhub_url"]:
        name = slug.split("/")[-1]
        query = (f"repo={quote(repo, safe='')}&branch={branch}"
                 f"&urlpath={quote(f'lab/tree/{name}/{notebook}', safe='')}")  # fmt: skip
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
        config = {**DEFAULTS, **(self.config.exercise_launch or {})}
        links = " · ".join(f"[{label}]({url})" for label, url in launch_links(config, notebook))
        text = (
            f"Work this chapter's exercises in Jupyter: {{download}}`{assignment}.ipynb "
            f"<{relative.as_posix()}>`" + (f" · open it on {links}" if links else "") + ".\n"
            "Each test cell checks your code against the course's reference and names the "
            "likely mistake when it does not match."
        )
        box = nodes.admonition(classes=["exercise-notebook", "tip"])
        box += nodes.title(text="Exercises")
        lines = StringList(text.splitlines(), source=self.env.docname)
        self.state.nested_parse(lines, self.content_offset, box)  # MyST: roles and links
        return [box]


def setup(app):
    app.add_config_value("exercise_launch", {}, "html")
    app.add_directive("exercise-notebook", ExerciseNotebook)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
