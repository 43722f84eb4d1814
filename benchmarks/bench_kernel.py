"""Native kernel vs numpy reference, measured side by side in one run.

    python benchmarks/bench_kernel.py

Prints the time per call and the ratio for a few problem sizes, plus the end-to-end cost of a
decode_step sweep (scenarios per second). Ratios, not absolute times, are the target: the
machines are shared and noisy.
"""

from __future__ import annotations

import time

import numpy as np
import tokenfab
from tokenfab.kernel import KernelInputs, native_evaluate, reference_evaluate


def make(S: int, O: int, L: int, seed: int = 0) -> KernelInputs:
    rng = np.random.default_rng(seed)
    so = lambda lo, hi: rng.uniform(lo, hi, (S, O))  # noqa: E731
    return KernelInputs(
        flops=so(0, 1e13),
        flop_rate=so(1e14, 1e15),
        gemm_rows=so(1, 4096),
        gemm_half_rows=np.full((S, O), 64.0),
        comm_bytes=so(0, 1e7),
        comm_bytes_per_s=np.full((S, O), 4.5e11),
        comm_latency_s=np.full((S, O), 6e-6),
        overhead_s=np.full((S, O), 3e-6),
        joules_per_flop=np.full((S, O), 1e-12),
        bandwidth_scale=np.ones((S, O)),
        level_bytes=rng.uniform(0, 1e9, (S, O, L)),
        level_bytes_per_s=np.full((S, L), 3e12),
        joules_per_byte=np.full((S, L), 6e-11),
        count=np.full(O, 80.0),
        joules_per_comm_byte=np.full(S, 1e-11),
        idle_w=np.full(S, 80.0),
        max_w=np.full(S, 700.0),
    )


def best_of(fn, inputs, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(inputs)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'scenarios x ops x levels':>26} {'native ms':>10} {'numpy ms':>10} {'numpy/native':>13}")
    for S, O, L in ((1, 13, 2), (64, 13, 2), (1024, 13, 2), (16384, 13, 2), (4096, 40, 3)):
        inputs = make(S, O, L)
        native, ref = best_of(native_evaluate, inputs), best_of(reference_evaluate, inputs)
        print(f"{f'{S} x {O} x {L}':>26} {native * 1e3:10.3f} {ref * 1e3:10.3f} {ref / native:13.1f}")
    batch = np.arange(1, 257)[:, None]
    context = np.linspace(1024, 16384, 64).round()[None, :]
    start = time.perf_counter()
    step = tokenfab.decode_step("llama-3.1-8b", "nvidia:h200", batch=batch, context=context, devices=1, check_fit=False)
    elapsed = time.perf_counter() - start
    print(
        f"decode_step sweep: {step.seconds.size} scenarios in {elapsed * 1e3:.1f} ms "
        f"({step.seconds.size / elapsed:,.0f} scenarios/s, one kernel call)"
    )


if __name__ == "__main__":
    main()
