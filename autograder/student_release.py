"""``python -m autograder student-release --out DIR``: everything students get, one folder.

    DIR/
      README.md                       how to open the notebooks
      requirements.txt                Binder (repo2docker) and pip: torch's CPU build, lstm_ref
      runtime.txt                     repo2docker's Python
      wheels/lstm_ref-<version>-py3-none-any.whl
      01_rnn_limits/01_rnn_limits.ipynb   notebooks/ as it is, one folder per assignment
      ...

Nothing else goes in: not solutions/, autograder/ or tests/. The wheel is built by pip
from pyproject.toml in a copy of the repository that holds lstm_ref/ alone.

Published as a branch of a GitHub repository (see the README), the release is what the
website's Binder, JupyterHub and Colab links open. One setting names it:
``exercise_launch.release`` in _config.yml, e.g.
``https://github.com/ORG/REPO/tree/student-release`` (:class:`Release`). Each notebook's
install cell installs the wheel when lstm_ref is missing: in notebooks/ from
``../wheels/`` (beside the notebook in this folder); in a release with that setting, from
the published wheel's URL, which is what a notebook opened on Colab needs.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
import yaml

from .course import REPO, list_assignments

CONFIG = REPO / "_config.yml"
WHEELS = "wheels"  # the release's folder of wheels
# The install cell's one pip line, e.g. %pip install --quiet ../wheels/lstm_ref-0.1.0-...whl
INSTALL = re.compile(r"(%pip install --quiet )(\S*?)(lstm_ref-[^/\s]+\.whl)")
# What the release installs besides lstm_ref: the lines of requirements.txt with these names
STUDENT_REQUIREMENTS = ("numpy", "matplotlib", "ipywidgets", "tqdm", "statsmodels")
PYTHON = "3.11"  # repo2docker's Python (runtime.txt)


@dataclass(frozen=True)
class Release:
    """Where the student release is published: a branch of a GitHub repository.

    Given as one URL, ``https://github.com/OWNER/REPO/tree/BRANCH``, or
    ``https://github.com/OWNER/REPO`` for its branch main.
    """

    owner: str
    repo: str
    branch: str = "main"

    @classmethod
    def parse(cls, url: str) -> Release | None:
        """The release at ``url``; None when ``url`` is empty (nothing is published)."""
        url = (url or "").strip().rstrip("/")
        if not url:
            return None
        match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?:/tree/(.+))?",
                             url)  # fmt: skip
        if not match:
            raise ValueError(f"expected the student release as https://github.com/OWNER/REPO"
                             f"/tree/BRANCH, got {url!r}")  # fmt: skip
        owner, repo, branch = match.groups()
        return cls(owner, repo, branch or "main")

    @property
    def repository(self) -> str:
        return f"https://github.com/{self.owner}/{self.repo}"

    def binder(self, hub: str = "https://mybinder.org") -> str:
        """The URL at which the BinderHub ``hub`` builds the release and opens it."""
        return f"{hub.rstrip('/')}/v2/gh/{self.owner}/{self.repo}/{quote(self.branch, safe='')}"

    def raw(self, path: str) -> str:
        """The URL that serves the file ``path`` of the release, e.g. its wheel."""
        return f"https://raw.githubusercontent.com/{self.owner}/{self.repo}/{self.branch}/{path}"


def configured_release(config: Path = CONFIG) -> Release | None:
    """The release named by ``sphinx.config.exercise_launch.release`` in _config.yml."""
    settings = yaml.safe_load(Path(config).read_text()) or {}
    launch = ((settings.get("sphinx") or {}).get("config") or {}).get("exercise_launch") or {}
    return Release.parse(launch.get("release", ""))


def build(out: Path, release: Release | None, zip_too: bool = False) -> Path:
    """Write the student release into the new or empty folder ``out``; return ``out``.

    With ``release`` (where it will be published) the notebooks' install cells name the
    published wheel's URL; without, ``../wheels/`` and the notebooks equal notebooks/.
    With ``zip_too`` also ``out``.zip, the folder zipped."""
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(out / WHEELS)
    for assignment in list_assignments():
        source = REPO / "notebooks" / assignment
        if not source.is_dir():
            raise FileNotFoundError(f"notebooks/{assignment} is missing: run "
                                    "`python -m autograder release` first")  # fmt: skip
        shutil.copytree(source, out / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))  # fmt: skip
        for notebook in sorted((out / assignment).glob("*.ipynb")):
            point_install_cell(notebook, wheel.name, release)
    (out / "requirements.txt").write_text(requirements(wheel.name))
    (out / "runtime.txt").write_text(f"python-{PYTHON}\n")
    (out / "README.md").write_text(readme(release))
    if zip_too:
        shutil.make_archive(str(out), "zip", out.parent, out.name)
    return out


def build_wheel(wheels: Path) -> Path:
    """lstm_ref's wheel, built by pip from pyproject.toml in a copy of the repository that
    holds nothing but lstm_ref/ (pyproject.toml also installs autograder/ into the
    instructor's environment, which a wheel built in the repository would then hold)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "lstm_ref-source"
        source.mkdir()
        shutil.copy(REPO / "pyproject.toml", source)
        shutil.copytree(REPO / "lstm_ref", source / "lstm_ref",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", *_offline(), "--quiet",
             "--wheel-dir", str(wheels), str(source)],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"building lstm_ref's wheel failed:\n{result.stderr[-3000:]}")
    (wheel,) = Path(wheels).glob("lstm_ref-*.whl")
    return wheel


