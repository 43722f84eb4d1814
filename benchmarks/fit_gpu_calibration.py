"""Fit the NVIDIA Hopper efficiency constants from a measure_gpu.py file, with tokenfab's own maths.

    python benchmarks/fit_gpu_calibration.py [benchmarks/results/gpu-h200-2026-11-30.json]

Every measured GEMM (M x K @ K x N) and decode-attention call is predicted with the engine's
operator rule (``core/cost/kernel.py``)::

    compute = FLOPs / (peak[dtype] * gemm_max[dtype] * rows / (rows + gemm_half_rows))
    memory  = bytes / (hbm_peak * hbm_efficiency * bandwidth_scale)
    seconds = max(compute, memory) + overhead

with the H200's pack peaks and HBM efficiency, ``overhead`` = the measured CUDA-graph per-kernel
time (the GEMMs are timed back to back, so the GPU-side gap is what separates them), GEMM bytes
= A + B at the input dtype + the bf16 output, attention bytes = K + V. Parameters are fitted by
least squares on ``log(predicted / measured)`` over a grid, ALL shapes and M at once:

* ``gemm_half_rows`` (one value: the pack has one) and ``gemm_max`` for bf16 and fp8 jointly;
* ``attention_memory_fraction`` from the decode-attention calls, at the fitted GEMM constants
  (the engine costs attention compute with the same ``gemm_max``/``gemm_half_rows``).

Rows shorter than ``HOST_FLOOR_S`` are left out: eager launches from Python cannot issue a
matmul faster than ~14-20 us (the smallest shapes all sit on that floor whatever their bytes),
so those times measure the host, not the GPU. The Llama-3.1-8B decode/prefill steps in the file
are never used here: they are the CHECK points (tests/test_gpu_calibration.py).
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

MEASUREMENT = pathlib.Path(__file__).parent / "results" / "gpu-h200-2026-11-30.json"
#: Times below this are host-launch bound (2x the 14-20 us floor every small shape sits on).
HOST_FLOOR_S = 30e-6
#: A time beaten by a larger M of the same shape by more than this is left out (see _outrun).
MONOTONE_SLACK = 0.10
_INPUT_BYTES = {"bf16": 2.0, "fp8": 1.0}
_OUT_BYTES = 2.0  # bf16 output in both cases (torch._scaled_mm out_dtype=bfloat16)
GEMM_MAX_GRID = np.round(np.arange(0.40, 1.0001, 0.01), 2)
HALF_ROWS_GRID = np.arange(0.0, 512.1, 4.0)
FRACTION_GRID = np.round(np.arange(0.50, 1.0001, 0.01), 2)


def load(path: pathlib.Path | str = MEASUREMENT) -> dict:
    with open(path) as handle:
        return json.load(handle)


def _device():
    from tokenfab.plugins.nvidia.devices import H200

    hbm = next(level for level in H200.memory if level.name == "hbm")
    return H200, hbm.bytes_per_s * hbm.efficiency


def gemm_rows(data: dict, dtype: str) -> dict[str, np.ndarray]:
    """The measured GEMMs of ``dtype`` above the host floor, as arrays (m, flops, bytes, seconds)."""
    timed = [r for r in data["gemm"] if r.get("dtype") == dtype and "seconds" in r]
    rows = [r for r in timed if r["seconds"] >= HOST_FLOOR_S and not _outrun(r, timed)]
    m, n, k = (np.array([r[x] for r in rows], dtype=np.float64) for x in ("m", "n", "k"))
    size = _INPUT_BYTES[dtype]
    return {
        "m": m,
        "flops": 2.0 * m * n * k,
        "bytes": size * (m * k + k * n) + _OUT_BYTES * m * n,
        "seconds": np.array([r["seconds"] for r in rows]),
    }


def _outrun(row: dict, timed: list[dict]) -> bool:
    """True when a larger M of the same shape ran more than ``MONOTONE_SLACK`` faster: the work
    grows with M, so such a time is not the GPU's (a host stall or a poor library heuristic)."""
    return any(
        r["k"] == row["k"] and r["n"] == row["n"] and r["m"] > row["m"]
        and r["seconds"] * (1.0 + MONOTONE_SLACK) < row["seconds"]
        for r in timed
    )  # fmt: skip


