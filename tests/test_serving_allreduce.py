"""The serving tensor-parallel all-reduce at SERVING_ALLREDUCE_FRACTION of nccl-tests' bandwidth."""

import numpy as np
import pytest
import tokenfab
from tokenfab import collectives
from tokenfab.validation.validate import load_points


def test_serving_allreduce_runs_at_073_of_the_nccl_tests_bandwidth():
    # Llama-3.1-70B prefill of 4096 tokens on 8 H200 (tp 8): each of the 160 all-reduces carries
    # 4096 * 8192 * 2 B = 67.1 MB, wire 1.75x = 117.4 MB, NCCL regime:
    # 45 us + 117,440,512 B / (450e9 * 0.89 * 0.73 = 292.4 GB/s) = 446.7 us (was 338.2 us at 400.5 GB/s).
    step = tokenfab.prefill("llama-3.1-70b", "nvidia:h200", tokens=4096, devices=8, tp=8, weights="fp8")
    wire = 1.75 * 4096 * 8192 * 2
    per_call = 45e-6 + wire / (450e9 * 0.89 * 0.73)
    assert step.op("attn_allreduce").comm_s == pytest.approx(80 * per_call, rel=1e-9)
    assert step.op("attn_allreduce").comm_s > 1.3 * 80 * (45e-6 + wire / (450e9 * 0.89))


def test_fraction_scales_bandwidth_not_latency_and_stays_continuous():
    link = tokenfab.get_backend("nvidia:b200").interconnect.scale_up
    grid = np.linspace(1e3, 3e8, 500)
    lat_full, bw_full = collectives.allreduce_regime(link, 4, grid, fraction=1.0)
    lat, bw = collectives.allreduce_regime(link, 4, grid)
    large = grid > 1e8  # NCCL regime in both: same latency, bandwidth times 0.73
    assert np.allclose(lat[large], lat_full[large])
    assert np.allclose(bw[large], 0.73 * bw_full[large])
    assert np.all(np.diff(lat + grid / bw) > 0)


def test_calibration_rows_of_the_fraction_are_marked_and_kept_out_of_the_check_set():
    marked = [p for p in load_points() if str(p.get("calibrates", "")).startswith("SERVING_ALLREDUCE_FRACTION")]
    assert len(marked) == 27
    assert {p["role"] for p in marked} == {"calibration"}
    assert {(p["backend"], p["model"]) for p in marked} == {("nvidia:h200", "llama-3.1-70b")}
    assert sorted({p["conditions"]["mapping"]["tp"] for p in marked}) == [2, 4, 8]


def test_clear_caches_lets_a_changed_fraction_through(monkeypatch):
    # The plan, builder and search caches hold values derived with the fraction in force; a fit
    # that changes it (benchmarks/fit_allreduce_fraction.py) must see the new value after
    # clear_caches, and the cached (old) answer before it.
    from tokenfab import fastpath

    def tpot():
        args = dict(batch=64, input_tokens=1024, output_tokens=256, devices=8)
        return tokenfab.estimate("llama-3.1-70b", "nvidia:h200", **args).tpot_s

    before = tpot()
    monkeypatch.setattr(collectives, "SERVING_ALLREDUCE_FRACTION", 0.3)
    assert tpot() == before  # cached: derived with 0.73
    fastpath.clear_caches()
    slower = tpot()
    assert slower > before * 1.02  # a slower all-reduce at tp 8 shows in every decode step
    monkeypatch.setattr(collectives, "SERVING_ALLREDUCE_FRACTION", 0.73)
    fastpath.clear_caches()
    assert tpot() == before
