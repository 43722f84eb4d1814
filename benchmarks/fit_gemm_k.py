"""The GEMM contraction-length term against DeepGEMM's published H800 FP8 GEMMs.

    python benchmarks/fit_gemm_k.py [benchmarks/results/deepgemm-h800-2025.json]

A persistent GEMM kernel gives each SM a run of ``bm x bn`` output tiles. DeepGEMM's epilogue stores a
tile (BF16, ``b`` = 2 bytes per element) after the tile's K loop and waits for the store before the
next tile, every SM at once, so each SM writes at its share ``B / SMs`` of the HBM bandwidth::

    tile_s  = 2 bm bn K / r_sm  +  bm bn b / (B / SMs)  =  2 bm bn (K + h) / r_sm
    h       = b R / (2 B),  R = r_sm SMs                 (tokenfab: Efficiency.gemm_half_k)
    seconds = waves tile_s,  waves = ceil(tiles / SMs),  tiles = ceil(M/bm) ceil(N/bn) groups

so a GEMM of length ``K`` runs at ``K / (K + h)`` of the K loop's rate. ``B`` is the H800 pack's
achievable HBM bandwidth; the store term has no free constant, and the only fitted figure is the K
loop's own rate ``r_sm`` (least squares on the relative time of the six dense README GEMMs at M = 4096,
K 512 to 16384; the M = 64/128 rows are memory-bound). As a test of the form, a free fit of ``h``
beside ``r_sm`` on the same rows must land near the first-principles ``h``. Tiles and waves are
DeepGEMM's own: ``bm`` = 128 (64 at M <= 64; the contiguous-layout alignment for grouped GEMMs) and
the ``bn`` from 16..128 in steps of 8, 144 or 160 that needs the fewest waves over the SMs, then
fills the last wave best, then is narrowest (``get_best_configs`` at the README's commit,
re-expressed here).

CHECK points, never fitted: the README's four grouped (contiguous-layout) GEMMs, and the tile
comparisons of DeepGEMM PRs #74 and #81 (another author, tiles 128x128, 128x160, 256x128), each
column's K = 16384 row giving that column's K-loop rate.
"""

from __future__ import annotations

import json
import math
import pathlib
import sys

import numpy as np

MEASUREMENT = pathlib.Path(__file__).parent / "results" / "deepgemm-h800-2025.json"
#: Rows of the dense README table used for the fit: compute-bound ones (M = 4096).
FIT_ROWS = 4096
#: Bytes per output element the epilogue stores (BF16).
EPILOGUE_BYTES = 2.0
_BLOCK_N = tuple(range(16, 129, 8)) + (144, 160)


def load(path: pathlib.Path | str = MEASUREMENT) -> dict:
    with open(path) as handle:
        return json.load(handle)


def hbm_bytes_per_s() -> float:
    """The H800 pack's achievable HBM bandwidth (bytes/s)."""
    from tokenfab.plugins.nvidia.devices import H800

    return next(level for level in H800.memory if level.name == "hbm").effective_bytes_per_s


def tile_config(m: int, n: int, groups: int, sms: int, grouped: bool = False) -> tuple[int, int, int]:
    """(bm, bn, waves) DeepGEMM picks: fewest waves, then the fullest last wave, then the narrowest bn."""
    bm = 128 if grouped or m > 64 else 64

    def score(bn: int) -> tuple[int, int, int]:
        tiles = math.ceil(m / bm) * math.ceil(n / bn) * groups
        waves = math.ceil(tiles / sms)
        return waves, -(tiles % sms or sms), bn

    bn = min(_BLOCK_N, key=score)
    return bm, bn, score(bn)[0]


def wave_use(m: int, n: int, bm: int, bn: int, sms: int) -> float:
    """Share of the SM slots the tiles fill: tiles / (waves * SMs)."""
    tiles = math.ceil(m / bm) * math.ceil(n / bn)
    return tiles / (math.ceil(tiles / sms) * sms)


def _waves(data: dict, rows: list[dict], grouped: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: 2 bm bn K, 2 bm bn and the published time per wave (seconds)."""
    sms, work, tile, per_wave = data["multiprocessors"], [], [], []
    for r in rows:
        groups = r.get("groups", 1)
        bm, bn, waves = tile_config(r["m"], r["n"], groups, sms, grouped)
        work.append(2.0 * bm * bn * r["k"])
        tile.append(2.0 * bm * bn)
        per_wave.append(2.0 * r["m"] * r["n"] * r["k"] * groups / (r["tflops"] * 1e12) / waves)
    return np.array(work), np.array(tile), np.array(per_wave)


def first_principles_h(r_sm: float, sms: int) -> float:
    """``h = b R / (2 B)`` for a K loop at ``r_sm`` FLOP/s per SM."""
    return EPILOGUE_BYTES * r_sm * sms / (2.0 * hbm_bytes_per_s())


def fit(data: dict) -> dict:
    """``r_sm`` with the first-principles store term; the free fit of ``h``; rate ratios
    (predicted / published TFLOPS) of the fit rows and of every check point."""
    readme, sms = data["readme"], data["multiprocessors"]
    work, tile, y = _waves(data, [r for r in readme["normal"] if r["m"] == FIT_ROWS], grouped=False)
    store = tile / 2.0 * EPILOGUE_BYTES * sms / hbm_bytes_per_s()  # bm bn b / (B / SMs), seconds
    # relative least squares on y = work / r_sm + store: one unknown, 1 / r_sm
    inv = float(np.sum(work * (y - store) / y**2) / np.sum(work**2 / y**2))
    (a, c), *_ = np.linalg.lstsq(np.stack([work, tile], axis=1) / y[:, None], np.ones_like(y), rcond=None)
    h = first_principles_h(1.0 / inv, sms)
    gwork, gtile, gy = _waves(data, readme["grouped_contiguous"], grouped=True)
    return {
        "r_sm_flops_per_s": 1.0 / inv,
        "h_first_principles": h,
        "h_free_fit": float(c / a),
        "fit_rate_ratios": (y / (work * inv + store)).tolist(),
        "rms_log_error": float(np.sqrt(np.mean(np.log((work * inv + store) / y) ** 2))),
        "check_grouped_rate_ratios": (gy / ((gwork + gtile * h) * inv)).tolist(),
        "check_tiles": check_tiles(data, h),
    }


def check_tiles(data: dict, h: float) -> list[dict]:
    """PR #74 / #81 columns: each row predicted from its column's K = 16384 row and ``h``."""
    sms, out = data["multiprocessors"], []
    for col in data["tiles"]["columns"]:
        bm, bn = col["tile"]
        ref = next(r for r in col["rows"] if r["k"] == 16384)
        base = ref["tflops"] / (ref["k"] / (ref["k"] + h) * wave_use(FIT_ROWS, ref["n"], bm, bn, sms))
        for r in col["rows"]:
            if r is not ref:
                predicted = base * r["k"] / (r["k"] + h) * wave_use(FIT_ROWS, r["n"], bm, bn, sms)
                out.append({"column": col["label"], "tile": col["tile"], "k": r["k"], "n": r["n"],
                            "published": r["tflops"], "predicted": predicted})  # fmt: skip
    return out


if __name__ == "__main__":
    print(json.dumps(fit(load(sys.argv[1] if len(sys.argv) > 1 else MEASUREMENT)), indent=2))