def _offline() -> list[str]:
    """pip's options to build with this environment's setuptools, when it is recent enough
    for pyproject.toml (77: the license as a string); else pip fetches one to build with."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return []
    return ["--no-build-isolation", "--no-index"] if major >= 77 else []


def point_install_cell(notebook: Path, wheel: str, release: Release | None) -> None:
    """Check that ``notebook``'s install cell names ``wheel``; with ``release``, have it
    install the published wheel (its nbgrader checksum updated, so it stays valid)."""
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and INSTALL.search(c.source)]
    if len(cells) != 1 or INSTALL.search(cells[0].source)[3] != wheel:
        named = [INSTALL.search(c.source)[3] for c in cells]
        raise ValueError(f"{notebook.name}: expected one install cell naming {wheel}, found "
                         f"{named or 'none'}: update its first cell in solutions/, then run "
                         "`python -m autograder release`")  # fmt: skip
    if release is None:
        return
    cell = cells[0]
    cell.source = INSTALL.sub(lambda m: m[1] + release.raw(f"{WHEELS}/") + m[3], cell.source)
    if "checksum" in cell.metadata.get("nbgrader", {}):
        from nbgrader.utils import compute_checksum

        cell.metadata.nbgrader.checksum = compute_checksum(cell)
    nbformat.write(nb, notebook)


def requirements(wheel: str) -> str:
    """requirements.txt: torch's CPU build at the course's pin, the notebooks' libraries
    at the course's versions (from the repository's requirements.txt), and lstm_ref."""
    lines = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        name = re.match(r"[A-Za-z0-9_.-]+", line)
        if name:
            lines[name[0].lower()] = line
    torch = re.fullmatch(r"torch==([\w.]+)", lines.get("torch", ""))
    if not torch or not all(name in lines for name in STUDENT_REQUIREMENTS):
        raise ValueError("requirements.txt must pin torch==VERSION and list "
                         + ", ".join(STUDENT_REQUIREMENTS))  # fmt: skip
    version = torch[1]
    return "\n".join([
        "# The course's exercises: Binder installs this; elsewhere pip install -r requirements.txt",
        "# torch: the CPU build on Linux (on a GPU machine, install the CUDA build of the same",
        "# version first, see pytorch.org); the default build elsewhere",
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        f'torch=={version}+cpu; sys_platform == "linux" and platform_machine == "x86_64"',
        f'torch=={version}; sys_platform != "linux" or platform_machine != "x86_64"',
        *(lines[name] for name in STUDENT_REQUIREMENTS),
        "# the course's own package",
        f"./{WHEELS}/{wheel}",
        "",
    ])  # fmt: skip


def readme(release: Release | None) -> str:
    """The release's README: how to open the notebooks."""
    online = ""
    if release:
        online = (f"- **Binder**: <{release.binder()}> opens them all, nothing to install.\n"
                  "- **Colab, a JupyterHub**: the links in each chapter of the website.\n")
    return f"""\
# LSTMs, from the ground up: the exercises

One notebook per chapter, each in its own folder. Replace each `raise NotImplementedError()`
with your code and run the test cell below it: it prints a ✓ line when your code matches
the course's reference, and names the likely mistake when it does not.

The notebooks use the course's package, `lstm_ref` (in `{WHEELS}/`). Each notebook's first
code cell installs it when it is missing, and does nothing when it is there.

{online}- **Your own computer** (Python 3.10 or newer), in this folder:

  ```bash
  python -m venv .venv
  .venv/bin/pip install jupyterlab -r requirements.txt
  .venv/bin/jupyter lab
  ```
"""
