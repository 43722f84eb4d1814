"""Fit the per-tile fixed time of a Hopper GEMM from DeepGEMM's published H800 FP8 table.

    python benchmarks/fit_gemm_k.py [benchmarks/results/deepgemm-h800-readme-2025-03-25.json]

A persistent GEMM kernel gives each SM a run of output tiles of ``bm x bn``; one tile costs its K
loop plus a fixed time that the K loop does not amortise (the pipeline fill before the first MMA,
the epilogue that converts and stores the tile)::

    tile_s    = 2 bm bn K / r_sm + t_fix
    seconds   = waves * tile_s,   waves = ceil(tiles / SMs),  tiles = ceil(M/bm) ceil(N/bn) groups
    TFLOPS    = 2 M N K groups / seconds

so at fixed tile the rate is ``K / (K + h)`` of the K loop's, ``h = t_fix r_sm / (2 bm bn)``
(tokenfab's ``Efficiency.gemm_half_k``). The tile and the waves are DeepGEMM's own: its launcher
takes ``bm`` = 128 rows (64 at M <= 64; the contiguous-layout alignment for grouped GEMMs) and the
``bn`` from 16..128 in steps of 8, 144 or 160 that needs the fewest waves over the SMs, then fills
the last wave best, then is narrowest (``get_best_configs``, deep_gemm/jit_kernels/gemm.py at the
README's commit; re-expressed here). Dividing the waves out leaves two unknowns, ``r_sm`` and
``t_fix``, fitted by least squares on the relative time over the six dense GEMMs at M = 4096 (K 512
to 16384; the M = 64/128 rows are memory-bound). CHECK points, never fitted: the four grouped
(contiguous-layout) GEMMs of the same README, K = 2048 and 7168.
"""

from __future__ import annotations

import json
import math
import pathlib
import sys

import numpy as np

MEASUREMENT = pathlib.Path(__file__).parent / "results" / "deepgemm-h800-readme-2025-03-25.json"
#: Rows of the dense table used for the fit: compute-bound ones (M = 4096).
FIT_ROWS = 4096
_BLOCK_N = tuple(range(16, 129, 8)) + (144, 160)


def load(path: pathlib.Path | str = MEASUREMENT) -> dict:
    with open(path) as handle:
        return json.load(handle)


def tile_config(m: int, n: int, groups: int, sms: int, grouped: bool = False) -> tuple[int, int, int]:
    """(bm, bn, waves) DeepGEMM picks: fewest waves, then the fullest last wave, then the narrowest bn."""
    bm = 128 if grouped or m > 64 else 64

    def score(bn: int) -> tuple[int, int, int]:
        tiles = math.ceil(m / bm) * math.ceil(n / bn) * groups
        waves = math.ceil(tiles / sms)
        last = tiles % sms or sms
        return waves, -last, bn

    bn = min(_BLOCK_N, key=score)
    return bm, bn, score(bn)[0]


def _rows(data: dict, table: str) -> list[dict]:
    rows = [dict(r, groups=r.get("groups", 1)) for r in data[table]]
    return [r for r in rows if table != "normal" or r["m"] == FIT_ROWS]


def _design(data: dict, table: str) -> tuple[np.ndarray, np.ndarray]:
    """Per row: (K-loop work per SM-tile 2 bm bn K, 1) and the time per wave, seconds."""
    sms = data["multiprocessors"]
    x, y = [], []
    for r in _rows(data, table):
        bm, bn, waves = tile_config(r["m"], r["n"], r["groups"], sms, grouped=table != "normal")
        seconds = 2.0 * r["m"] * r["n"] * r["k"] * r["groups"] / (r["tflops"] * 1e12)
        x.append((2.0 * bm * bn * r["k"], 1.0))
        y.append(seconds / waves)
    return np.array(x), np.array(y)


def fit(data: dict) -> dict:
    """``r_sm`` (FLOP/s per SM), ``t_fix`` (s per tile), the rms log error of the fit rows, and the
    predicted / published ratios of the fit and check rows."""
    x, y = _design(data, "normal")
    (inv_rate, t_fix), *_ = np.linalg.lstsq(x / y[:, None], np.ones_like(y), rcond=None)
    coef = np.array([inv_rate, t_fix])
    fitted = (x @ coef) / y
    cx, cy = _design(data, "grouped_contiguous")
    return {
        "r_sm_flops_per_s": float(1.0 / inv_rate),
        "t_fix_s": float(t_fix),
        "rms_log_error": float(np.sqrt(np.mean(np.log(fitted) ** 2))),
        "fit_time_ratios": fitted.tolist(),
        "check_time_ratios": ((cx @ coef) / cy).tolist(),
    }


if __name__ == "__main__":
    print(json.dumps(fit(load(sys.argv[1] if len(sys.argv) > 1 else MEASUREMENT)), indent=2))
