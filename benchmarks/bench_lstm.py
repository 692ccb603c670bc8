"""Forward + backward time of lstm_ref's LSTM, GRU and RNN against torch.nn's, in one run.

    python benchmarks/bench_lstm.py            # CPU, and CUDA when present
    python benchmarks/bench_lstm.py --rounds 15 --device cpu --threads 1 2
    python benchmarks/bench_lstm.py --device cpu --threads 1 --shape 82 64 9 32  # chapter 1's

Each round times both modules once, in alternating order, on the same input and
weights; the figure reported is the median over rounds of the per-round ratio
ours / torch, which cancels most of the drift of a shared, noisy machine.
The target on CPU is a ratio of at most 1.3 for each kind (issue 15) at the default
shape. ``--shape`` times another one: chapters 1 and 4 train LSTMs of H = 32 on one thread,
where every step's fixed costs (Python, each kernel's start) outweigh its arithmetic.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lstm_ref.nn

SHAPE = (100, 64, 64, 256)  # L, N, I, H
TARGET = 1.3
KINDS = ("LSTM", "GRU", "RNN")


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where the OS does not count them)."""
    try:
        import resource  # Unix only
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def step_time(module, x, device) -> tuple[float, int]:
    """Seconds for one forward and backward pass, and the page faults it took.

    The faults are minor ones (memory the allocator handed back to the OS and took again):
    on a VM each costs microseconds, and which side pays them decides much of a ratio.
    """
    module.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    faults = minor_faults()
    start = time.perf_counter()
    output, _ = module(x)
    output.sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, minor_faults() - faults


def compare(
    kind: str, num_layers: int, device: torch.device, rounds: int, shape=SHAPE, warmup=2
) -> dict:
    seq_len, batch, input_size, hidden_size = shape
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(input_size, hidden_size, num_layers).to(device)
    ours = getattr(lstm_ref.nn, kind)(input_size, hidden_size, num_layers).to(device)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(seq_len, batch, input_size, device=device)
    for _ in range(warmup):
        step_time(theirs, x, device), step_time(ours, x, device)
    times, faults = {"torch": [], "ours": []}, {"torch": [], "ours": []}
    for r in range(rounds):
        order = [("torch", theirs), ("ours", ours)][:: 1 if r % 2 == 0 else -1]
        for name, module in order:
            seconds, taken = step_time(module, x, device)
            times[name].append(seconds)
            faults[name].append(taken)
    ratios = [a / b for a, b in zip(times["ours"], times["torch"])]
    return {
        "device": device.type,
        "kind": kind,
        "layers": num_layers,
        "torch_ms": 1e3 * statistics.median(times["torch"]),
        "ours_ms": 1e3 * statistics.median(times["ours"]),
        "ratio": statistics.median(ratios),
        "ratio_spread": (min(ratios), max(ratios)),
        "faults": (statistics.median(faults["torch"]), statistics.median(faults["ours"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    threads = "CPU thread counts to run with (default: torch's)"
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[torch.get_num_threads()], help=threads
    )
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    shape = "sequence length, batch, input and hidden size (default: %(default)s)"
    parser.add_argument(
        "--shape", type=int, nargs=4, default=SHAPE, metavar=("L", "N", "I", "H"), help=shape
    )
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        print("(no CUDA device: CPU only)")
        devices.remove("cuda")
    L, N, I, H = args.shape
    print(f"torch {torch.__version__}; L={L} N={N} I={I} H={H}, float32, "
          f"forward+backward, {args.rounds} rounds; target {TARGET}× on CPU")  # fmt: skip
    print("| device | threads | kind | layers | torch.nn (ms) | lstm_ref (ms) | ratio (min–max) "
          "| page faults per pass (torch / ours) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for device in devices:
        if device == "cuda":
            print(f"<!-- {torch.cuda.get_device_name()} -->")
        for threads in args.threads if device == "cpu" else [torch.get_num_threads()]:
            torch.set_num_threads(threads)
            for kind in args.kinds:
                for num_layers in (1, 2):
                    r = compare(kind, num_layers, torch.device(device), args.rounds, args.shape)
                    low, high = r["ratio_spread"]
                    theirs_faults, ours_faults = r["faults"]
                    print(f"| {device} | {threads} | {kind} | {num_layers} | {r['torch_ms']:.1f} "
                          f"| {r['ours_ms']:.1f} | {r['ratio']:.2f}× ({low:.2f}–{high:.2f}) "
                          f"| {theirs_faults:.0f} / {ours_faults:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
