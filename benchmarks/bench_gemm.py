"""Where oneDNN's GEMM pays: the LSTM's recurrent product on oneDNN and on torch's own GEMM.

    python benchmarks/bench_gemm.py                 # torch's thread count
    python benchmarks/bench_gemm.py --threads 1 2

For the step's product h W_hhᵀ + b (N × H times H × 4H) and its backward d_a W_hh
(N × 4H times 4H × H), at N = 64 and 500 and H from 16 to 256, it times
``torch.ops.mkldnn._linear_pointwise`` (oneDNN) against ``F.linear`` (torch's GEMM), in
alternating order, and reports the median over rounds of each one's per-call time and of the
ratio oneDNN / torch. ``lstm_ref.nn.gemm.ONEDNN_MIN_MACS`` (M·K·P) is set where they tie.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

from lstm_ref.nn import gemm


def per_call(fn, calls: int) -> float:
    """Microseconds per call of fn(), over `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return 1e6 * (time.perf_counter() - start) / calls


def compare(a, W, b, rounds: int, calls: int) -> tuple[float, float, float]:
    """Median µs per call of oneDNN and torch for a Wᵀ + b, and the median ratio."""
    onednn = lambda: torch.ops.mkldnn._linear_pointwise(a, W, b, "none", [], "")  # noqa: E731
    plain = lambda: F.linear(a, W, b)  # noqa: E731
    times = {"oneDNN": [], "torch": []}
    for r in range(rounds):
        order = [("oneDNN", onednn), ("torch", plain)][:: 1 if r % 2 == 0 else -1]
        for name, fn in order:
            times[name].append(per_call(fn, calls))
    ratios = [x / y for x, y in zip(times["oneDNN"], times["torch"])]
    median = statistics.median
    return median(times["oneDNN"]), median(times["torch"]), median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=200)
    threads = "CPU thread counts to run with (default: torch's)"
    default = [torch.get_num_threads()]
    parser.add_argument("--threads", type=int, nargs="+", default=default, help=threads)
    args = parser.parse_args()
    if not gemm._ONEDNN:
        raise SystemExit("this torch is built without oneDNN: nothing to compare")
    print(f"torch {torch.__version__}, float32; {args.rounds} rounds of {args.calls} calls; "
          f"ONEDNN_MIN_MACS = 2^{gemm.ONEDNN_MIN_MACS.bit_length() - 1}")  # fmt: skip
    print("| threads | product | N | H | M·K·P | oneDNN (µs) | torch (µs) | oneDNN / torch |")
    print("|---|---|---|---|---|---|---|---|")
    with torch.no_grad():
        for threads in args.threads:
            torch.set_num_threads(threads)
            for N in (64, 500):
                for H in (16, 32, 64, 128, 256):
                    W, b = torch.randn(4 * H, H), torch.randn(4 * H)
                    cases = {"h W_hhᵀ + b": (torch.randn(N, H), W, b),
                             "d_a W_hh": (torch.randn(N, 4 * H), W.t(), None)}  # fmt: skip
                    for name, (a, w, bias) in cases.items():
                        ours, theirs, ratio = compare(a, w, bias, args.rounds, args.calls)
                        macs = N * 4 * H * H  # shown as the nearest power of two
                        row = (threads, name, N, H, f"2^{round(math.log2(macs))}",
                               f"{ours:.1f}", f"{theirs:.1f}", f"{ratio:.2f}")  # fmt: skip
                        print("| " + " | ".join(map(str, row)) + " |", flush=True)


if __name__ == "__main__":
    main()
