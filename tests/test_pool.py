"""Spreading seeded runs over processes changes the time taken, never a result."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import psutil
import pytest
import torch

from lstm_ref.experiments import memory, pool
from lstm_ref.experiments.memory import ModelSpec, Recipe

TINY = Recipe(max_steps=20, check_every=10, batch_size=16)
SPEC = ModelSpec("LSTM", "LSTM", hidden_size=8)


def _tiny_recall(lag: int, seed: int) -> memory.Run:
    return memory.recall_run(SPEC, lag, seed, recipe=TINY)


def test_runs_in_two_processes_equal_runs_here_bit_for_bit():
    jobs = [(2, 0), (3, 1), (2, 2)]
    here = pool.starmap(_tiny_recall, jobs, workers=1)
    spread = pool.starmap(_tiny_recall, jobs, workers=2)
    assert len(here) == len(spread) == 3
    for a, b in zip(here, spread):
        assert a.score == b.score and a.steps == b.steps
        assert a.history.loss == b.history.loss
        for (name, p), (_, q) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
            assert torch.equal(p, q), name


def test_results_come_back_in_the_order_of_the_jobs():
    jobs = [(base, 2) for base in range(7)]
    assert pool.starmap(pow, jobs, workers=2) == [base**2 for base in range(7)]


def test_a_failing_job_raises_in_the_caller():
    with pytest.raises(ZeroDivisionError):
        pool.starmap(divmod, [(1, 1), (1, 0)], workers=2)


def test_the_worker_setting_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("LSTM_REF_WORKERS", "3")
    assert pool.available_workers() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("LSTM_REF_WORKERS", bad)
        with pytest.raises(ValueError, match="LSTM_REF_WORKERS"):
            pool.available_workers()
    monkeypatch.delenv("LSTM_REF_WORKERS")
    assert pool.available_workers() >= 1


def test_sweeps_are_laid_out_by_model_seed_and_lag():
    specs = (SPEC, ModelSpec("RNN", "RNN", hidden_size=8))
    sweeps = memory.recall_sweeps(specs, lags=(2, 3), seeds=(0, 1), workers=1)
    assert list(sweeps) == ["LSTM", "RNN"]
    assert [[len(row) for row in runs] for runs in sweeps.values()] == [[2, 2], [2, 2]]
    for spec in specs:  # the jobs run longest lag first; each result is put back in place
        for s, seed in enumerate((0, 1)):
            for k, lag in enumerate((2, 3)):
                alone = memory.recall_run(spec, lag, seed)
                run = sweeps[spec.label][s][k]
                assert (run.score, run.history.loss) == (alone.score, alone.history.loss)


def _spin(seconds: float) -> float:
    """Burn `seconds` of this process's CPU time; return the CPU time used."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return time.process_time() - start


def _whoami() -> tuple[int, int]:
    return os.getpid(), torch.get_num_threads()


def _die() -> None:
    os._exit(3)


def test_cpu_time_counts_the_workers():
    """Two workers burn CPU: cpu_time() sees it while they run on, process_time() does not."""
    cpu, own = pool.cpu_time(), time.process_time()
    burnt = sum(pool.starmap(_spin, [(0.5,), (0.5,)], workers=2))
    grew, own_grew = pool.cpu_time() - cpu, time.process_time() - own
    assert grew >= own_grew + 0.9 * burnt
    assert own_grew < 0.5 * burnt  # the caller only waited


def test_workers_are_kept_between_calls_and_run_one_torch_thread():
    first = pool.starmap(_whoami, [()] * 4, workers=2)
    second = pool.starmap(_whoami, [()] * 4, workers=2)
    pids = {pid for pid, _ in first + second}  # either worker may take all four jobs
    assert os.getpid() not in pids and len(pids) <= 2  # no new processes started
    assert {threads for _, threads in first + second} == {1}


