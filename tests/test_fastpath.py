"""The fused C pass (tokenfab.fastpath) against run_plan's numpy coefficients and breakdown kernel."""

from __future__ import annotations

import numpy as np
import pytest
import tokenfab
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenfab.engine import make_plan
from tokenfab.fastpath import fused_totals, reference_totals, step_totals
from tokenfab.kernel import native_available

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")

# dense GQA, pipeline stages, MoE with expert parallelism, MLA + MoE, sliding-window attention, SRAM
PLANS = [
    ("llama-2-70b", "nvidia:h100-sxm", dict(devices=8)),
    ("llama-3.1-8b", "nvidia:h100-sxm", dict(tp=2, pp=2)),
    ("mixtral-8x7b", "nvidia:h100-sxm", dict(tp=4, ep=2)),
    ("deepseek-v3", "nvidia:h200", dict(devices=8)),
    ("gpt-oss-20b", "nvidia:h100-sxm", dict(devices=1)),
    ("llama-3.1-8b", "groq:lpu", dict()),
    # weights and KV cache in different memory levels, each order of the levels
    ("llama-3.1-70b", "cerebras:wse-3", dict(devices=1, weights_memory="memoryx")),
    ("llama-3.1-8b", "cerebras:wse-3", dict(weights_memory="sram", kv_memory="memoryx")),
]


def _plan(index: int):
    model, backend, options = PLANS[index]
    return make_plan(model, backend, batch=512, kv_tokens=8192, step_tokens=8, **options)


def assert_same_totals(fused, ref):
    np.testing.assert_allclose(fused.seconds, ref.seconds, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fused.joules, ref.joules, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(fused.bound_code, ref.bound_code)
    np.testing.assert_array_equal(fused.fits, ref.fits)
    np.testing.assert_allclose(fused.memory_per_device_bytes, ref.memory_per_device_bytes, rtol=1e-12)


scenarios = st.lists(st.tuples(st.integers(1, 512), st.integers(1, 8), st.integers(0, 8000)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, len(PLANS) - 1), phase=st.sampled_from(["decode", "prefill"]), grid=scenarios)
def test_fused_totals_equal_run_plan(index, phase, grid):
    plan = _plan(index)
    B, T, C = (np.array(col, dtype=np.float64) for col in zip(*grid, strict=True))
    assert_same_totals(step_totals(plan, phase, B, T, C), reference_totals(plan, phase, B, T, C))


def test_flops_and_bytes_totals_match_the_breakdown():
    plan = _plan(0)
    B, T, C = np.array([1.0, 8.0, 300.0]), np.array([1.0, 1.0, 4.0]), np.array([0.0, 2048.0, 4000.0])
    out = fused_totals(plan, "decode", B, T, C)
    # FLOPs and bytes of one device over all its operators (the breakdown's per-op figures summed)
    for i in range(3):
        step = tokenfab.engine.run_plan(plan, "decode", B[i], T[i], C[i], check_fit=False)
        assert out["flops"][i] == pytest.approx(sum(op.flops for op in step.breakdown), rel=1e-12)
        assert out["bytes"][i] == pytest.approx(sum(op.bytes for op in step.breakdown), rel=1e-12)


def test_decode_step_without_breakdown_gives_the_same_totals():
    kwargs = dict(batch=np.array([[1], [8], [64]]), context=np.array([128, 2048]), devices=8, check_fit=False)
    full = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", **kwargs)
    fast = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", breakdown=False, **kwargs)
    assert fast.breakdown == () and fast.seconds.shape == full.seconds.shape == (3, 2)
    np.testing.assert_allclose(fast.seconds, full.seconds, rtol=1e-12)
    np.testing.assert_allclose(fast.joules, full.joules, rtol=1e-12)
    assert fast.bound.tolist() == full.bound.tolist()
    one = tokenfab.prefill("llama-2-70b", "nvidia:h100-sxm", tokens=2048, devices=8, breakdown=False)
    assert isinstance(one.seconds, float) and one.bound in ("compute", "memory", "communication", "overhead")


def test_fused_kernel_rejects_bad_scenarios():
    plan = _plan(0)
    with pytest.raises(tokenfab.kernel.KernelError, match="negative"):
        fused_totals(plan, "decode", np.array([-1.0]), np.array([1.0]), np.array([0.0]))


def test_plan_cache_returns_the_same_plan_and_respects_the_registry():
    from tokenfab.registry import build_registry

    a = make_plan("llama-2-70b", "nvidia:h100-sxm", batch=8, kv_tokens=2049, step_tokens=1, devices=8)
    b = make_plan("llama-2-70b", "nvidia:h100-sxm", batch=8, kv_tokens=2049, step_tokens=1, devices=8)
    assert a is b
    other = make_plan(
        "llama-2-70b", "nvidia:h100-sxm", batch=8, kv_tokens=2049, step_tokens=1, devices=8, registry=build_registry()
    )
    assert other is not a and other.mapping == a.mapping


@pytest.mark.parametrize("index", range(len(PLANS)))
@pytest.mark.parametrize("phase", ["decode", "prefill"])
def test_blocked_pass_equals_run_plan_over_many_blocks(index, phase):
    # 1,100 scenarios: four full blocks of 256 and a partial one; batches below and above ep, so some
    # lanes also need the mean group (idle expert-parallel groups), contexts across sliding windows.
    plan = _plan(index)
    rng = np.random.default_rng(index)
    n = 1100
    B = rng.integers(1, 513, n).astype(float)
    B[::7] = 1.0
    T, C = rng.integers(1, 9, n).astype(float), rng.integers(0, 8001, n).astype(float)
    assert_same_totals(step_totals(plan, phase, B, T, C), reference_totals(plan, phase, B, T, C))


def test_a_fault_in_a_later_block_names_its_scenario():
    plan = _plan(2)  # MoE with expert parallelism
    B, T, C = np.full(700, 4.0), np.ones(700), np.full(700, 100.0)
    B[517] = -1.0
    with pytest.raises(tokenfab.kernel.KernelError, match=r"negative.*\(scenario 517\)"):
        fused_totals(plan, "decode", B, T, C)
    C[517], B[517], C[650] = 0.0, 4.0, np.inf
    with pytest.raises(tokenfab.kernel.KernelError, match=r"\(scenario 650\)"):
        fused_totals(plan, "decode", B, T, C)


def test_grid_inputs_give_the_flattened_scenarios():
    # a batch column x a context row: the same rows as the flattened grid, in C order
    plan = _plan(0)
    batch, context = np.array([[1.0], [8.0], [300.0]]), np.array([[0.0, 128.0, 2048.0, 4000.0]])
    grid = step_totals(plan, "decode", batch, 1.0, context)
    B, C = (np.ravel(x) for x in np.broadcast_arrays(batch, context))
    assert grid.seconds.shape == (12,)
    assert_same_totals(grid, reference_totals(plan, "decode", B, np.ones(12), C))
