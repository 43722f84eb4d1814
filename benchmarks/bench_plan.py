"""How long the planner takes: every built-in backend on a 70B model (target: interactive, seconds).

Run: python benchmarks/bench_plan.py   (prints wall times; no pass/fail)
"""

import time

import tokenfab
from tokenfab.planning import SLO

MODEL, WORKLOAD = "llama-3.3-70b", {"input_tokens": 1000, "output_tokens": 500}


def timed(label, call):
    start = time.perf_counter()
    result = call()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    tokenfab.estimate(MODEL, "nvidia:h100-sxm", batch=1, **WORKLOAD)  # warm the registry and catalog
    backends = tokenfab.backends()
    print(f"{MODEL}, {len(backends)} backends, precisions bf16 and fp8")
    slo = SLO.from_options(ttft="2s", tokens_per_s_per_user=50)
    result = timed("plan (50 tok/s/user)", lambda: tokenfab.plan(MODEL, WORKLOAD, slo=slo))
    print(f"  {len(result.rows)} deployments; best {result.best.backend} at ${result.best.usd_per_mtok:.3g}/Mtok")
    timed(
        "plan (500 tok/s/user)", lambda: tokenfab.plan(MODEL, WORKLOAD, slo=SLO.from_options(tokens_per_s_per_user=500))
    )
    timed(
        "plan under 20 req/s (simulated p99)",
        lambda: tokenfab.plan(MODEL, {**WORKLOAD, "rate": 20.0}, slo=slo, backends="nvidia:h200,amd:mi300x"),
    )
    front = timed("pareto (all backends, fp8)", lambda: tokenfab.pareto(MODEL, WORKLOAD))
    print(f"  {len(front.points)} points, {len(front.rows)} on the fronts")
    sim = timed(
        "simulate 1000 requests at 10 req/s",
        lambda: tokenfab.simulate(
            MODEL,
            tokenfab.Deployment(backend="nvidia:h200", devices=4, weights="fp8"),
            tokenfab.Workload(rate=10.0, batch=256, **WORKLOAD),
        ),
    )
    print(f"  p99 TTFT {sim.percentiles['ttft_s']['99'] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
