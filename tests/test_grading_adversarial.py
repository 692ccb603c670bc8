"""Red-team tests of ``python -m autograder grade``: cheating and unlucky students.

Each fake student goes through the real grading path (Dask workers, the sandboxed kernel,
records judged in the worker). An attack that the grader defeats is a passing test; a
hole found open, or honest code refused, would be a strict xfail whose reason says what
is wrong. Four holes found this way are closed and tested below:

* mallet rewrote the kernelspec in its writable folder and killed its kernel, so the
  crash retry started an unsandboxed kernel (the kernelspec now lies outside the
  kernel's reach);
* rooty, run as root, remounted / read-write with the capabilities bwrap kept
  (``--cap-drop ALL`` now);
* rooty also read another student's submission and printed it into its feedback (the
  kernel now sees empty /tmp, /home, /root, ..., the repository, the workspace and the
  class folder, with Python and the course's code bound back read-only);
* a 0.3 MB record that decompressed to 320 MB in the worker (its unpacked size is
  checked before anything is read).

Attacks that are out of reach by design are not tested here: a monkeypatch of
``Exercise.run`` (or of ``values.save``) that records what ``check.reference`` returns,
or a record forged with the reference's numbers, passes any exercise. The kernel holds
the reference and writes the record, so it can always write the right numbers; that is
the README's "a student who disables that guard, or copies the reference's source".
"""

from __future__ import annotations

import json
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import grading, verdicts
from autograder.course import REPO
from autograder.sandbox import Limits
from lstm_ref.grading import values as records
from lstm_ref.grading.exercise import record_name
from tests.support.klass import fill, solutions, write_submission

A = "01_rnn_limits"
NB = f"{A}.ipynb"
SOURCE = (REPO / "solutions" / A / NB).read_bytes()
S = solutions(A)
NO_BIAS = "def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):\n    return np.tanh(x @ W_ih.T + h @ W_hh.T)"
SANDBOXED = shutil.which("bwrap") is not None
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# the course's 30 s per cell: importing torch in two kernels at once on a busy 2-core
# machine took more than 10 s
LIMITS = Limits(timeout=150, cell_timeout=30)
SECRET = "7f3a9c0d"  # in kira's notebook only; rooty looks for it
pytestmark = pytest.mark.grading

# Appended to the submission's private nbgrader_config.py, which the worker executes
# (traitlets' PyFileConfigLoader) each time it calls nbgrader (course_api): it rewrites
# the worker's _apply so that every test cell of this student passes.
PAYLOAD = """
import autograder.worker as _w
if not getattr(_w, "_owned", False):
    _w._owned, _orig = True, _w._apply
    def _apply(verdicts, sources, result):
        if result.student in ("mallet", "rooty"):
            for _cells in verdicts.values():
                for _v in _cells.values():
                    _v.passed = True
        _orig(verdicts, sources, result)
    _w._apply = _apply
"""

# Run 1 (sandboxed): rewrite the kernelspec that the worker installed in the kernel's own
# writable folder, then kill the kernel so that the worker autogrades again.
# Run 2: nbgrader starts the *student's* kernelspec: ipykernel without bwrap or limits.
MALLET_KILL = """\
import json, os, pathlib, sys
spec = pathlib.Path(os.environ["JUPYTER_PATH"]) / "kernels" / "python3" / "kernel.json"
spec.write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
    "{connection_file}", "--IPKernelApp.extra_extensions=autograder.progress"],
    "display_name": "free", "language": "python", "interrupt_mode": "message"}))
os._exit(1)
""" + NO_BIAS

ESCAPE = """
import os, pathlib
_root = pathlib.Path(os.environ["AUTOGRADER_WORKDIR"]).parent
try:
    with open(_root / "nbgrader_config.py", "a") as _f:
        _f.write({payload!r})
    pathlib.Path({outside!r}).write_text("escaped")
except OSError as _e:
    print("still confined:", type(_e).__name__)
"""

# As root, bwrap keeps every capability: remount / read-write, then as above.
REMOUNT = """
import ctypes
ctypes.CDLL(None, use_errno=True).mount(b"none", b"/", None, 0x20 | 0x1000, None)  # remount,bind,rw
"""

