"""The sandbox's cap on processes (a pids cgroup) and its read-only device nodes.

Two holes a red team found, closed since, each attacked below through the real grading
path with kernels forked from a template and started afresh (``AUTOGRADER_TEMPLATES=0``):

* **a fork bomb** ran for the cell's whole 30 s and could use up the machine's process
  ids, so that other students' kernels, graded beside it, could not start or fork (a
  kernel's real user is root, whom RLIMIT_NPROC exempts). Each sandbox is now a pids
  cgroup (autograder.cgroups) with ``Limits.pids_max`` tasks at most, which the kernel
  can neither raise nor leave. The bomb here is bounded (at most 3 x the cap, sleeping
  children, not exponential), so that it cannot hurt the machine even with the cap gone;
* **the machine's /dev/null**: bubblewrap binds the machine's device nodes into the
  sandbox, and a kernel running as root owns them, so it could chmod or chown them for
  everyone. They are read-only in the sandbox now (autograder.jail). The attack only ever
  sets /dev/null's mode to the mode it has (a no-op even when it is allowed).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import cgroups, grading, jail
from autograder.sandbox import Limits, confine
from tests.support.klass import fill, printed, solutions, write_submission

A = "01_rnn_limits"
NB = f"{A}.ipynb"
S = solutions(A)
CAP = 64  # pids.max for these tests: small, so that the bomb stays small
LIMITS = Limits(timeout=150, cell_timeout=30, pids_max=CAP)
MARK = "fbomb-7c1d"  # argv[0] of the bomb's children, to find any that outlive grading
AS_ROOT = os.geteuid() == 0
CGROUPS = cgroups.parent() is not None
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="the sandbox needs bubblewrap (apt-get install bubblewrap)",
)
def _can_protect_devices() -> bool:
    """Whether this machine lets the jail make a mount namespace (CAP_SYS_ADMIN as root)."""
    probe = "from autograder.jail import protect_devices; protect_devices()"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


needs_device_protection = pytest.mark.skipif(
    not (AS_ROOT and _can_protect_devices()),
    reason="only root owns the machine's device nodes, and only where root may make a "
    "mount namespace (CAP_SYS_ADMIN) can the jail make them read-only; elsewhere the "
    "kernel starts without it and its log says so (test_without_*_the_kernel_still_starts)",
)
needs_cgroups = pytest.mark.skipif(
    not CGROUPS,
    reason="no writable pids cgroup controller here (not root?): the cap is absent by design",
)

# At most 3 x CAP children that sleep (not an exponential bomb); the kernel's cgroup, as
# the kernel reads it; an attempt to raise the cap and to leave the cgroup. Five children
# are left sleeping: the sandbox's end must take them.
BOMB = f"""
import errno, os
from autograder.cgroups import find
_kids, _why = [], "none"
for _ in range(3 * {CAP}):
    try:
        _pid = os.fork()
    except OSError as _e:
        _why = errno.errorcode.get(_e.errno, str(_e.errno))
        break
    if _pid == 0:
        try:
            os.execv("/bin/sleep", [{MARK!r}, "60"])
        finally:
            os._exit(1)
    _kids.append(_pid)
for _pid in _kids[5:]:
    os.kill(_pid, 9)
    os.waitpid(_pid, 0)
print("FORK", len(_kids), _why)
_found = find(open("/proc/self/mountinfo").read(), open("/proc/self/cgroup").read())
_cap = _found and _found[1] / "pids.max"
print("CAP", _cap.read_text().strip() if _cap and _cap.exists() else "none")
def _try(path, text):
    try:
        open(path, "w").write(text)
        return "allowed"
    except OSError as _e:
        return errno.errorcode.get(_e.errno, str(_e.errno))
if _cap and _cap.exists():
    print("ESCAPE", _try(_cap, "max"), _try(_found[1].parent / "cgroup.procs", str(os.getpid())))
