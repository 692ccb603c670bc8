"""python -m autograder student-release: what students get, and nothing more.

The release is built twice, as published nowhere (the default) and as published at a
GitHub branch; both are scanned, the wheel and the zip included, for solution markers and
the exact code of every solution and hidden test. The notebooks' install cell is run in a
fresh virtual environment without lstm_ref: it installs the release's wheel, which then
imports; run again, and in the course's own environment, it does nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import compute_checksum
from packaging.requirements import Requirement

from autograder.course import REPO, list_assignments
from autograder.student_release import INSTALL, Release, build, configured_release
from tests.support.leaks import leaks, secrets, texts

ASSIGNMENTS = list_assignments()
VERSION = re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(), re.M)[1]
WHEEL = f"lstm_ref-{VERSION}-py3-none-any.whl"
PUBLISHED = Release("lstm-course", "lstm-exercises", "student-release")


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """The release as built while exercise_launch.release is empty."""
    return build(tmp_path_factory.mktemp("plain") / "release", None)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The release as built for publishing at PUBLISHED, zipped too."""
    return build(tmp_path_factory.mktemp("published") / "release", PUBLISHED, zip_too=True)


def notebooks(folder: Path) -> dict[str, Path]:
    """{assignment/name.ipynb: path} of a release or of notebooks/."""
    return {p.relative_to(folder).as_posix(): p for a in ASSIGNMENTS
            for p in sorted((folder / a).glob("*.ipynb"))}  # fmt: skip


def install_cells(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and INSTALL.search(c.source)]


# ---------------------------------------------------------------- the one setting


def test_release_setting_names_a_github_branch():
    assert Release.parse("") is None and Release.parse("  ") is None
    assert Release.parse("https://github.com/o/r") == Release("o", "r", "main")
    assert Release.parse("https://github.com/o/r.git/") == Release("o", "r", "main")
    assert Release.parse("https://github.com/o/r/tree/student-release") == Release(
        "o", "r", "student-release")  # fmt: skip
    for wrong in ("https://gitlab.com/o/r", "github.com/o/r", "https://github.com/o"):
        with pytest.raises(ValueError, match="https://github.com/OWNER/REPO/tree/BRANCH"):
            Release.parse(wrong)
    assert PUBLISHED.raw(f"wheels/{WHEEL}") == (
        f"https://raw.githubusercontent.com/lstm-course/lstm-exercises/student-release/"
        f"wheels/{WHEEL}")  # fmt: skip


def test_setting_is_read_from_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("sphinx:\n  config:\n    exercise_launch:\n"
                      "      release: https://github.com/o/r/tree/b\n")  # fmt: skip
    assert configured_release(config) == Release("o", "r", "b")
    config.write_text("sphinx:\n  config:\n    exercise_launch:\n      release: ''\n")
    assert configured_release(config) is None
    configured_release()  # the course's own _config.yml holds a valid setting


# ---------------------------------------------------------------- what the release holds


def test_release_holds_the_notebooks_the_wheel_and_binder_configuration(plain):
    assert {p.name for p in plain.iterdir()} == {
        "README.md", "requirements.txt", "runtime.txt", "wheels", *ASSIGNMENTS}  # fmt: skip
    assert [p.name for p in (plain / "wheels").iterdir()] == [WHEEL]
    assert re.fullmatch(r"python-3\.1\d\n", (plain / "runtime.txt").read_text())
    ours, theirs = notebooks(plain), notebooks(REPO / "notebooks")
    assert ours.keys() == theirs.keys() and len(ours) >= len(ASSIGNMENTS)
    for name in ours:  # unpublished, the notebooks are notebooks/ byte for byte
        assert ours[name].read_bytes() == theirs[name].read_bytes(), name


def test_requirements_install_the_cpu_torch_pin_and_the_wheel(plain):
    pin = re.search(r"^torch==(\S+)", (REPO / "requirements.txt").read_text(), re.M)[1]
    lines = [line for line in (plain / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]  # fmt: skip
    local = [line for line in lines if line.startswith(".")]
    assert local == [f"./wheels/{WHEEL}"] and (plain / local[0]).is_file()
    options = [line for line in lines if line.startswith("-")]
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    requirements = [Requirement(line) for line in lines if line not in local + options]
    torch = [r for r in requirements if r.name == "torch"]
    assert {str(r.specifier) for r in torch} == {f"=={pin}+cpu", f"=={pin}"}
    linux = {"sys_platform": "linux", "platform_machine": "x86_64"}
    assert [str(r.specifier) for r in torch if r.marker.evaluate(linux)] == [f"=={pin}+cpu"]
    names = {r.name for r in requirements}
    assert {"numpy", "tqdm", "ipywidgets", "matplotlib", "statsmodels"} <= names
    assert not names & {"lstm_ref", "lstm-ref", "nbgrader", "autograder"}


def test_wheel_holds_lstm_ref_and_nothing_else(plain):
    names = zipfile.ZipFile(plain / "wheels" / WHEEL).namelist()
    assert {n.split("/")[0] for n in names} == {"lstm_ref", f"lstm_ref-{VERSION}.dist-info"}
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "lstm_ref").rglob("*.py")}
    assert {n for n in names if n.startswith("lstm_ref/")} == modules
    metadata = zipfile.ZipFile(plain / "wheels" / WHEEL).read(
        f"lstm_ref-{VERSION}.dist-info/METADATA").decode()  # fmt: skip
    assert re.search(r"^Requires-Dist: torch", metadata, re.M)


# ---------------------------------------------------------------- nothing leaked