def predict(flops, rows, nbytes, *, rate, half_rows, bytes_per_s, overhead_s):
    """The kernel's operator time (see module docstring); arrays broadcast."""
    compute = flops * (rows + half_rows) / (rate * rows)
    return np.maximum(compute, nbytes / bytes_per_s) + overhead_s


def _sse(rows, dtype, gemm_max, half_rows, device, bytes_per_s, overhead_s) -> np.ndarray:
    """Sum of squared log-ratios for every (gemm_max, half_rows) pair of the grids: shape (G, H)."""
    rate = device.peak(dtype) * gemm_max[:, None, None]
    pred = predict(
        rows["flops"], rows["m"], rows["bytes"], rate=rate, half_rows=half_rows[None, :, None],
        bytes_per_s=bytes_per_s, overhead_s=overhead_s,
    )  # fmt: skip
    return (np.log(pred / rows["seconds"]) ** 2).sum(axis=-1)


def fit_gemm(data: dict) -> dict:
    """Joint fit: one ``gemm_half_rows``, ``gemm_max`` per precision; with the rms log error."""
    device, bytes_per_s = _device()
    overhead = data["overhead"]["graph_kernel_s"]
    per_dtype = {d: _sse(gemm_rows(data, d), d, GEMM_MAX_GRID, HALF_ROWS_GRID, device, bytes_per_s, overhead)
                 for d in ("bf16", "fp8")}  # fmt: skip
    total = sum(sse.min(axis=0) for sse in per_dtype.values())
    h = int(np.argmin(total))
    out = {"gemm_half_rows": float(HALF_ROWS_GRID[h])}
    count = 0
    for dtype, sse in per_dtype.items():
        out[f"gemm_max_{dtype}"] = float(GEMM_MAX_GRID[int(np.argmin(sse[:, h]))])
        count += len(gemm_rows(data, dtype)["m"])
    out["rms_log_error"] = float(np.sqrt(total[h] / count))
    out["points"] = count
    return out


def attention_rows(data: dict) -> dict[str, np.ndarray]:
    rows = [r for r in data["attention"] if r["phase"] == "decode" and r["seconds"] >= HOST_FLOOR_S]
    get = {x: np.array([r[x] for r in rows], dtype=np.float64) for x in ("batch", "context", "heads", "kv_heads")}
    hd = np.array([r["head_dim"] for r in rows], dtype=np.float64)
    return {
        "rows": get["heads"] / get["kv_heads"],  # the lowering's attention rows: the GQA group per token
        "flops": 4.0 * get["heads"] * hd * get["context"] * get["batch"],
        "bytes": 2.0 * 2.0 * get["kv_heads"] * hd * get["context"] * get["batch"],
        "seconds": np.array([r["seconds"] for r in rows]),
    }


def fit_attention(data: dict, gemm: dict) -> dict:
    """``attention_memory_fraction`` over the decode-attention calls at the fitted GEMM constants."""
    device, bytes_per_s = _device()
    rows = attention_rows(data)
    pred = predict(
        rows["flops"], rows["rows"], rows["bytes"], rate=device.peak("bf16") * gemm["gemm_max_bf16"],
        half_rows=gemm["gemm_half_rows"], bytes_per_s=bytes_per_s * FRACTION_GRID[:, None],
        overhead_s=data["overhead"]["graph_kernel_s"],
    )  # fmt: skip
    sse = (np.log(pred / rows["seconds"]) ** 2).sum(axis=1)
    best = int(np.argmin(sse))
    return {
        "attention_memory_fraction": float(FRACTION_GRID[best]),
        "rms_log_error": float(np.sqrt(sse[best] / len(rows["seconds"]))),
        "points": len(rows["seconds"]),
        "kv_read_bytes_per_s": (rows["bytes"] / rows["seconds"]).tolist(),
    }


def fit(data: dict) -> dict:
    gemm = fit_gemm(data)
    return {"gemm": gemm, "attention": fit_attention(data, gemm)}


if __name__ == "__main__":
    print(json.dumps(fit(load(sys.argv[1] if len(sys.argv) > 1 else MEASUREMENT)), indent=2))