"""

# chmod /dev/null to the mode it has (a no-op when allowed), write to it, read
# /dev/urandom; then, in a user and mount namespace of its own, remount it read-write.
DEVNULL = r"""
import ctypes, errno, os, stat
def _try(action):
    try:
        action()
        return "allowed"
    except OSError as _e:
        return errno.errorcode.get(_e.errno, str(_e.errno))
_mode = stat.S_IMODE(os.stat("/dev/null").st_mode)
_out = ["chmod:" + _try(lambda: os.chmod("/dev/null", _mode))]
with open("/dev/null", "w") as _f:
    _f.write("x")
_out.append("write:ok")
with open("/dev/urandom", "rb") as _f:
    _out.append("urandom:%d" % len(_f.read(16)))
_libc = ctypes.CDLL(None, use_errno=True)
_r, _w = os.pipe()
_pid = os.fork()
if _pid == 0:
    _res = "unshare:refused"
    if _libc.unshare(0x10000000 | 0x20000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS
        _rc = _libc.mount(None, b"/dev/null", None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND
        _res = "remount:" + ("allowed" if _rc == 0 else errno.errorcode[ctypes.get_errno()])
        _res += " chmod:" + _try(lambda: os.chmod("/dev/null", _mode))
    os.write(_w, _res.encode())
    os._exit(0)
os.close(_w)
os.waitpid(_pid, 0)
_out.append(os.read(_r, 200).decode())
print("DEVNULL", _out)
"""

# honest work: a few processes at once, /dev/null and /dev/urandom, and nothing of the bomb
HONEST = f"""
import os, subprocess
_procs = [subprocess.Popen(["sleep", "0.2"]) for _ in range(16)]
print("HONEST forked", sum(p.wait() == 0 for p in _procs))
_left = [p for p in os.listdir("/proc") if p.isdigit()
         and {MARK.encode()!r} in open(f"/proc/{{p}}/cmdline", "rb").read()]
print("HONEST bomb left", len(_left))
"""


def _marked() -> list[int]:
    """The bomb's children still running anywhere on the machine."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(MARK.encode()):
                    alive.append(int(entry.name))
            except OSError:
                pass
    return alive


@pytest.fixture(scope="module", params=["1", "0"], ids=["template", "afresh"])
def graded(request, tmp_path_factory):
    """The attacker first, then two honest students, on two workers."""
    root = tmp_path_factory.mktemp(f"limits-{request.param}")
    students = {"a1_bomb": [BOMB, DEVNULL], "a2_honest": [HONEST], "a3_honest": [HONEST]}
    for student, cells in students.items():
        nb = fill(A, S)
        nb.cells += [nbformat.v4.new_code_cell(cell) for cell in cells]
        write_submission(root / "submissions", student, A, nb)
    before = os.stat("/dev/null")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGRADER_TEMPLATES", request.param)
        results = grading.grade(A, root / "submissions", root / "workspace", workers=2,
                                limits=LIMITS, progress=False)  # fmt: skip
    after = os.stat("/dev/null")
    return {r.student: r for r in results}, (before, after)


def _output(result, marker: str) -> str:
    return printed(result.autograded[NB], marker)


@needs_bwrap
@needs_cgroups
def test_a_fork_bomb_stops_at_the_cap(graded):
    results, _ = graded
    fork = _output(results["a1_bomb"], "FORK").split()
    assert fork[0] == "FORK" and fork[2] == "EAGAIN", fork  # not all 3 x CAP children
    assert 0 < int(fork[1]) < CAP, fork  # the template, the kernel and its threads count
    assert _output(results["a1_bomb"], "CAP") == f"CAP {CAP}"
    assert results["a1_bomb"].pids_max == CAP


@needs_bwrap
@needs_cgroups
def test_a_kernel_can_neither_raise_its_cap_nor_leave_its_cgroup(graded):
    results, _ = graded
    assert _output(results["a1_bomb"], "ESCAPE") == "ESCAPE EROFS EROFS"


@needs_bwrap
@pytest.mark.parametrize("student", ["a2_honest", "a3_honest"])
def test_honest_students_beside_a_fork_bomb_earn_full_marks(graded, student):
    results, _ = graded
    assert results[student].status == "graded", results[student].reason
    assert results[student].total == 5, results[student].messages
    assert _output(results[student], "HONEST") == "HONEST forked 16\nHONEST bomb left 0"
    assert results["a1_bomb"].total == 5, results["a1_bomb"].messages  # its own code's worth


@needs_bwrap
def test_nothing_of_the_bomb_outlives_grading(graded):
    assert _marked() == []
    parent = cgroups.parent()
    if parent is not None:  # every sandbox's cgroup is removed with it
        mine = [p.name for p in parent.glob(f"{cgroups.PREFIX}*") if cgroups.NAME.match(p.name)
                and not cgroups._running(int(p.name.split("-")[1]))]  # fmt: skip
        assert mine == []


@needs_bwrap
@needs_device_protection
def test_a_root_kernel_cannot_change_the_machines_dev_null(graded):
    results, (before, after) = graded
    out = _output(results["a1_bomb"], "DEVNULL")
    assert out.startswith("DEVNULL ['chmod:EROFS', 'write:ok', 'urandom:16', "), out
    assert "chmod:allowed" not in out and "remount:allowed" not in out, out
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode, before.st_uid, before.st_gid)  # fmt: skip


# ------------------------------------------------------------ the helpers, without grading


MOUNTINFO_V1 = """\
25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw
39 31 0:36 / {root}/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / {root}/unified rw,relatime - cgroup2 cgroup2 rw
"""
CGROUP_V1 = "9:name=systemd:/\n8:pids:/job/7\n0::/\n"


def test_find_reads_a_v1_hierarchy_from_mountinfo(tmp_path):
    (tmp_path / "pids" / "job" / "7").mkdir(parents=True)
    found = cgroups.find(MOUNTINFO_V1.format(root=tmp_path), CGROUP_V1)
    assert found == (1, tmp_path / "pids" / "job" / "7")


def test_find_maps_a_mount_of_part_of_the_hierarchy(tmp_path):
    """A container sees its own cgroup mounted at the hierarchy's mount point."""
    (tmp_path / "pids" / "7").mkdir(parents=True)
    mountinfo = f"39 31 0:36 /job {tmp_path}/pids rw - cgroup cgroup rw,pids\n"
    assert cgroups.find(mountinfo, CGROUP_V1) == (1, tmp_path / "pids" / "7")
    assert cgroups.find(mountinfo, "8:pids:/elsewhere\n") is None


def test_find_takes_v2_only_where_pids_is_available(tmp_path):
    mountinfo = f"41 31 0:38 / {tmp_path}/cg rw - cgroup2 cgroup2 rw,nsdelegate\n"
    folder = tmp_path / "cg" / "user.slice"
    folder.mkdir(parents=True)
    (folder / "cgroup.controllers").write_text("cpu io memory\n")
    assert cgroups.find(mountinfo, "0::/user.slice\n") is None
    (folder / "cgroup.controllers").write_text("cpu io memory pids\n")
    assert cgroups.find(mountinfo, "0::/user.slice\n") == (2, folder)
    assert cgroups.find("25 1 0:23 / /sys rw - sysfs sysfs rw\n", "0::/\n") is None


def test_no_hierarchy_warns_once_and_grading_goes_on(monkeypatch):
    monkeypatch.setattr(cgroups, "find", lambda *_: None)
    cgroups.parent.cache_clear()
    try:
        with pytest.warns(UserWarning, match="no process-count cap"):
            assert cgroups.create(64) is None
        assert cgroups.create(64) is None  # the same answer, without a second warning
    finally:
        cgroups.parent.cache_clear()


def _in(cgroup: cgroups.PidsCgroup, forks: int = 0) -> subprocess.Popen:
    """A Python process that joins ``cgroup``, tries to start ``forks`` sleeping children,
    prints how many started and why it stopped, then sleeps."""
    code = f"""
import errno, os, sys, time
from autograder.cgroups import join
join({str(cgroup.procs)!r})
started, why = 0, "none"
for _ in range({forks}):
    try:
        pid = os.fork()
    except OSError as error:
        why = errno.errorcode[error.errno]
        break
    if pid == 0:
        os.execv("/bin/sleep", ["sleep", "30"])
    started += 1
print(started, why, flush=True)
time.sleep(30)
"""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


@needs_cgroups
def test_a_cgroup_caps_forks_and_is_removed_with_what_is_inside():
    cgroup = cgroups.create(8)
    assert cgroup is not None and cgroups.NAME.match(cgroup.folder.name)
    try:
        assert cgroup.limit() == "8"
        process = _in(cgroup, forks=20)  # at most 20, bounded whatever happens
        assert process.stdout.readline().split() == ["7", "EAGAIN"]  # 8 with the parent
        assert len(cgroup.pids()) == 8
    finally:
        assert cgroup.remove()
    assert not cgroup.folder.exists()
    assert process.wait(timeout=10) == -signal.SIGKILL
    process.stdout.close()


@needs_cgroups
def test_stale_cgroups_of_a_crashed_worker_are_swept():
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no process has now
    parent = cgroups.parent()
    stale = cgroups.PidsCgroup(parent / f"{cgroups.PREFIX}{gone.pid}-0")
    stale.folder.mkdir()
    ours = cgroups.create(8)
    left = _in(stale)
    try:
        assert left.stdout.readline().split() == ["0", "none"]
        assert cgroups.sweep(parent) == [stale.folder]
        assert not stale.folder.exists() and ours.folder.exists()  # a live worker's stays
        assert left.wait(timeout=10) == -signal.SIGKILL
    finally:
        left.kill()
        left.stdout.close()
        stale.remove()
        ours.remove()


@needs_bwrap
@needs_device_protection
def test_the_jail_makes_the_bound_device_nodes_read_only(tmp_path):
    """Writes and reads still work; chmod (to /dev/null's own mode) fails; the machine's
    mount table is left as it was."""
    mode = oct(os.stat("/dev/null").st_mode & 0o7777)[2:]
    script = (f"chmod {mode} /dev/null 2>&1; echo x > /dev/null && echo write-ok; "
              "head -c 16 /dev/urandom | wc -c")  # fmt: skip
    command = confine(["sh", "-c", script], tmp_path, "bwrap")
    mounts = Path("/proc/self/mountinfo").read_text()
    run = subprocess.run([sys.executable, "-m", "autograder.jail", "", "--", *command],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "Read-only file system" in run.stdout, run.stdout + run.stderr
    assert "write-ok" in run.stdout and run.stdout.split()[-1] == "16", run.stdout
    assert Path("/proc/self/mountinfo").read_text() == mounts
    assert jail.bound_devices()[0] == "/dev/null"


def test_limits_default_cap_is_generous_for_honest_work():
    assert Limits().pids_max >= 256


def test_without_device_protection_or_a_cgroup_the_kernel_still_starts(monkeypatch, capsys):
    """A machine that refuses the mount namespace or the cgroup still grades: enter()
    reports each protection it could not apply and returns, so the kernel starts."""

    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(jail, "protect_devices", refuse)
    monkeypatch.setattr(jail, "join", refuse)
    monkeypatch.setattr(jail.os, "geteuid", lambda: 0)
    jail.enter("/sys/fs/cgroup/pids/autograder-1-1/cgroup.procs", "bwrap")
    err = capsys.readouterr().err
    assert "no process cap for this kernel" in err
    assert "device nodes stay writable" in err