# Reads the class's other submissions from the read-only view of the whole file system
# and prints what it finds into its own notebook, which comes back as its feedback.
SNOOP = """
import glob
for _p in glob.glob({folder!r} + "/**/*.ipynb", recursive=True):
    _t = open(_p).read()
    if "VICTOR-SECRET-" in _t and "SNOOP" not in _t:
        print("found:", _t[_t.index("VICTOR-SECRET-"):][:30])
# SNOOP
"""

# Honest but unusual: a wrong draft checked in its own cell, then the right function; a
# list of floats returned; prints and warnings inside the function.
HENRY_RNN = """\
def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih.T + h @ W_hh.T)  # draft: forgot the biases
try:
    check_rnn_step(rnn_step)
except AssertionError as error:
    print("draft fails, as expected:", str(error)[:40])
try:
    check_rnn_step(lambda *args: None)
except AssertionError:
    pass
""" + S["rnn_step"]
HENRY_JAC = """\
import warnings
def _step(J, a, W):
    return np.diag(1 - np.tanh(a) ** 2) @ W @ J

def jacobian_norms(W_hh, pre_activations):
    J = np.eye(W_hh.shape[0], dtype=W_hh.dtype)
    out = []
    for a in pre_activations:
        J = _step(J, a, W_hh)
        out.append(float(np.linalg.norm(J, 2)))
    print("norms:", out[:2])
    warnings.warn("a warning from inside the function")
    return out  # a Python list of floats
print("x" * 100_000)
"""


