"""python -m autograder grade: a synthetic class, hostile submissions included, graded end
to end against exact expected scores, locally and on a real Dask scheduler and workers."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch

from autograder import grading
from autograder.course import REPO
from autograder.sandbox import Limits
from autograder.submissions import collect
from tests.conftest import NO_CUDA
from tests.support.klass import fill, write_submission

A = "01_rnn_limits"
NB = f"{A}.ipynb"
SOLUTION = {
    cell.metadata.nbgrader.grade_id: cell.source
    for cell in nbformat.read(REPO / "solutions" / A / NB, as_version=4).cells
    if cell.metadata.get("nbgrader", {}).get("solution")
}
NO_BIAS = "def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):\n    return np.tanh(x @ W_ih.T + h @ W_hh.T)"
HIJACK = """\
import lstm_ref.grading.exercise as ex
from lstm_ref.grading import Verdict
ex.Exercise.judge = lambda self, outcomes, hidden=False: Verdict(True, "✓ all good")
"""
FORGE = """
import os, glob, numpy as np
class Boom:
    def __reduce__(self):
        return (os.system, ("touch " + {outside!r},))
for path in glob.glob(os.path.join(os.environ.get("LSTM_REF_RECORD", "."), "*rnn_step*")):
    with open(path, "wb") as f:
        np.savez(f, meta=np.array([Boom()], dtype=object))
