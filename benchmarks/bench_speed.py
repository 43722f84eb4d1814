"""tokenfab against GenZ and llm-analysis on one case, in one run, each pinned to one core.

    pip install -e ".[bench]"
    python benchmarks/bench_speed.py                       # this checkout vs the peers
    python benchmarks/bench_speed.py --baseline OTHER/bin/python   # also an older tokenfab, side by side
    python benchmarks/bench_speed.py --quick               # scalar calls and start-up only (a few minutes)

The case: Llama-2-70B, bf16, tensor-parallel over 8 H100 SXM, one decode step (batch 8, 2048
tokens of context) for the scalar call and the predicted step time; grids of batch x context for
the scenarios/s rows. Every measurement runs in its own process under ``taskset -c CPU`` with
BLAS/OpenMP threads at 1, and prints JSON back. A scalar call's time is the median of the CPU
times of many single calls (tokenfab and the peers alike: a new question each call is timed as
it comes, not by its luckiest call); a grid's time is the best of a few repeats. Peers that
are far too slow to run 1e6 scenarios are timed on a sample of the grid and their rate is that
sample's (stated in the table). Start-up figures are medians of 20 interleaved runs of each
process (``--runs``). The machine may be shared and noisy: read the ratios, which are measured
side by side, not the absolute figures.

Targets (issue 11): array path >= 10 M scenarios/s per core at 1e6 (totals and bound); scalar
calls faster than llm-analysis's ``inference()``; ``import tokenfab`` <= 30 ms over ``import
numpy``; a ``tokenfab estimate`` process <= 1.5x a bare numpy import process; 1e7-scenario sweep
peak RSS < 1 GB. This script prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

CASE = dict(batch=8, context=2048)
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
# Large grids in one decode_step call are refused past TOKENFAB_MAX_SCENARIOS (tokenfab.bounds).
THREADS["TOKENFAB_MAX_SCENARIOS"] = "20000000"

TOKENFAB = textwrap.dedent(
    """
    import json, statistics, sys, time
    import numpy as np
    import tokenfab
    MODEL, BACKEND, OPTS = "llama-2-70b", "nvidia:h100-sxm", dict(devices=8)

    def cpu_times(fn, repeat):  # CPU time of this process per call: robust when the machine is shared
        times = []
        for _ in range(repeat):
            start = time.process_time(); fn(); times.append(time.process_time() - start)
        return times

    def best(fn, repeat):  # grids: the best of a few repeats
        return min(cpu_times(fn, repeat))

    def median(fn, repeat):  # scalar calls: the median of single calls
        return statistics.median(cpu_times(fn, repeat))

    def grid(n):  # batch 1..256 x contexts up to 4000 (Llama-2-70B holds 4096 tokens)
        nb = int(round(n ** 0.5)); nc = n // nb
        return np.arange(1, nb + 1, dtype=float)[:, None] % 256 + 1, np.linspace(128, 4000, nc).round()[None, :]

    try:  # totals and bound only, when this tokenfab has the fused path
        tokenfab.decode_step(MODEL, BACKEND, batch=8, context=2048, breakdown=False, **OPTS)
        FAST = dict(breakdown=False)
    except TypeError:
        FAST = {}

    out = {}
    step = tokenfab.decode_step(MODEL, BACKEND, batch=8, context=2048, **OPTS)
    out["step_ms"] = float(step.seconds) * 1e3
    out["decode_us"] = median(lambda: tokenfab.decode_step(MODEL, BACKEND, batch=8, context=2048, **OPTS), 500) * 1e6
    if FAST:
        out["decode_fast_us"] = median(
            lambda: tokenfab.decode_step(MODEL, BACKEND, batch=8, context=2048, **FAST, **OPTS), 500) * 1e6
    out["prefill_us"] = median(lambda: tokenfab.prefill(MODEL, BACKEND, batch=1, tokens=2048, **OPTS), 500) * 1e6
    out["estimate_us"] = median(
        lambda: tokenfab.estimate(MODEL, BACKEND, batch=8, input_tokens=2048, output_tokens=256, **OPTS), 200) * 1e6
    fresh = iter(range(1, 10**6))  # a new question every call: nothing is answered from a cache
    out["estimate_new_us"] = median(lambda: tokenfab.estimate(
        MODEL, BACKEND, batch=8, input_tokens=1024 + next(fresh), output_tokens=256, **OPTS), 100) * 1e6
    out["estimate_tp_us"] = median(lambda: tokenfab.estimate(
        MODEL, BACKEND, batch=8, input_tokens=1024 + next(fresh), output_tokens=256, tp=8, **OPTS), 200) * 1e6
    out["decode_new_us"] = median(lambda: tokenfab.decode_step(
        MODEL, BACKEND, batch=8, context=next(fresh) % 4000, **OPTS), 500) * 1e6
    out["prefill_new_us"] = median(lambda: tokenfab.prefill(
        MODEL, BACKEND, batch=1, tokens=1 + next(fresh) % 4000, **OPTS), 500) * 1e6
    for n in (10**3,) if "quick" in sys.argv else (10**3, 10**5, 10**6):
        b, c = grid(n)
        def run():
            s = tokenfab.decode_step(MODEL, BACKEND, batch=b, context=c, check_fit=False, **FAST, **OPTS)
            return s.seconds, s.bound
        t = best(run, 3 if n >= 10**6 else 7)
        out[f"rate_{n}"] = b.size * c.size / t
    out["array_path"] = "breakdown=False" if FAST else "with breakdown"
    print(json.dumps(out))
    """
)

# The timing every peer script ends with: ``call(batch, context)`` and ``out`` are defined above it;
# the median of REPEATS single calls at batch 8 / context 2048 (as tokenfab's scalar calls), then
# calls over varied scenarios for 3 s.
PEER_TIMING = textwrap.dedent(
    """
    import statistics
    times = []
    for _ in range(REPEATS):
        start = time.process_time(); call(8, 2048); times.append(time.process_time() - start)
    out["decode_us"] = statistics.median(times) * 1e6
    n, start = 0, time.process_time()
    while time.process_time() - start < 3.0:
        call(1 + n % 256, 128 + (n * 37) % 3872); n += 1
    out["rate"] = n / (time.process_time() - start); out["rate_sample"] = n
    print(json.dumps(out))
    """
)

LLM_ANALYSIS = (
    textwrap.dedent(
        """
    import json, logging, time
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis import config as C
    logging.disable(logging.CRITICAL)
    # llm-analysis ships this Llama-2-70B config (its ffn_embed_dim must divide by hidden_dim, so it
    # cannot take the real 28672); used as shipped.
    model = C.model_configs["upstage_Llama-2-70b-instruct-v2"]
    a = LLMAnalysis(model, C.get_gpu_config_by_name("h100-sxm-80gb"), C.get_dtype_config_by_name("w16a16e16"),
                    C.ParallelismConfig(tp_size=8))
    call = lambda b, c: a.inference(batch_size_per_gpu=b, seq_len=c, num_tokens_to_generate=1)
    out = {"step_ms": call(8, 2048)["decode_latency"] * 1e3}
    REPEATS = 200
    """
    )
    + PEER_TIMING
)

GENZ = (
    textwrap.dedent(
        """
    import json, time, warnings
    warnings.filterwarnings("ignore")
    from GenZ import decode_moddeling
    call = lambda b, c: decode_moddeling(model="meta-llama/llama-2-70b", batch_size=b, input_tokens=c, output_tokens=0,
                                         Bb=1, system_name="H100_GPU", tensor_parallel=8)
    out = {"step_ms": float(call(8, 2048)["Latency"])}
    REPEATS = 5
    """
    )
    + PEER_TIMING
)

SWEEP_RSS = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    import tokenfab
    n, path = int(float(sys.argv[1])), sys.argv[2]
    nb = 1000; nc = n // nb
    batch, context = np.arange(1, nb + 1)[:, None] % 256 + 1, np.linspace(128, 4000, nc).round()[None, :]
    start = time.process_time()
    try:
        tokenfab.sweep("llama-2-70b", "nvidia:h100-sxm", batch=batch, context=context, devices=8, out=path,
                       progress=False)
        mode = "streamed to " + path.rsplit(".", 1)[-1]
    except TypeError:  # a tokenfab without streaming sweeps: everything in memory
        tokenfab.sweep("llama-2-70b", "nvidia:h100-sxm", batch=batch, context=context, devices=8)
        mode = "in memory"
    elapsed = time.process_time() - start
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": elapsed,
                      "scenarios": nb * nc, "mode": mode}))
    """
)


