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

_SCRIPT = pathlib.Path(__file__).parents[1] / "benchmarks" / "fit_gemm_k.py"
_spec = importlib.util.spec_from_file_location("fit_gemm_k", _SCRIPT)
fitmod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fitmod)


@pytest.fixture(scope="module")
def fitted():
    return fitmod.fit(fitmod.load())


def test_store_term_from_first_principles_matches_a_free_fit(fitted):
    # h = 2 B x R / (2 x 3.015 TB/s), R = 10.96 TFLOP/s x 132 SMs (the K loop's fitted rate): 480;
    # fitting h freely on the same six GEMMs gives 442, within 10 %
    assert fitted["h_first_principles"] == pytest.approx(480, rel=0.01)
    assert fitted["h_free_fit"] == pytest.approx(fitted["h_first_principles"], rel=0.10)
    assert fitted["rms_log_error"] < 0.1


def test_grouped_gemms_not_fitted_are_predicted_within_five_percent(fitted):
    # CHECK points (never fitted): 4 x 8192 and 8 x 4096 rows, (N, K) = (4096, 7168) and (7168, 2048)
    ratios = np.array(fitted["check_grouped_rate_ratios"])
    assert len(ratios) == 4
    assert np.all((ratios > 0.94) & (ratios < 1.02))


def test_other_tiles_of_another_author_follow_the_same_h(fitted):
    # DeepGEMM PRs #74 / #81 (H800): K = 512..7168 from each column's K = 16384 row. Tiles 128 x 160 and
    # 256 x 128 land within 0.96-1.08; the 128 x 128 tile, which that PR shows L2-limited, 1.13-1.28 fast.
    checks = fitted["check_tiles"]
    assert len(checks) == 14
    for row in checks:
        ratio = row["predicted"] / row["published"]
        assert (0.95 < ratio < 1.10) if row["tile"] != [128, 128] else (1.0 < ratio < 1.3)


def test_without_the_store_term_short_k_is_far_too_fast():
    data = fitmod.load()
    checks = fitmod.check_tiles(data, 0.0)
    worst = max(row["predicted"] / row["published"] for row in checks if row["k"] == 512)
    assert worst > 1.8  # K = 512 at the K = 16384 rate: 1.8-2.4x the published TFLOPS


def test_tile_config_follows_the_fewest_waves():
    # M 4096, N 2112 over 132 SMs: bn 144 gives 32 x 15 = 480 tiles = 4 waves (bn 128: 544 tiles, 5 waves)
    assert fitmod.tile_config(4096, 2112, 1, 132) == (128, 144, 4)
    assert fitmod.tile_config(64, 4096, 1, 132)[0] == 64


def test_k_factor_worked_example():
    eff = Efficiency(gemm_epilogue_bytes=2.0, gemm_k_ref=4096.0)
    # h = 2 x 1e15 / (2 x 2.5e12) = 400; (1024 / 1424) x (4496 / 4096) = 0.71910 x 1.09766 = 0.78933
    h = eff.gemm_half_k(1e15, 2.5e12)
    assert h == pytest.approx(400.0, rel=1e-12)
    assert eff.gemm_k_factor(1024.0, h) == pytest.approx(0.789326, rel=1e-5)
    assert eff.gemm_k_factor(4096.0, h) == pytest.approx(1.0, rel=1e-12)
    assert eff.gemm_k_factor(28672.0, h) == 1.0  # capped: gemm_max was measured there
    assert eff.gemm_k_factor(0.0, h) == 1.0
    assert Efficiency().gemm_half_k(1e15, 2.5e12) == 0.0  # no epilogue bytes declared: no K term


@pytest.mark.parametrize("bad", [-1.0, 17.0])
def test_epilogue_bytes_are_validated(bad):
    with pytest.raises(ValidationError, match="gemm_epilogue_bytes"):
        Efficiency(gemm_epilogue_bytes=bad)


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
    # R = 9000 TFLOPS x 0.48 (serving NVFP4 GEMM) = 4.32e15, B = 7.7 TB/s x 0.85 = 6.545e12: h = 2 x R / (2 B)
    # = 660.05; K 1316.57, k_ref 16384: (1316.57 / 1976.62) x (17044.05 / 16384) = 0.66607 x 1.04029 = 0.69291
    h = 2.0 * 4.32e15 / (2.0 * 6.545e12)
    factor = (1316.5714 / (1316.5714 + h)) * ((16384 + h) / 16384)
    assert factor == pytest.approx(0.69291, rel=1e-4)
    rows = device_rows(plan)
    assert rows["rate"][i] == pytest.approx(9000e12 * 0.48 * factor, rel=1e-6)
    # J per FLOP is the tensor cores' (TDP - idle) / achievable rate, before the K factor
    assert rows["jflop"][i] == pytest.approx((1000 - 110) / (9000e12 * 0.48), rel=1e-12)


@pytest.mark.skipif(not native_available(), reason="native kernel not built")
def test_fused_totals_equal_the_engine_with_k_factors():
    plan = _plan("qwen3-30b-a3b", "nvidia:b200", devices=1, weights="nvfp4", activations="nvfp4", kv="fp8")
    assert gemm_k_factors(plan).min() < 0.7  # the expert GEMMs are short-K here (0.693, test above)
    B, T, C = np.array([1.0, 4.0, 64.0]), np.array([2048.0, 500.0, 1.0]), np.array([0.0, 1000.0, 3000.0])
    fused, ref = step_totals(plan, "prefill", B, T, C), reference_totals(plan, "prefill", B, T, C)
    np.testing.assert_allclose(fused.seconds, ref.seconds, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fused.joules, ref.joules, rtol=1e-12, atol=0)
