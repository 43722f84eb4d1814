"""GEMM contraction length: a per-tile fixed time amortised over the K loop (docs/modelling.md,
"GEMM contraction length"), fitted on DeepGEMM's H800 table and checked on its grouped GEMMs."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
from tokenfab import Efficiency
from tokenfab.cost.engine import device_rows, gemm_k_factors, make_plan
from tokenfab.errors import ValidationError
from tokenfab.fastpath import reference_totals, step_totals
from tokenfab.kernel import native_available
from tokenfab.lowering import GEMM_K_MIN, harmonic_k
from tokenfab.plugins.nvidia import devices

_SCRIPT = pathlib.Path(__file__).parents[1] / "benchmarks" / "fit_gemm_k.py"
_spec = importlib.util.spec_from_file_location("fit_gemm_k", _SCRIPT)
fitmod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fitmod)


@pytest.fixture(scope="module")
def fitted():
    return fitmod.fit(fitmod.load())


def test_shipped_tile_time_equals_the_fit(fitted):
    # six dense M = 4096 GEMMs, K 512..16384: 1.684 us per tile at 10.85 TFLOP/s per SM
    assert devices._GEMM_TILE_FIXED_S == pytest.approx(round(fitted["t_fix_s"], 8), abs=1e-12)
    assert fitted["r_sm_flops_per_s"] * 132 == pytest.approx(1432e12, rel=0.01)
    assert fitted["rms_log_error"] < 0.1


def test_grouped_gemms_not_fitted_are_predicted_within_five_percent(fitted):
    # CHECK points (never fitted): 4 x 8192 and 8 x 4096 rows, (N, K) = (4096, 7168) and (7168, 2048)
    ratios = np.array(fitted["check_time_ratios"])
    assert len(ratios) == 4
    assert np.all((ratios > 0.95) & (ratios < 1.05))


def test_tile_config_follows_the_fewest_waves():
    # M 4096, N 2112 over 132 SMs: bn 144 gives 32 x 15 = 480 tiles = 4 waves (bn 128: 544 tiles, 5 waves)
    assert fitmod.tile_config(4096, 2112, 1, 132) == (128, 144, 4)
    assert fitmod.tile_config(64, 4096, 1, 132)[0] == 64


def test_k_factor_worked_example():
    eff = Efficiency(gemm_half_k={"fp8": 400.0}, gemm_k_ref=4096.0)
    # (1024 / 1424) x (4496 / 4096) = 0.71910 x 1.09766 = 0.78933
    assert eff.gemm_k_factor("fp8", 1024.0) == pytest.approx(0.789326, rel=1e-5)
    assert eff.gemm_k_factor("fp8", 4096.0) == pytest.approx(1.0, rel=1e-12)
    assert eff.gemm_k_factor("fp8", 28672.0) == 1.0  # capped: gemm_max was measured there
    assert eff.gemm_k_factor("bf16", 1024.0) == 1.0  # no entry, no K term
    assert eff.gemm_k_factor("fp8", 0.0) == 1.0


@pytest.mark.parametrize("bad", [{"fp8": -1.0}, {"fp9": 100.0}])
def test_k_half_is_validated(bad):
    with pytest.raises(ValidationError, match="gemm_half_k"):
        Efficiency(gemm_half_k=bad)


def test_harmonic_k_of_an_expert():
    # Qwen3-30B-A3B expert: FC1 d 2048 (2/3 of the FLOPs), FC2 f 768 (1/3):
    # 1 / (0.6667 / 2048 + 0.3333 / 768) = 1 / (3.2552e-4 + 4.3403e-4) = 1316.57
    assert harmonic_k((2 / 3, 2048.0), (1 / 3, 768.0)) == pytest.approx(1316.57, rel=1e-5)
    # below the calibrated range a GEMM is costed at K = 512, not extrapolated
    assert harmonic_k((1.0, 192.0)) == GEMM_K_MIN == 512.0


def _plan(model, backend, **kw):
    return make_plan(model, backend, batch=64, kv_tokens=4096, step_tokens=2048, **kw)


def test_measured_h200_shapes_keep_their_rate():
    # every GEMM of Llama-3.1-8B/70B at tp 1 has K >= 4096: the measured rows curve is unchanged
    for model in ("llama-3.1-8b", "llama-3.1-70b"):
        plan = _plan(model, "nvidia:h200", devices=1, weights="fp8")
        assert np.all(gemm_k_factors(plan) == 1.0)


def test_blackwell_expert_gemm_rate_and_energy():
    plan = _plan("qwen3-30b-a3b", "nvidia:b200", devices=1, weights="nvfp4", activations="nvfp4", kv="fp8")
    i = [op.name for op in plan.ops].index("moe_experts")
    # K 1316.57, h = 1184.7 (fp4), k_ref 16384: (1316.57 / 2501.27) x (17568.7 / 16384) = 0.56443
    factor = (1316.57 / (1316.57 + 1184.7)) * ((16384 + 1184.7) / 16384)
    rows = device_rows(plan)
    assert rows["rate"][i] == pytest.approx(9000e12 * 0.76 * factor, rel=1e-5)
    # J per FLOP is the tensor cores' (TDP - idle) / achievable rate, before the K factor
    assert rows["jflop"][i] == pytest.approx((1000 - 110) / (9000e12 * 0.76), rel=1e-12)


@pytest.mark.skipif(not native_available(), reason="native kernel not built")
def test_fused_totals_equal_the_engine_with_k_factors():
    plan = _plan("qwen3-30b-a3b", "nvidia:b200", devices=1, weights="nvfp4", activations="nvfp4", kv="fp8")
    assert gemm_k_factors(plan).min() < 0.6  # the expert GEMMs are short-K here
    B, T, C = np.array([1.0, 4.0, 64.0]), np.array([2048.0, 500.0, 1.0]), np.array([0.0, 1000.0, 3000.0])
    fused, ref = step_totals(plan, "prefill", B, T, C), reference_totals(plan, "prefill", B, T, C)
    np.testing.assert_allclose(fused.seconds, ref.seconds, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fused.joules, ref.joules, rtol=1e-12, atol=0)