# A process that imports tokenfab and answers one decode step (plugins discovered, plan built).
FIRST_CALL = "import tokenfab; tokenfab.decode_step('llama-2-70b', 'nvidia:h100-sxm', batch=8, context=2048, devices=8)"


def pinned(cmd: list[str], cpu: int) -> list[str]:
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") else []) + cmd


def run_json(python: str, code: str, cpu: int, *args: str, timeout: float = 900) -> dict | str:
    env = {**os.environ, **THREADS}
    proc = subprocess.run(
        pinned([python, "-c", code, *args], cpu), capture_output=True, text=True, env=env, timeout=timeout
    )
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wall(cmd: list[str], cpu: int, repeat: int = 7) -> float:
    """Least CPU time (user + system, seconds) of ``repeat`` runs of ``cmd``: unlike wall time it
    does not count the time other processes on a shared machine hold the core."""
    env = {**os.environ, **THREADS}
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(pinned(cmd, cpu), capture_output=True, env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times)


def startup(python: str, cpu: int, runs: int = 20) -> dict[str, float]:
    """Median CPU ms of ``runs`` interleaved runs of: a bare ``import numpy`` process, ``import
    numpy, tokenfab``, the first decode_step, and a ``tokenfab estimate`` process (interleaved, so
    that a noisy neighbour slows all of them alike). The package's bytecode is compiled first, as a
    pip install does: where PYTHONDONTWRITEBYTECODE is set, an uncompiled checkout would otherwise
    recompile every module in every process and the figures would measure the compiler. The
    same holds for the methods attrs generates, which tokenfab caches beside its bytecode."""
    env = {**os.environ, **THREADS}
    where = subprocess.run(
        [
            python,
            "-c",
            "import os, tokenfab, tokenfab.plugins as p; print(os.path.dirname(tokenfab.__file__));"
            "print(os.path.dirname(p.__file__))",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    subprocess.run([python, "-m", "compileall", "-q", *dict.fromkeys(where)], capture_output=True, env=env)
    # attrs' generated methods too, where this tokenfab caches them (tokenfab._attrs_cache)
    warm = "from tokenfab._attrs_cache import warm; warm()"
    subprocess.run([python, "-c", warm], capture_output=True, env=env)
    commands = {
        "numpy_proc_ms": [python, "-c", "import numpy"],
        "import_proc_ms": [python, "-c", "import numpy, tokenfab"],
        "first_call_proc_ms": [python, "-c", FIRST_CALL],
        "cli_ms": cli(python),
    }
    times: dict[str, list[float]] = {key: [] for key in commands}
    for _ in range(runs):
        for key, cmd in commands.items():
            times[key].append(wall(cmd, cpu, repeat=1) * 1e3)
    out = {key: statistics.median(values) for key, values in times.items()}
    out["import_ms"] = out["import_proc_ms"] - out["numpy_proc_ms"]
    out["first_call_ms"] = out["first_call_proc_ms"] - out["numpy_proc_ms"]
    return out


def cli(python: str) -> list[str]:
    exe = os.path.join(os.path.dirname(python), "tokenfab")
    args = "estimate --model llama-2-70b --backend nvidia:h100-sxm --devices 8 --batch 8 --input 2048 --output 256"
    return [exe, *args.split()]


#: What a ratio line compares beyond its name.
SCALAR_NOTES = {
    "estimate_new_us": " (tokenfab also searches every fitting tp/pp/ep/dp mapping and serves each; llm-analysis is "
    "given tp: the like-for-like row is estimate_tp)",
    "estimate_tp_us": " (like for like: tp given to both)",
}


def fmt(value) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "n/a"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", type=int, default=0, help="core to pin every measurement to (default 0)")
    parser.add_argument("--baseline", help="python of another tokenfab install, measured side by side")
    parser.add_argument("--sweep", default="1e7", help="scenarios of the peak-RSS sweep (default 1e7)")
    parser.add_argument("--baseline-sweep", default="1e6", help="same for the baseline (default 1e6)")
    parser.add_argument("--no-peers", action="store_true", help="skip GenZ and llm-analysis")
    parser.add_argument("--runs", type=int, default=20, help="start-up processes: median of this many (default 20)")
    parser.add_argument(
        "--quick", action="store_true", help="scalar calls, start-up and the 1e3 grid only; llm-analysis the only peer"
    )
    args = parser.parse_args()
    tools = {"tokenfab": sys.executable}
    if args.baseline:
        tools["baseline"] = args.baseline
    res: dict[str, dict] = {}
    for name, python in tools.items():
        got = run_json(python, TOKENFAB, args.cpu, *(["quick"] if args.quick else []))
        res[name] = got if isinstance(got, dict) else {"error": got}
        res[name].update(startup(python, args.cpu, args.runs))
        if args.quick:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            n = args.sweep if name == "tokenfab" else args.baseline_sweep
            got = run_json(python, SWEEP_RSS, args.cpu, n, os.path.join(tmp, "sweep.parquet"))
            res[name]["sweep"] = got if isinstance(got, dict) else {"mode": got}
    if not args.no_peers:
        peers = (("llm-analysis", LLM_ANALYSIS, "llm_analysis.analysis"), ("GenZ", GENZ, "GenZ"))
        for name, code, mod in peers[:1] if args.quick else peers:
            got = run_json(sys.executable, code, args.cpu)
            res[name] = got if isinstance(got, dict) else {"error": got}
            if isinstance(got, dict):
                numpy_s = wall([sys.executable, "-c", "import numpy"], args.cpu, repeat=3)
                res[name]["import_ms"] = (
                    wall([sys.executable, "-c", f"import numpy, {mod}"], args.cpu, repeat=3) - numpy_s
                ) * 1e3
    report(res)


def report(res: dict[str, dict]) -> None:
    names = list(res)
    tf = res["tokenfab"]
    la = res.get("llm-analysis", {})
    rows = [("predicted decode step, ms (batch 8, ctx 2048)", "step_ms")]
    rows += [(f"scenarios/s at {n:.0e}", f"rate_{n}") for n in (10**3, 10**5, 10**6)]
    rows += [
        ("scalar decode_step, us", "decode_us"),
        ("scalar decode_step breakdown=False, us", "decode_fast_us"),
        ("scalar prefill (2048 tokens), us", "prefill_us"),
        ("scalar decode_step, new context each call, us", "decode_new_us"),
        ("scalar prefill, new prompt length each call, us", "prefill_new_us"),
        ("scalar estimate, repeated question, us", "estimate_us"),
        ("scalar estimate, new question (search), us", "estimate_new_us"),
        ("scalar estimate, new question, tp=8 given, us", "estimate_tp_us"),
        ("import over numpy, CPU ms (median)", "import_ms"),
        ("import + first decode_step over numpy, CPU ms", "first_call_ms"),
        ("CLI estimate process, CPU ms (median)", "cli_ms"),
        ("bare `import numpy` process, CPU ms (median)", "numpy_proc_ms"),
    ]
    width = 46
    print(f"{'':{width}}" + "".join(f"{n:>16}" for n in names))
    for label, key in rows:
        cells = []
        for n in names:
            r = res[n]
            value = r.get(key, r.get("rate") if key.startswith("rate_") else None)
            cells.append(fmt(value))
        print(f"{label:{width}}" + "".join(f"{c:>16}" for c in cells))
    print(
        "  times are CPU time (process_time, or user+sys of child processes); a scalar call's time is the MEDIAN of "
        "single calls (tokenfab and peers alike), a grid's the best of a few repeats"
    )
    for n in names:
        if "array_path" in res[n]:
            print(f"  {n}: array path measured {res[n]['array_path']}")
        if "rate_sample" in res[n]:
            print(f"  {n}: scenarios/s from a sample of {res[n]['rate_sample']} scenarios of the grid, one call each")
        if "error" in res[n]:
            print(f"  {n}: failed: {res[n]['error']}")
        if "sweep" in res[n]:
            s = res[n]["sweep"]
            if "rss_mb" in s:
                print(
                    f"  {n}: sweep of {s['scenarios']:.0e} scenarios ({s['mode']}): peak RSS {s['rss_mb']:,.0f} MB, "
                    f"{s['seconds']:.1f} s"
                )
            else:
                print(f"  {n}: sweep failed: {s.get('mode')}")
    print("ratios")
    if "rate_1000000" in tf and la.get("rate"):
        print(f"  tokenfab / llm-analysis scenarios/s at 1e6: {tf['rate_1000000'] / la['rate']:,.0f}x")
    if "GenZ" in res and res["GenZ"].get("rate") and "rate_1000000" in tf:
        print(f"  tokenfab / GenZ scenarios/s at 1e6: {tf['rate_1000000'] / res['GenZ']['rate']:,.0f}x")
    if la.get("decode_us") and tf.get("decode_us"):
        print(
            f"  llm-analysis inference() / tokenfab scalar decode_step time: {la['decode_us'] / tf['decode_us']:.1f}x"
        )
        scalar = ("decode_fast_us", "decode_new_us", "prefill_us", "prefill_new_us", "estimate_us", "estimate_new_us")
        scalar += ("estimate_tp_us",)
        for key in scalar:
            if key in tf:
                ratio, note = la["decode_us"] / tf[key], SCALAR_NOTES.get(key, "")
                print(f"  llm-analysis inference() / tokenfab scalar {key[:-3]} time: {ratio:.1f}x{note}")
    for n in names:
        r = res[n]
        if r.get("cli_ms") and r.get("numpy_proc_ms"):
            print(
                f"  {n}: `import tokenfab` adds {r['import_ms']:.1f} ms to `import numpy` (target <= 30); a "
                f"`tokenfab estimate` process is {r['cli_ms'] / r['numpy_proc_ms']:.2f}x a bare numpy import process "
                "(target <= 1.5x)"
            )
    if "baseline" in res and "rate_1000000" in res["baseline"] and "rate_1000000" in tf:
        b = res["baseline"]
        print(
            f"  this / baseline scenarios/s at 1e6: {tf['rate_1000000'] / b['rate_1000000']:.1f}x; scalar "
            f"decode_step {b['decode_us'] / tf['decode_us']:.1f}x faster; CLI {b['cli_ms'] / tf['cli_ms']:.2f}x faster"
        )


if __name__ == "__main__":
    main()
