"""Kernels forked from a worker's template (autograder.zygote): as fast, and as separate.

One worker grades a class in turn, so every kernel after the first is forked from the
same template process, in the same sandbox. Each attacker below tries to reach the
students graded after it on that worker; the honest students end their notebook with a
probe that prints what an earlier kernel could have left: processes, files in the
sandbox's shared folders, System V shared memory. Each must find nothing and earn full
marks, the attackers' own scores must be what their code earns, and grading with
templates must give the same scores as grading without (``AUTOGRADER_TEMPLATES=0``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import grading, zygote
from autograder.course import REPO
from autograder.sandbox import Limits
from tests.support.klass import fill, printed, solutions, write_submission

A = "01_rnn_limits"
NB = f"{A}.ipynb"
S = solutions(A)
LIMITS = Limits(timeout=150, cell_timeout=30)
pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(shutil.which("bwrap") is None,
                       reason="templates run only inside bubblewrap (apt-get install bubblewrap)"),
]  # fmt: skip

# A daemon in its own session outlives its kernel unless something kills it: for 60 s
# it plants files and overwrites every record a later kernel writes in the slot.
LINGER = """
import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", '''
import glob, os, time
end = time.time() + 60
while time.time() < end:
    for path in glob.glob(os.environ["LSTM_REF_RECORD"] + "/*.npz"):
        open(path, "wb").write(b"forged")
    for folder in ("/tmp", "/dev/shm"):
        open(folder + "/planted-by-daemon", "w").write("x")
    time.sleep(0.05)
'''], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""

# Files and System V shared memory in the sandbox's shared places, then nothing running.
PLANT = """
import ctypes, os
for folder in ("/tmp", "/var/tmp", "/dev/shm", "/dev", "/root", "/home"):
    try:
        open(folder + "/planted", "w").write("x")
    except OSError:
        pass
ctypes.CDLL(None).shmget(0x5EED, 4096, 0o1000 | 0o666)  # IPC_CREAT
"""

# Kill the template, the kernel's parent, in the middle of a cell (which then waits: the
# kernel dies a moment after its parent, and would otherwise die in the next cell).
KILL = """
import os, signal, time
os.kill(os.getppid(), signal.SIGKILL)
time.sleep(10)
"""

# Write into the template's memory, through /proc and through ptrace.
TRACE = """
import ctypes, os
try:
    open(f"/proc/{os.getppid()}/mem", "r+b")
    print("TRACE mem: opened")
except OSError as error:
    print("TRACE mem: refused", type(error).__name__)
libc = ctypes.CDLL(None, use_errno=True)
print("TRACE ptrace:", "attached" if libc.ptrace(16, os.getppid(), 0, 0) == 0 else "refused")
"""

PROBE = """
import glob, os
_mine = {1, os.getpid(), os.getppid()}
_others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in _mine]
_files = [p for d in ("/tmp", "/var/tmp", "/dev/shm", "/dev", "/root", "/home")
          for p in glob.glob(d + "/planted*")]
_shm = len(open("/proc/sysvipc/shm").read().splitlines()) - 1
print("PROBE", _others, _files, _shm)
"""


def klass(root) -> dict[str, float]:
    """The class in grading order (names sort as the worker takes them) and the totals."""
    students = {
        # its daemon forges its own records before they are judged: that costs it alone
        "a1_linger": ({**S, "jacobian_norms": S["jacobian_norms"] + LINGER}, 0),
        "a2_honest": (S, 5),
        "a3_plant": ({**S, "jacobian_norms": S["jacobian_norms"] + PLANT}, 5),
        "a4_honest": (S, 5),
        "a5_kill": ({**S, "rnn_step": KILL + S["rnn_step"]}, 3),  # that cell is skipped
        "a6_honest": (S, 5),
        "a7_trace": ({**S, "jacobian_norms": S["jacobian_norms"] + TRACE}, 5),
        "a8_honest": (S, 5),
    }
    for student, (answers, _) in students.items():
        nb = fill(A, answers)
        if student.endswith("honest"):
            nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        write_submission(root, student, A, nb)
    return {student: total for student, (_, total) in students.items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("templates")
    expected = klass(root / "submissions")
    results = grading.grade(A, root / "submissions", root / "workspace", workers=1,
                            limits=LIMITS, progress=False)  # fmt: skip
    return {r.student: r for r in results}, expected, root


def _output(result, marker: str) -> str:
    return printed(result.autograded[NB], marker)


def test_every_student_earns_what_their_code_earns(graded):
    results, expected, _ = graded
    assert {s: r.total for s, r in results.items()} == expected, {
        s: r.messages for s, r in results.items() if r.total != expected[s]
    }


@pytest.mark.parametrize("student", ["a2_honest", "a4_honest", "a6_honest", "a8_honest"])
def test_nothing_an_earlier_kernel_left_reaches_a_later_one(graded, student):
    results, _, _ = graded
    assert _output(results[student], "PROBE") == "PROBE [] [] 0"


def test_a_kernel_cannot_write_into_the_template(graded):
    results, _, _ = graded
    out = _output(results["a7_trace"], "TRACE")
    assert "mem: refused" in out and "ptrace: refused" in out, out


def test_a_killed_template_costs_only_the_cell_that_killed_it(graded):
    results, _, _ = graded
    assert results["a5_kill"].status == "crashed"
    assert "rnn_step" in results["a5_kill"].reason
    assert results["a6_honest"].status == "graded"


def test_scores_and_outputs_match_kernels_started_afresh(graded, tmp_path, monkeypatch):
    results, _, root = graded
    monkeypatch.setenv("AUTOGRADER_TEMPLATES", "0")
    honest = tmp_path / "honest"
    for student in ("a2_honest", "a3_plant"):
        shutil.copytree(root / "submissions" / student, honest / student)
    fresh = grading.grade(A, honest, tmp_path / "workspace", workers=1, limits=LIMITS,
                          progress=False)  # fmt: skip
    for result in fresh:
        assert result.scores == results[result.student].scores
        assert result.status == results[result.student].status
    assert _output(fresh[0], "PROBE") == "PROBE [] [] 0"


def test_the_template_refuses_to_run_outside_a_process_namespace_of_its_own():
    """kill(-1), which clears a sandbox between kernels, would reach the whole machine."""
    assert not zygote._in_own_namespace()
    command = [sys.executable, "-m", "autograder.zygote", "0", "1"]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "process namespace" in run.stderr