@pytest.mark.parametrize("which", ["plain", "published"])
def test_no_solution_or_hidden_test_anywhere_in_the_release(request, which):
    """Markers nowhere; no solution's or hidden test's code (tests/support/leaks.py)."""
    release = request.getfixturevalue(which)
    scanned = list(texts(release))
    assert leaks(scanned, secrets()) == []
    assert len(scanned) > 100  # the wheel's modules were opened


def test_zip_is_the_folder(published):
    with zipfile.ZipFile(published.with_suffix(".zip")) as archive:
        zipped = {n for n in archive.namelist() if not n.endswith("/")}
    files = {p.relative_to(published.parent).as_posix() for p in published.rglob("*")
             if p.is_file()}  # fmt: skip
    assert zipped == files


# ---------------------------------------------------------------- the install cell


def test_install_cell_opens_every_notebook_and_is_not_graded():
    """The first code cell of every source and released notebook, named by nbgrader but
    neither graded nor a solution (so nbgrader keeps it as it is)."""
    for folder in (REPO / "solutions", REPO / "notebooks"):
        for name, path in notebooks(folder).items():
            code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
            first = code[0]
            assert install_cells(path) == [first], name
            meta = first.metadata.nbgrader
            assert not meta.grade and not meta.solution, name
            assert INSTALL.search(first.source).group(2, 3) == ("../wheels/", WHEEL), name


def test_published_install_cells_name_the_published_wheel(published):
    url = PUBLISHED.raw(f"wheels/{WHEEL}")
    theirs = notebooks(REPO / "notebooks")
    for name, path in notebooks(published).items():
        (cell,) = install_cells(path)
        assert f"%pip install --quiet {url}" in cell.source
        assert cell.metadata.nbgrader.checksum == compute_checksum(cell)  # validates
        original = nbformat.read(theirs[name], as_version=4)
        ours = nbformat.read(path, as_version=4)
        changed = [k for k, (a, b) in enumerate(zip(original.cells, ours.cells)) if a != b]
        assert len(ours.cells) == len(original.cells) and changed == [ours.cells.index(cell)]


def cell_runner(cell: str, record: bool) -> str:
    """Python that runs ``cell`` in IPython and prints the %pip lines it ran as JSON; with
    ``record``, %pip only records (a cell that does nothing runs none)."""
    return textwrap.dedent(f"""\
        import json
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        calls = []
        real = shell.find_line_magic("pip")
        def pip(line):
            calls.append(line)
            {"" if record else "real(line)"}
        shell.register_magic_function(pip, "line", "pip")
        shell.run_cell({cell!r}).raise_error()
        print("PIP-CALLS", json.dumps(calls), shell.user_ns.get("_exit_code", 0))
    """)


def run_cell(python: str, cell: str, cwd: Path, env: dict, record: bool) -> tuple[list, int]:
    result = subprocess.run([python, "-c", cell_runner(cell, record)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    calls, exit_code = result.stdout.rsplit("PIP-CALLS ", 1)[1].rsplit(" ", 1)
    return json.loads(calls), int(exit_code)


def test_install_cell_does_nothing_in_the_course_environment(plain):
    path = plain / ASSIGNMENTS[0] / f"{ASSIGNMENTS[0]}.ipynb"
    (cell,) = install_cells(path)
    calls, _ = run_cell(sys.executable, cell.source, path.parent, dict(os.environ), True)
    assert calls == []


def clean_environment(root: Path) -> tuple[str, dict]:
    """A new virtual environment without lstm_ref: its own pip; the course's other
    packages (torch, NumPy, IPython) seen through a folder of links, so nothing is
    downloaded; pip offline and told of no index, so it can install nothing else."""
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    # ensurepip's setuptools (Python < 3.12) is older than torch asks: the course's instead
    subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", "setuptools"],
                   check=True, capture_output=True)  # fmt: skip
    shared = root / "shared"
    shared.mkdir()
    own = re.compile(r"(lstm_ref|autograder|__editable__|pip)\b|.*\.pth$|__pycache__")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not own.match(entry.name):
            (shared / entry.name).symlink_to(entry)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)  # fmt: skip
    (Path(site.stdout.strip()) / "course-packages.pth").write_text(f"{shared}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
    return str(python), env


def test_install_cell_installs_the_wheel_in_a_clean_environment(plain, tmp_path):
    """lstm_ref absent: the cell installs the release's wheel, from ../wheels/ beside the
    notebook, and every module of the package imports from there. Present: nothing."""
    python, env = clean_environment(tmp_path)
    missing = subprocess.run([python, "-c", "import lstm_ref"], cwd=tmp_path, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert "No module named 'lstm_ref'" in missing.stderr

    path = plain / ASSIGNMENTS[0] / f"{ASSIGNMENTS[0]}.ipynb"
    (cell,) = install_cells(path)
    calls, exit_code = run_cell(python, cell.source, path.parent, env, record=False)
    assert calls == [f"install --quiet ../wheels/{WHEEL}"] and exit_code == 0

    imports = textwrap.dedent("""\
        import pkgutil, importlib, lstm_ref, torch
        from lstm_ref.nn import LSTM
        names = [m.name for m in pkgutil.walk_packages(lstm_ref.__path__, "lstm_ref.")]
        for name in names:
            importlib.import_module(name)
        output, _ = LSTM(3, 4)(torch.randn(5, 2, 3))
        print(lstm_ref.__file__, len(names), tuple(output.shape))
    """)
    result = subprocess.run([python, "-c", imports], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    where, count, shape = result.stdout.split(" ", 2)
    assert where.startswith(str(tmp_path / "venv")) and int(count) > 20
    assert shape.strip() == "(5, 2, 4)"

    calls, _ = run_cell(python, cell.source, path.parent, env, record=True)
    assert calls == []  # present now: the cell does nothing