"""
HONEST = """\
import warnings, random
import matplotlib.pyplot as plt
import torch
np.random.seed(0); random.seed(0); torch.manual_seed(0)
helpers = [name for name, value in globals().items() if callable(value)]
print(len(helpers), sorted(vars(np))[:1])
warnings.warn("just a warning")
plt.plot([0, 1], [1, 0]); plt.show()
"""
SANDBOXED = shutil.which("bwrap") is not None
# the course's 30 s per cell, shortened for tests; 40 s per submission leaves room for erin
# (8 s to the interrupt she ignores, the kernel killed, the notebook graded again)
LIMITS = Limits(timeout=40, cell_timeout=8)
pytestmark = pytest.mark.grading


def klass(root: Path, outside: Path, port: int) -> dict[str, tuple[float, str]]:
    """Write the class; return {student: (expected total, expected status)}."""
    S = SOLUTION
    students = {
        "alice": ({**S}, {}, (5, "graded")),  # correct
        "bob": ({}, {}, (0, "graded")),  # blank release
        "carol": ({"rnn_step": S["rnn_step"]}, {}, (2, "graded")),  # partial
        "dave": ({"rnn_step": NO_BIAS, "jacobian_norms": S["jacobian_norms"]}, {}, (3, "graded")),
        "eve": ({**S, "rnn_step": "while True:\n    pass"}, {}, (3, "graded")),  # endless loop
        # an endless loop inside the function: the test cell calling it runs out of time
        "elle": ({**S, "rnn_step": "def rnn_step(*args, **kwargs):\n    while True:\n"
                  "        pass"}, {}, (3, "graded")),
        "erin": ({**S, "rnn_step": "while True:\n    try:\n        while True:\n            pass\n"
                  "    except KeyboardInterrupt:\n        pass"}, {}, (3, "crashed")),  # deaf to ^C
        # a cell that kills the kernel costs its own exercise; the rest is graded
        "frank": ({**S, "rnn_step": "import os\nos._exit(1)"}, {}, (3, "crashed")),
        "sybil": ({**S, "jacobian_norms": S["jacobian_norms"] + "\nimport ctypes\n"
                   "ctypes.string_at(0)"}, {}, (2, "crashed")),  # a segfault
        "grace": ({**S}, {"lstm_ref.py": "raise SystemExit('shadowed')"}, (5, "graded")),
        "heidi": ({"rnn_step": "def rnn_step(:"}, {}, (0, "graded")),  # syntax error
        # wrong code behind monkeypatches of the comparison and of the judge itself: the
        # kernel's own check is fooled, the grade (judged outside the kernel) is not
        "ivan": ({**S, "rnn_step": "import numpy as xp\nxp.allclose = lambda *a, **k: True\n"
                  + NO_BIAS}, {}, (3, "graded")),
        "ines": ({**S, "rnn_step": HIJACK + NO_BIAS}, {}, (3, "graded")),
        # forges the record of the test cell above it with a pickle that would run code
        "nina": ({**S, "jacobian_norms": S["jacobian_norms"] + FORGE.format(outside=str(
                  outside) + ".pickle")}, {}, (3, "graded")),
        # honest code that an older scan refused: helper cells over globals() and vars(),
        # extra imports, prints, warnings, plots, seeds
        "olivia": ({**S, "rnn_step": HONEST + S["rnn_step"]}, {}, (5, "graded")),
        "mallory": ({**S, "rnn_step": "big = np.ones(750_000_000)\n" + S["rnn_step"]}, {},
                    (3, "graded")),  # 6 GB against a 4 GB cap: costs only its own exercise
        "oscar": ({**S, "jacobian_norms": S["jacobian_norms"] + "\nprint('x\\n' * 10**6)"}, {},
                  (5, "graded")),  # huge output
        "olga": ({**S, "jacobian_norms": S["jacobian_norms"] + "\nprint('x' * 5_000_000)"},
                 {}, (5, "graded")),  # huge output on one line: 200 lines do not cap it
        "peggy": ({**S, "rnn_step": S["rnn_step"] + f"\nopen({str(outside)!r}, 'w').write('x')"},
                  {}, (5, "graded")),  # tries to write outside its folder
        "trent": ({**S, "rnn_step": "import socket\nsocket.create_connection(('127.0.0.1', "
                   f"{port}), timeout=2).sendall(b'leak')\n" + S["rnn_step"]}, {},
                  (3 if SANDBOXED else 5, "graded")),  # reaches for the network
        # rewrites its private gradebook so that each passed test would be worth 100 points
        "walter": ({**S, "rnn_step": "import sqlite3\ndb = sqlite3.connect('../../../gradebook"
                    ".db')\ndb.execute('update grade_cells set max_score = 100')\ndb.commit()\n"
                    + S["rnn_step"]}, {}, (3 if SANDBOXED else 5, "graded")),
    }  # fmt: skip
    for student, (answers, extra, _) in students.items():
        write_submission(root, student, A, fill(A, answers), extra)
    # every cell within its 8 s, the notebook past the submission's 40 s: stopped at 40 s,
    # not run a second time with the cell it was in skipped
    slow = fill(A, SOLUTION)
    slow.cells += [nbformat.v4.new_code_cell(f"import time\ntime.sleep(7)  # part {k}")
                   for k in range(8)]  # distinct cells: skipping one does not skip all
    write_submission(root, "sloane", A, slow)
    # answers pasted into a new notebook: no cell carries nbgrader's metadata any more
    # (the test cells are found again by their text); one whose answer cells alone lost
    # theirs; one who also changed a test (it cannot be found: exercise 1 scores 0); and
    # one who skipped exercise 1 and deleted its cells
    stripped, retyped, changed = fill(A, SOLUTION), fill(A, SOLUTION), fill(A, SOLUTION)
    for cell in stripped.cells + changed.cells:
        cell.metadata = {}
    for cell in retyped.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.metadata = {}
    next(c for c in changed.cells if c.source.startswith("check_rnn_step")).source = "pass"
    write_submission(root, "colin", A, stripped)
    write_submission(root, "colleen", A, retyped)
    write_submission(root, "cole", A, changed)
    skipped = fill(A, SOLUTION)
    skipped.cells = [c for c in skipped.cells if c.metadata.get("nbgrader", {}).get(
        "grade_id") not in ("rnn_step", "test_rnn_step")]
    write_submission(root, "skye", A, skipped)
    # a student who deletes both test cells, and one who edits them to pass
    tests = ("test_rnn_step", "test_jacobian_norms")
    write_submission(root, "judy", A, fill(A, SOLUTION, drop=tests))
    write_submission(root, "ken", A, fill(A, {}, edit={"test_rnn_step": "pass",
                                                       "test_jacobian_norms": "pass"}))  # fmt: skip
    expected = {s: v[2] for s, v in students.items()}
    expected |= {"judy": (5, "graded"), "ken": (0, "graded"), "sloane": (5, "timeout"),
                 "colin": (5, "graded"), "colleen": (5, "graded"), "cole": (3, "graded"),
                 "skye": (3, "graded")}
    return expected


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    outside = tmp_path_factory.mktemp("outside") / "planted.txt"
    listener = socket.create_server(("127.0.0.1", 0))  # what a leak would reach
    listener.settimeout(0.1)
    expected = klass(root / "submissions", outside, listener.getsockname()[1])
    workspace = root / "workspace"
    start = time.perf_counter()
    results = grading.grade(A, root / "submissions", workspace, workers=2,
                            limits=LIMITS, progress=False)  # fmt: skip
    try:
        reached = [listener.accept()[1]]
    except TimeoutError:
        reached = []
    listener.close()
    return {"results": {r.student: r for r in results}, "expected": expected,
            "workspace": workspace, "outside": outside, "root": root, "reached": reached,
            "seconds": time.perf_counter() - start}  # fmt: skip


def test_every_submission_gets_exactly_its_expected_score(graded_class):
    results, expected = graded_class["results"], graded_class["expected"]
    assert results.keys() == expected.keys()
    for student, (total, status) in expected.items():
        result = results[student]
        assert (result.total, result.status) == (total, status), (student, result.reason)


def test_reasons_name_what_happened(graded_class):
    results = graded_class["results"]
    assert "the biases are left out" in results["dave"].mistakes
    assert "could not go past: rnn_step" in results["erin"].reason
    assert "grading stopped after 40 s" in results["sloane"].reason
    assert results["sloane"].seconds < LIMITS.timeout + 20  # one run, ended at the limit
    csv_text = (graded_class["workspace"] / f"grades-{A}.csv").read_text()
    assert "test_rnn_step, test_jacobian_norms found by their text" in csv_text  # colin
    assert "cell rnn_step missing (deleted, or its marker lost)" in csv_text  # cole, skye
    assert "CellTimeoutError" in results["eve"].messages["rnn_step"]  # interrupted at 8 s
    # a test cell that did not reach its check says why: its error, or the time limit
    assert "it stopped with NameError: name 'rnn_step' is not defined" in results[
        "eve"].messages["test_rnn_step"]
    assert "stopped at the time a cell may take" in results["elle"].messages["test_rnn_step"]
    assert "such as a name that is not defined?" not in results["elle"].messages[
        "test_rnn_step"]  # fmt: skip
    assert "could not go past: rnn_step (the Python kernel died" in results["frank"].reason
    assert "could not go past: jacobian_norms" in results["sybil"].reason
    assert "killed the Python kernel" in results["sybil"].messages["jacobian_norms"]
    assert "the biases are left out" in results["ivan"].mistakes
    assert "the biases are left out" in results["ines"].mistakes
    assert "could not be read" in results["nina"].messages["test_rnn_step"]
    assert not Path(str(graded_class["outside"]) + ".pickle").exists()  # never unpickled
    assert any("lstm_ref.py" in item for item in results["grace"].ignored)
    assert "MemoryError" in results["mallory"].messages.get("rnn_step", "")
    if SANDBOXED:  # without bubblewrap nothing stops the write: the README says so
        assert not graded_class["outside"].exists()
        # /tmp is an empty tmpfs inside the sandbox: the write lands there and vanishes
        # the kernel's own network namespace: the host's loopback server is not there
        assert graded_class["reached"] == []
        assert "Connection refused" in results["trent"].messages.get("rnn_step", "")
        # the private gradebook is out of sight (an empty folder) and out of reach
        assert "no such table" in results["walter"].messages.get("rnn_step", "")


def test_gradebook_csv_and_feedback_agree(graded_class):
    ws, results = graded_class["workspace"], graded_class["results"]
    rows = list(csv.DictReader((ws / f"grades-{A}.csv").open()))
    assert {row["student"]: float(row["total"]) for row in rows} == {
        s: r.total for s, r in results.items()
    }
    assert all(row["max"] == "5.0" for row in rows)
    scores = grading.Workspace(ws).scores(A)
    assert {s: score for s, (score, _) in scores.items()} == {
        s: r.total for s, r in results.items()
    }
    assert (ws / "feedback" / "alice" / A / f"{A}.html").read_text().count("rnn_step") > 0


def test_report_counts_scores_and_diagnosed_mistakes(graded_class):
    from autograder.report import report

    table, figure = report(graded_class["workspace"], A)
    text = table.read_text()
    results = graded_class["results"].values()
    mean = sum(r.scores.get("test_rnn_step", (0, 0))[0] for r in results) / len(results)
    assert f"| test_rnn_step | 2 | {mean:.2f} |" in text
    assert "| the biases are left out | test_rnn_step | 3 |" in text  # dave, ivan, ines
    assert "| crashed | 3 |" in text and "tampering" not in text
    # the notebook's order (alphabetical would put test_jacobian_norms first), then the total
    assert text.index("| test_rnn_step |") < text.index("| test_jacobian_norms |")
    totals = [r.total for r in results]
    assert f"| **total** | 5 | {sum(totals) / len(totals):.2f} |" in text
    assert "No mistakes diagnosed" not in text
    from PIL import Image

    width, height = Image.open(figure).size  # three panels (total + 2 exercises) in a row
    assert figure.stat().st_size > 5_000 and width <= 1400 and height <= 900


def test_huge_output_is_cut(graded_class):
    notebook = graded_class["workspace"] / "autograded" / "oscar" / A / NB
    assert notebook.stat().st_size < 2_000_000
    ws = graded_class["workspace"]  # 5 MB on one line: cut to the cell's 100 kB
    one_line = (ws / "autograded" / "olga" / A / NB).read_text()
    assert len(one_line) < 500_000 and "Output truncated (4,9" in one_line
    page = {s: (ws / "feedback" / s / A / f"{A}.html").stat().st_size for s in ("olga", "alice")}
    assert page["olga"] - page["alice"] < 500_000  # a page is about 2.5 MB: styles, figures


def test_regrading_is_idempotent(graded_class):
    ws = graded_class["workspace"]
    before = (ws / f"grades-{A}.csv").read_text()
    grading.grade(A, graded_class["root"] / "submissions", ws, workers=2,
                  limits=LIMITS, progress=False)  # fmt: skip
    assert (ws / f"grades-{A}.csv").read_text() == before
    assert len(grading.Workspace(ws).scores(A)) == len(graded_class["expected"])


def test_an_interrupted_run_keeps_the_grades_it_wrote(tmp_path, monkeypatch):
    for student in ("anna", "ben", "cleo"):
        write_submission(tmp_path / "subs", student, A, fill(A, SOLUTION))
    real, calls = grading.record, []

    def record_then_stop(ws, result, *args, **kwargs):
        real(ws, result, *args, **kwargs)
        calls.append(result.student)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(grading, "record", record_then_stop)
    with pytest.raises(KeyboardInterrupt):
        grading.grade(A, tmp_path / "subs", tmp_path / "ws", workers=2, progress=False)
    scores = grading.Workspace(tmp_path / "ws").scores(A)
    assert set(scores) == set(calls) and all(s == (5.0, 5.0) for s in scores.values())


def test_grading_on_a_dask_cluster_started_from_the_command_line(tmp_path):
    """A real `dask scheduler` and `dask worker` on loopback, then the CLI against them."""
    write_submission(tmp_path / "subs", "zoe", A, fill(A, SOLUTION))
    write_submission(tmp_path / "subs", "yan", A, fill(A, {"rnn_step": NO_BIAS}))
    dask = [str(Path(sys.executable).with_name("dask"))]
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        for _ in range(200):
            if scheduler_file.exists() and scheduler_file.stat().st_size > 0:
                break
            time.sleep(0.1)
        worker = ["worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
                  "--nthreads", "1", "--no-dashboard"]  # fmt: skip
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(subprocess.Popen(dask + worker, **quiet))
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        out = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", A, "--submissions",
             str(tmp_path / "subs"), "--workspace", str(tmp_path / "ws"), "--scheduler", address],
            capture_output=True, text=True, cwd=REPO, timeout=600,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        scores = grading.Workspace(tmp_path / "ws").scores(A)
        assert scores == {"zoe": (5.0, 5.0), "yan": (0.0, 5.0)}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


def test_collect_reads_every_layout_and_refuses_hostile_names(tmp_path):
    nb = nbformat.writes(fill(A, SOLUTION)).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"amy/{A}/{NB}", nb)  # nbgrader layout
        archive.writestr(f"bo/{NB}", nb)  # a folder per student
        archive.writestr("cy.ipynb", nb)  # a file per student
        archive.writestr(f"di_{NB}", nb)  # an LMS export
        archive.writestr(f"ed/{A}/lstm_ref.py", "x")  # left out
        archive.writestr("../../evil.ipynb", nb)  # path traversal: never a student
        archive.writestr("__MACOSX/._cy.ipynb", b"junk")
    (tmp_path / "class.zip").write_bytes(buffer.getvalue())
    found = {s.student: s for s in collect(tmp_path / "class.zip", A, [NB])}
    assert set(found) == {"amy", "bo", "cy", "di", "ed"}
    assert all(found[s].notebooks == {NB: nb} for s in ("amy", "bo", "cy", "di"))
    assert found["ed"].notebooks == {} and "lstm_ref.py" in found["ed"].ignored[0]


def test_sandbox_confines_writes_memory_and_time(tmp_path):
    """The pieces on their own: bwrap refuses a write outside the folder, the memory cap
    turns a big allocation into MemoryError, and the watchdog kills a runaway child."""
    from autograder.sandbox import apply_limits, confine
    from autograder.worker import Watchdog

    if not SANDBOXED:
        if os.environ.get("CI"):
            pytest.fail("bubblewrap is missing in CI: .ci/install installs it as root")
        pytest.skip("bubblewrap is not installed here, so file-system isolation is off")
    work, outside = tmp_path / "work", tmp_path / "outside.txt"
    work.mkdir()
    # /tmp is an empty tmpfs inside: the write lands there and is gone with the sandbox
    write = subprocess.run(confine([sys.executable, "-c", f"open({str(outside)!r}, 'w')"],
                                   work, "bwrap"), capture_output=True, text=True)  # fmt: skip
    assert not outside.exists()
    # the course's code is bound back read-only
    planted = REPO / "lstm_ref" / "planted.py"
    write = subprocess.run(confine([sys.executable, "-c", f"open({str(planted)!r}, 'w')"],
                                   work, "bwrap"), capture_output=True, text=True)  # fmt: skip
    assert write.returncode != 0 and "Read-only file system" in write.stderr
    assert not planted.exists()
    big = subprocess.run([sys.executable, "-c", "import numpy; numpy.ones(750_000_000)"],
                         preexec_fn=lambda: apply_limits(2048, 64), capture_output=True,
                         text=True)  # fmt: skip
    assert big.returncode != 0 and "MemoryError" in big.stderr
    start = time.perf_counter()
    with Watchdog(2) as watchdog:
        loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        loop.wait(timeout=60)
    assert watchdog.fired and loop.returncode != 0 and time.perf_counter() - start < 30


def test_the_in_process_alembic_head_is_what_the_cli_prints():
    """Gradebooks learn their schema version in-process (autograder.course.alembic_head),
    where nbgrader runs `alembic heads` in a subprocess on every open."""
    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.course import alembic_head

    alembic = Path(sys.executable).with_name("alembic")
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        printed = subprocess.run([str(alembic), "-c", ini, "heads"], capture_output=True,
                                 text=True, check=True).stdout  # fmt: skip
    assert printed.split()[0] == alembic_head() and len(alembic_head()) >= 8


def test_the_coordinator_never_records_more_than_a_cell_is_worth(graded_class, tmp_path):
    """Scores from a worker are held to the coordinator's gradebook: a submission that
    inflated its private gradebook (blocked by the sandbox anyway) gains nothing."""
    shutil.copytree(graded_class["workspace"], tmp_path / "ws")
    ws = grading.Workspace(tmp_path / "ws")
    inflated = grading.Result("zara", A, "graded",
                              scores={"test_rnn_step": (100.0, 100.0), "made_up": (7.0, 7.0),
                                      "test_jacobian_norms": (-4.0, 3.0)})  # fmt: skip
    grading.record(ws, inflated)
    assert ws.scores(A)["zara"] == (2.0, 5.0)
    assert inflated.scores == {"test_rnn_step": (2.0, 2.0), "test_jacobian_norms": (0.0, 3.0)}


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_a_submission_earns_the_same_score_on_cpu_and_on_gpu(tmp_path, monkeypatch):
    """The checks run their cases on CUDA too when the kernel sees a GPU (the sandbox
    binds NVIDIA's device files); hiding it must not change a single score."""
    S = SOLUTION
    answers = {"alice": {**S}, "carol": {"rnn_step": S["rnn_step"]},
               "dave": {"rnn_step": NO_BIAS, "jacobian_norms": S["jacobian_norms"]}}  # fmt: skip
    for student, filled in answers.items():
        write_submission(tmp_path / "class", student, A, fill(A, filled))
    scores = {}
    for device, visible in [("cuda", None), ("cpu", "")]:
        if visible is not None:
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        results = grading.grade(A, tmp_path / "class", tmp_path / device, workers=2,
                                progress=False)  # fmt: skip
        scores[device] = {r.student: (r.total, r.scores) for r in results}
    assert scores["cuda"] == scores["cpu"]
    assert {s: total for s, (total, _) in scores["cpu"].items()} == {"alice": 5, "carol": 2,
                                                                       "dave": 3}  # fmt: skip


def test_feedback_shows_the_verdict_not_the_hidden_tests_or_paths(graded_class):
    ws = graded_class["workspace"]
    html = (ws / "feedback" / "dave" / A / f"{A}.html").read_text()
    assert "the biases are left out" in html and "Hint:" in html
    assert "HIDDEN TESTS" not in html and "hidden=True" not in html
    assert "grade-dave-" not in html and str(REPO) not in html and "site-packages" not in html
    instructor = nbformat.read(ws / "autograded" / "dave" / A / NB, as_version=4)
    assert any("hidden=True" in cell.source for cell in instructor.cells)


def test_the_autograded_notebook_shows_the_graders_verdict_not_the_kernels(graded_class):
    """ines replaced the judge in her kernel, so her kernel printed a ✓; the notebook the
    instructor and the feedback see carries the grader's verdict instead."""
    notebook = nbformat.read(graded_class["workspace"] / "autograded" / "ines" / A / NB, 4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "test_rnn_step")  # fmt: skip
    text = "".join(o.get("evalue", "") + o.get("text", "") for o in cell.outputs)
    assert "the biases are left out" in text and "all good" not in text


def test_plain_nbgrader_autograde_gives_the_same_scores(graded_class, tmp_path):
    """The checks judge in the kernel under plain nbgrader: for honest submissions (no
    tricks aimed at the kernel) the scores equal the grader's."""
    from autograder.course import create_workspace

    honest = ["alice", "bob", "carol", "dave", "heidi", "judy", "olivia"]
    ws = create_workspace(tmp_path / "plain", [A])
    ws.nbgrader("generate_assignment", A, "--force")
    for student in honest:
        ws.nbgrader("db", "student", "add", student)
        ws.submit(student, A, graded_class["root"] / "submissions" / student / A / NB)
    ws.nbgrader("autograde", A, "--force")
    plain = {student: score for student, (score, _) in ws.scores(A).items()}
    assert plain == {s: graded_class["results"][s].total for s in honest}


def test_nbgrader_validate_prints_the_whole_diagnosis(tmp_path):
    """nbgrader validate cuts lines past 87 characters: the message is wrapped to fit."""
    path = tmp_path / NB
    nbformat.write(fill(A, {**SOLUTION, "rnn_step": NO_BIAS}), str(path))
    command = [sys.executable, "-m", "nbgrader", "validate", str(path)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                         timeout=600).stdout  # fmt: skip
    flat = " ".join(out.split())
    assert "your output matches a known mistake: the biases are left out." in flat
    assert "Hint: torch's layout has two bias vectors, b_ih and b_hh; add both." in flat
    assert "Traceback" not in out and "lstm_ref/grading" not in out
