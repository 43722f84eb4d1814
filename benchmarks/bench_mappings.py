"""Mapping search cost, as a multiple of one explicit estimate.

    python benchmarks/bench_mappings.py

For a few model/backend pairs, prints the search time, the candidates it looked at, how many
fit (each of those is one full estimate), and the ratio of the search time to one estimate of
the winning deployment. Ratios, not absolute times, are the target: the machines are shared.
"""

from __future__ import annotations

import time

import tokenfab
from tokenfab.planning.mappings import mappings

CASES = [
    ("llama-3.1-70b", "nvidia:h100-sxm", {}),
    ("llama-3.1-70b", "nvidia:h100-sxm", {"devices": 8}),
    ("llama-3.1-70b", "nvidia:gb200-nvl72", {}),
    ("llama-3.1-70b", "groq:lpu", {}),
    ("llama-3.1-405b", "cerebras:wse-3", {}),
    ("deepseek-v3", "nvidia:h200", {"devices": 16}),
]


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    workload = tokenfab.Workload(input_tokens=1000, output_tokens=500, batch=64)
    tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", workload)  # warm caches
    print(f"{'model':16} {'backend':20} {'search ms':>10} {'shapes':>7} {'fit':>4} {'x one estimate':>15}")
    for model, backend, options in CASES:
        search = mappings(model, backend, workload, **options)
        searched = best_of(lambda: mappings(model, backend, workload, **options))  # noqa: B023
        one = best_of(lambda: tokenfab.estimate(model, search.best.deployment, workload))  # noqa: B023
        fitting = sum(c.fits for c in search.candidates)
        print(
            f"{model:16} {backend:20} {searched * 1e3:10.1f} {len(search.candidates):7d} {fitting:4d} "
            f"{searched / one:15.1f}"
        )


if __name__ == "__main__":
    main()