def klass(root: Path, outside: Path) -> dict[str, float]:
    """Write the class; return {student: the total it must get once holes are closed}."""
    students = {
        "mallet": ({**S, "rnn_step": MALLET_KILL, "jacobian_norms": S["jacobian_norms"]
                    + ESCAPE.format(payload=PAYLOAD, outside=str(outside) + ".mallet")}, 3),
        # remounts / read-write (as root), then escapes as mallet; reads kira's notebook
        "rooty": ({**S, "rnn_step": NO_BIAS, "jacobian_norms": S["jacobian_norms"] + REMOUNT
                   + ESCAPE.format(payload=PAYLOAD, outside=str(outside) + ".rooty")
                   + SNOOP.format(folder=str(root))}, 3),
        # honest and unusual (HENRY_*), and a copy of a locked test cell pasted at the end
        "henry": ({**S, "rnn_step": HENRY_RNN, "jacobian_norms": HENRY_JAC}, 5),
        # correct, saved from a kernel of another name, with a private comment (rooty reads)
        "kira": ({**S, "rnn_step": S["rnn_step"] + f"\n# VICTOR-SECRET-{SECRET}"}, 5),
    }  # fmt: skip
    for student, (answers, _) in students.items():
        nb = fill(A, answers)
        if student == "kira":  # what JupyterLab writes for a conda or a named venv kernel
            nb.metadata["kernelspec"] = {"name": "conda-env-lstm-py", "language": "python",
                                         "display_name": "Python [conda env:lstm]"}  # fmt: skip
        if student == "henry":
            test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                        == "test_jacobian_norms")  # fmt: skip
            nb.cells.append(nbformat.from_dict(json.loads(json.dumps(test))))
        write_submission(root, student, A, nb)
    return {student: total for student, (_, total) in students.items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    outside = tmp_path_factory.mktemp("outside") / "planted"
    expected = klass(root / "submissions", outside)
    results = grading.grade(A, root / "submissions", root / "workspace", workers=2,
                            limits=LIMITS, progress=False)  # fmt: skip
    return {"results": {r.student: r for r in results}, "expected": expected,
            "workspace": root / "workspace", "outside": outside}


def _total(graded, student) -> float:
    return graded["results"][student].total


def _feedback(graded, student) -> str:
    path = graded["workspace"] / "feedback" / student / A / f"{A}.html"
    return path.read_text() if path.exists() else ""


# ------------------------------------------------------------------ holes found and closed


@pytest.mark.skipif(not SANDBOXED, reason="without bwrap the README says writes are free")
def test_a_kernel_cannot_rewrite_its_own_kernelspec_to_escape_the_sandbox(graded):
    assert not Path(str(graded["outside"]) + ".mallet").exists()
    assert _total(graded, "mallet") == graded["expected"]["mallet"]


@pytest.mark.skipif(not (SANDBOXED and AS_ROOT), reason="bwrap keeps capabilities only as root")
def test_a_root_kernel_cannot_remount_the_file_system_read_write(graded):
    assert not Path(str(graded["outside"]) + ".rooty").exists()
    assert _total(graded, "rooty") == graded["expected"]["rooty"]


@pytest.mark.skipif(not SANDBOXED, reason="without bwrap the README says the FS is open")
def test_a_student_cannot_read_another_students_submission(graded):
    assert SECRET not in _feedback(graded, "rooty")
    assert SECRET not in graded["results"]["rooty"].autograded[NB].decode()


def _zip_bomb(path: Path, elements: int) -> None:
    """A record whose one array decompresses to ``elements`` float64 zeros."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (elements,)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("meta.npy", "w") as handle:
            np.lib.format.write_array(handle, np.array(json.dumps(
                [[{"error_type": "", "error": "", "values": [{"kind": "ndarray"}]}]])))
        with archive.open("p0_c0_v0.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(handle, header)
            chunk = bytes(8 * 1_000_000)
            for _ in range(elements // 1_000_000):
                handle.write(chunk)


def test_a_compressed_record_is_refused_before_it_is_decompressed(tmp_path):
    path = tmp_path / "bomb.npz"
    _zip_bomb(path, 40_000_000)  # 320 MB once loaded, 0.3 MB on disk
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError):
            records.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * records.MAX_ELEMENTS * 2


# ------------------------------------------------------------------ defeated or honest


def test_honest_but_unusual_code_earns_full_marks(graded):
    """A draft checked in its own cell before the test, the function defined twice, a
    list of floats returned, prints and warnings inside the function, a huge print, and a
    copy of a locked test cell pasted at the end of the notebook."""
    assert _total(graded, "henry") == 5, graded["results"]["henry"].messages


def test_a_notebook_saved_from_another_kernel_is_graded(graded):
    """nbgrader's OverwriteKernelspec restores the source's kernelspec: a notebook
    saved from a conda or named-venv kernel is graded in the sandboxed python3 kernel
    (and cannot pick an unsandboxed kernel by name)."""
    assert _total(graded, "kira") == 5


def _meta(entry) -> np.ndarray:
    return np.array(json.dumps(entry))


MALFORMED = {
    "not a zip": lambda p: p.write_bytes(b"\x93NUMPY not a zip at all"),
    "meta not json": lambda p: np.savez(p, meta=np.array("{")),
    "meta a dict": lambda p: np.savez(p, meta=_meta({"a": 1})),
    "meta numbers": lambda p: np.savez(p, meta=_meta([1, 2])),
    "values a dict": lambda p: np.savez(p, meta=_meta([[{"values": {"x": 1}}] * 8])),
    "kind tensor, no array": lambda p: np.savez(p, meta=_meta([[{"values": [
        {"kind": "tensor", "dtype": "float64"}]}] * 8])),
    "text array": lambda p: np.savez(p, meta=_meta([[{"values": [{"kind": "ndarray"}]}] * 8]),
                                     **{f"p0_c{c}_v0": np.array(["x"]) for c in range(8)}),
    "nan everywhere": lambda p: np.savez(p, meta=_meta([[{"values": [{"kind": "ndarray",
        "dtype": "float64"}]}] * 8]), **{f"p0_c{c}_v0": np.full((3, 5), np.nan)
                                          for c in range(8)}),
    "too many parts": lambda p: np.savez(p, meta=_meta([[], [], []])),
    "a record is a folder": lambda p: p.mkdir(),
    "a record links to /dev/zero": lambda p: p.symlink_to("/dev/zero"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_record_earns_zero_with_a_reason_and_never_raises(tmp_path, kind):
    """What a kernel may leave in the records folder: the worker judges it as a fail."""
    call = verdicts.test_calls(SOURCE)["test_rnn_step"][0]
    path = tmp_path / record_name(call.cell, call.exercise.name, call.hidden)
    MALFORMED[kind](path)
    verdict = verdicts._judge_call(call, tmp_path)
    assert not verdict.passed
    assert verdict.message.startswith("✗ rnn_step")