def _attention_step_faults() -> int:
    """Page faults of 10 steps of chapter 6's additive attention, after 20 to warm up."""
    import resource

    from lstm_ref.nn import AdditiveAttention

    torch.manual_seed(0)
    attention = AdditiveAttention(64)
    queries = torch.randn(13, 64, 64, requires_grad=True)  # (T, N, H), chapter 6's sizes:
    keys = torch.randn(12, 64, 64, requires_grad=True)  # (S, N, H), scores 2.5 MB a buffer

    def step():
        context, _ = attention(queries, keys)
        context.sum().backward()

    for _ in range(20):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt is glibc's; keep_freed_memory does nothing elsewhere",
)
def test_workers_keep_freed_memory_instead_of_faulting_it_back_in():
    # Under glibc's defaults these 10 steps fault in 4 800-11 000 pages in a worker (1 000
    # to 17 000 in a plain process, 0 on a lucky run: its threshold moves with use); kept,
    # 0-1 300 (the heap still grows now and then), so only the kept side is asserted.
    buffer_pages = 13 * 64 * 12 * 64 * 4 // 4096  # 609 pages of 4 KiB
    for faults in pool.starmap(_attention_step_faults, [()] * 2, workers=2):
        assert faults <= 4 * buffer_pages, f"{faults} page faults in a worker"


def test_a_dead_worker_raises_and_the_next_call_starts_fresh_ones():
    with pytest.raises(BrokenProcessPool):
        pool.starmap(_die, [()] * 2, workers=2)
    assert pool.starmap(pow, [(2, 5), (3, 3)], workers=2) == [32, 27]


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    """A kernel killed mid-chapter must not leave its workers behind."""
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from lstm_ref.experiments import pool\n"
        "from tests.test_pool import _whoami\n"
        "pids = {pid for pid, _ in pool.starmap(_whoami, [()] * 4, workers=2)}\n"
        "print(*pids, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert pids and all(psutil.pid_exists(pid) for pid in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    gone, alive = psutil.wait_procs([psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)],
                                    timeout=15)
    assert not alive, f"workers {[p.pid for p in alive]} outlived their parent"


def _sigint_ignored() -> bool:
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_workers_leave_ctrl_c_to_the_parent():
    """Jupyter sends SIGINT to the kernel's process group on interrupt and shutdown."""
    assert pool.starmap(_sigint_ignored, [()] * 2, workers=2) == [True, True]


def _label(name: str, seed: int) -> str:
    return f"{name}-{seed}"


def test_seeded_runs_are_keyed_by_name_and_seed_in_order():
    same = pool.seeded_runs(_label, ["a", "b"], (0, 1), workers=2)
    assert same == {("a", 0): "a-0", ("a", 1): "a-1", ("b", 0): "b-0", ("b", 1): "b-1"}
    own = pool.seeded_runs(_label, ["a", "b"], {"b": (2,), "a": (0, 1)}, workers=2)
    assert list(own) == [("b", 2), ("a", 0), ("a", 1)]  # the mapping picks the order


def test_seeded_runs_refuse_unknown_names_before_running_anything():
    with pytest.raises(ValueError, match="'c'"):
        pool.seeded_runs(_label, ["a", "b"], {"c": (0,)}, workers=2)
    with pytest.raises(ValueError, match="'b'"):
        pool.seeded_runs(_die, ["a", "b"], (0,), known=("a",), workers=2)  # _die never runs


def test_an_interrupted_sweep_ends_its_runs():
    """Interrupting the kernel mid-sweep must not leave runs going on in the workers."""
    pids = {pid for pid, _ in pool.starmap(_whoami, [()] * 4, workers=2)}

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(2)
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            pool.starmap(_spin, [(60.0,)] * 2, workers=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < 30  # did not wait for the 60 s runs
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)],
                                    timeout=10)
    assert not alive
    assert pool.starmap(pow, [(2, 2), (3, 2)], workers=2) == [4, 9]  # fresh workers


def test_started_jobs_run_in_the_background_while_the_caller_goes_on():
    futures = pool.start(_spin, [(0.3,), (3.0,)], workers=1)  # one worker: in turn
    assert pool.busy(futures) == 2  # returned at once, nothing finished yet
    while pool.busy(futures) == 2:  # the first finishes while this process waits here
        time.sleep(0.01)
    assert futures[0].done() and not futures[1].done()  # the second has 3 s to go
    finished = pool.results(futures)
    assert pool.busy(futures) == 0 and len(finished) == 2
    (pid, _), = pool.results(pool.start(_whoami, [()], workers=1))
    assert pid != os.getpid()  # even one worker is a process of its own


def test_results_of_started_jobs_come_back_in_order_or_raise():
    assert pool.results(pool.start(pow, [(2, 5), (3, 2), (5, 1)], workers=2)) == [32, 9, 5]
    with pytest.raises(ZeroDivisionError):
        pool.results(pool.start(divmod, [(1, 1), (1, 0)], workers=2))
