"""nbgrader's own tools on the course: the Formgrader in Chromium, and the exchange.

The Formgrader is started as the README says (``jupyter lab`` from the course's .venv,
with that environment not activated: its bin folder is not on PATH), once from the
repository root and once from a workspace graded by ``autograder.grading.grade``. The
exchange round trip runs nbgrader's own commands, as one student and the instructor, on a
temporary exchange folder. Fake students only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder import grading
from autograder.course import REPO
from autograder.sandbox import Limits
from tests.support.klass import fill, write_submission
from tests.test_autograder import NO_BIAS, SOLUTION

A = "01_rnn_limits"
BIN = Path(sys.executable).parent  # the course's .venv/bin, deliberately left off PATH
BARE_PATH = os.pathsep.join(p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                            if Path(p).resolve() != BIN.resolve())  # fmt: skip
LIMITS = Limits()  # the defaults: 300 s per submission, 30 s per cell
# three fake students: full marks, the bias forgotten (3 of 5), a blank release (0 of 5)
CLASS = {"s1001": (SOLUTION, 5.0), "s1002": ({**SOLUTION, "rnn_step": NO_BIAS}, 3.0),
         "s1003": ({}, 0.0)}  # fmt: skip
pytestmark = pytest.mark.grading


def _env(config_dir: Path) -> dict[str, str]:
    """An environment as an instructor's shell has it: .venv not activated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV"))}
    return env | {"PATH": BARE_PATH, "JUPYTER_CONFIG_DIR": str(config_dir)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A workspace where grading.grade graded the three students, plus one with names."""
    root = tmp_path_factory.mktemp("formgrader")
    for student, (answers, _) in CLASS.items():
        write_submission(root / "class", student, A, fill(A, answers))
    ws = root / "workspace"
    results = grading.grade(A, root / "class", ws, workers=2, limits=LIMITS, progress=False)
    assert {r.student: r.total for r in results} == {s: t for s, (_, t) in CLASS.items()}
    named = grading.Result("s1004", A, "graded", scores={"test_rnn_step": (2.0, 2.0)},
                           autograded=results[0].autograded)  # fmt: skip
    named.name = "Ada Byron"  # as grade() passes on what a roster or the LMS gives
    grading.record(grading.Workspace(ws), named, {f"{A}.ipynb": nbformat.writes(
        fill(A, {"rnn_step": SOLUTION["rnn_step"]})).encode()})  # fmt: skip
    return ws


class Jupyter:
    """``jupyter lab`` started in ``cwd`` on a free loopback port, with a token."""

    def __init__(self, cwd: Path, config_dir: Path):
        config_dir.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.token = "fake-token-" + str(self.port)
        self.log = open(config_dir / "jupyter.log", "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             *(["--allow-root"] if os.geteuid() == 0 else [])],  # a container's root
            cwd=cwd, env=_env(config_dir), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url, self.context = f"http://127.0.0.1:{self.port}", None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"jupyter lab exited:\n{self.output()}"
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"jupyter lab did not answer within 90 s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def open(self, browser, path: str, ready: str):
        """The page at ``path`` once ``ready`` (a selector) is there; fails if it stays
        on "Loading" (the gradebook could not be opened)."""
        if self.context is None:  # one browser session, logged in by the token once
            self.context = browser.new_context()
            self.context.new_page().goto(f"{self.url}/formgrader?token={self.token}")
        page = self.context.new_page()
        page.goto(f"{self.url}{path}")
        try:
            page.wait_for_selector(ready, timeout=45_000)
        except Exception:  # noqa: BLE001 - report what the server said
            pytest.fail(f"{path} never loaded: {page.inner_text('body')[:500]}\n"
                        f"{self.output()}")  # fmt: skip
        return page

    def stop(self):
        if self.context is not None:
            self.context.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def jupyter_in(tmp_path):
    started = []

    def start(cwd: Path) -> Jupyter:
        started.append(Jupyter(cwd, tmp_path / f"config{len(started)}"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_from_the_repository_root_the_formgrader_lists_the_seven_assignments(
    browser, jupyter_in, tmp_path
):
    config = tmp_path / "config0"  # the gradebook goes here, not into the repository
    config.mkdir()
    (config / "nbgrader_config.py").write_text(
        f"c.CourseDirectory.db_url = 'sqlite:///{tmp_path / 'gradebook.db'}'\n"
    )
    server = jupyter_in(REPO)
    page = server.open(browser, "/formgrader/manage_assignments", "td.num-submissions")
    names = sorted(page.locator("td.name").all_inner_texts())
    assert names == sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    assert len(names) == 7 and names[0] == A
    assert (tmp_path / "gradebook.db").exists()  # the Formgrader opened its gradebook


def test_the_formgrader_shows_a_class_graded_by_the_autograder(
    browser, jupyter_in, graded, tmp_path
):
    ws = tmp_path / "ws"  # a copy: the server may write (it never should change grades)
    shutil.copytree(graded, ws)
    server = jupyter_in(ws)
    page = server.open(browser, "/formgrader/manage_assignments", "td.num-submissions")
    assert page.locator("td.name").all_inner_texts() == [A]
    assert page.locator("td.num-submissions").inner_text().strip() == "4"

    page = server.open(browser, f"/formgrader/manage_submissions/{A}", "td.student-id")
    rows = {
        row.locator("td.student-id").inner_text().strip(): (
            row.locator("td.student-name").inner_text().strip(),
            row.locator("td.status").inner_text().strip(),
            row.locator("td.score").inner_text().strip(),
        )
        for row in page.locator("tbody tr").all()
    }
    assert rows == {
        "s1001": ("s1001,", "graded", "5 / 5"),
        "s1002": ("s1002,", "graded", "3 / 5"),
        "s1003": ("s1003,", "graded", "0 / 5"),
        "s1004": ("Byron, Ada", "graded", "2 / 5"),
    }

    page = server.open(browser, f"/formgrader/gradebook/{A}/{A}", "td.needs-manual-grade")
    names = [a.text_content().strip() for a in page.locator("td.name a.name-shown").all()]
    assert sorted(names) == ["Byron, Ada", "s1001,", "s1002,", "s1003,"]
    flags = page.locator("td.needs-manual-grade").evaluate_all(
        "cells => cells.map(c => c.dataset.search)"
    )
    assert flags == ["", "", "", ""]  # no autograded cell waits for a manual grade


def _nbgrader(cwd: Path, config_dir: Path, *args: str) -> str:
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=_env(config_dir),
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, f"nbgrader {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def test_the_exchange_round_trip_on_one_machine(tmp_path):
    """release, fetch, submit, collect, grade with the autograder, return feedback: the
    README's steps, with the exchange in a temporary folder instead of /srv/nbgrader."""
    exchange, config, student, ws = (tmp_path / n for n in ("exchange", "etc", "home", "ws"))
    for folder in (exchange, config, student, ws):
        folder.mkdir()
    (config / "nbgrader_config.py").write_text(  # as /etc/jupyter/nbgrader_config.py on a hub
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.Exchange.cache = {str(tmp_path / 'cache')!r}\n"
        "c.CourseDirectory.course_id = 'lstm-course'\n"
    )
    released = _nbgrader(REPO, config, "release_assignment", A)
    assert "Released as: lstm-course 01_rnn_limits" in released
    _nbgrader(student, config, "fetch_assignment", A)
    fetched = student / A / f"{A}.ipynb"
    assert fetched.read_bytes() == (REPO / "notebooks" / A / f"{A}.ipynb").read_bytes()
    nbformat.write(fill(A, {**SOLUTION, "rnn_step": NO_BIAS}), str(fetched))
    _nbgrader(student, config, "submit", A, "--student=s2001")  # one OS user plays both
    _nbgrader(REPO, config, "collect", A, f"--CourseDirectory.root={ws}")
    collected = ws / "submitted" / "s2001" / A
    original = (collected / f"{A}.ipynb").read_bytes()
    assert original == fetched.read_bytes()

    graded = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", A, "--submissions", str(ws / "submitted"),
         "--workspace", str(ws)], cwd=REPO, env=_env(config), capture_output=True, text=True,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert re.search(r"^s2001\s+3/5", graded.stdout, re.M), graded.stdout
    assert (collected / f"{A}.ipynb").read_bytes() == original  # the collected file is kept

    _nbgrader(REPO, config, "release_feedback", A, f"--CourseDirectory.root={ws}")
    _nbgrader(student, config, "fetch_feedback", A, "--student=s2001")
    feedback = list((student / A / "feedback").glob(f"*/{A}.html"))
    assert len(feedback) == 1, list((student / A).rglob("*"))
    html = feedback[0].read_text()
    assert "the biases are left out" in html and "3.0" in html
