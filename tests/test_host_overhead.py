"""Host time per engine step (Workload.host_s_per_sequence, serving.HOST_S_PER_SEQUENCE)."""

import math

import numpy as np
import pytest
import tokenfab
from tokenfab import Workload
from tokenfab.errors import ValidationError
from tokenfab.serving.steady import HOST_S_PER_SEQUENCE
from tokenfab.validation.validate import host_s_per_sequence, load_points, predict_inference, serving_stack

SMALL = dict(model="llama-3.1-8b", backend="nvidia:h100-sxm", tp=1, weights="fp8", activations="fp8")


def _estimate(host: float, **options):
    wl = Workload(input_tokens=128, output_tokens=128, batch=64, host_s_per_sequence=host)
    return tokenfab.estimate(
        SMALL["model"],
        SMALL["backend"],
        wl,
        **{k: v for k, v in SMALL.items() if k not in ("model", "backend")},
        **options,
    )


def test_the_stack_constant_is_the_pr_measurement():
    # TensorRT-LLM PR #16564: ~8.8 ms host bubble per iteration over 256 requests -> 34.375 us each
    assert HOST_S_PER_SEQUENCE["tensorrt-llm-pytorch"] == pytest.approx(34.375e-6, rel=1e-12)


def test_zero_host_time_changes_nothing():
    options = {k: v for k, v in SMALL.items() if k not in ("model", "backend")}
    plain = tokenfab.estimate(
        SMALL["model"], SMALL["backend"], batch=64, input_tokens=128, output_tokens=128, **options
    )
    assert _estimate(0.0).to_dict() == plain.to_dict()


def test_host_bound_steps_last_the_host_time():
    # 64 sequences x 1 ms = 64 ms per step, far above the ~10 ms device step of Llama-3.1-8B on one
    # H100 at batch 64, decode and mixed alike: tpot = 0.064 s, tokens/s = 64 / 0.064 = 1000.
    # (The old model had no host time: tpot was the device step, about 10 ms.)
    base = _estimate(0.0)
    assert base.tpot_s < 0.03
    paced = _estimate(1e-3)
    assert paced.tpot_s == pytest.approx(0.064, rel=1e-12)
    assert paced.tokens_per_s == pytest.approx(1000.0, rel=1e-12)


def test_host_paced_energy_adds_idle_power_for_the_wait():
    # Without chunked prefill: tpot = step + (B - 1) ttft / (O - 1) with step = max(t_dev, 0.064), and
    # device J/token = (B E_pre + (O - 1) E_step) / (B O) with E_step += idle_w (t_step - t_dev) per device.
    base, paced = _estimate(0.0, chunked_prefill=False), _estimate(1e-3, chunked_prefill=False)
    t_dev = float(np.mean(base.decode.seconds))
    assert paced.tpot_s == pytest.approx(0.064 + 63 * base.ttft_s / 127, rel=1e-12)
    idle_w = tokenfab.get_backend(SMALL["backend"]).power.idle_w
    extra = 127 * idle_w * (0.064 - t_dev) / (64 * 128)
    device_j = paced.joules_per_token - paced.host_joules_per_token
    assert device_j == pytest.approx(base.joules_per_token - base.host_joules_per_token + extra, rel=1e-9)


def test_host_time_is_shared_by_attention_groups():
    from tokenfab.serving.steady import host_step_s

    wl = Workload(input_tokens=1, output_tokens=1, host_s_per_sequence=40e-6)
    assert host_step_s(wl, 1024, 4) == pytest.approx(40e-6 * 1024 / 4, rel=1e-12)  # 10.24 ms


@pytest.mark.parametrize("bad", [-1e-6, math.nan, math.inf, True, "34us", 1.0])
def test_workload_rejects_bad_host_time(bad):
    with pytest.raises(ValidationError, match="host_s_per_sequence"):
        Workload(input_tokens=10, output_tokens=5, host_s_per_sequence=bad)


def test_workload_round_trip_keeps_host_time():
    wl = Workload(input_tokens=10, output_tokens=5, host_s_per_sequence=2e-5)
    assert Workload.from_dict(wl.to_dict()) == wl


def _point(pid):
    return next(p for p in load_points() if p["id"] == pid)


def test_validate_reads_the_stack_from_the_software():
    pytorch = _point("trtllm-v1.0-b200-tp1-fp4-qwen3-30b-a3b-128-128")
    engine = _point("trtllm-v0.17-h200-tp1-fp8-mistral-7b-128-128")
    assert serving_stack(pytorch) == "tensorrt-llm-pytorch"
    assert serving_stack(engine) is None
    assert host_s_per_sequence(engine, 1) == 0.0
    assert host_s_per_sequence(pytorch, 1) == HOST_S_PER_SEQUENCE["tensorrt-llm-pytorch"]
    # MoE on the PyTorch backend: attention DP over the tp = 8 ranks, one eighth of the batch each
    moe = _point("trtllm-v1.0-b200-tp8-fp4-qwen3-235b-a22b-128-128")
    assert host_s_per_sequence(moe, 8) == pytest.approx(34.375e-6 / 8, rel=1e-12)
    dense = _point("trtllm-v1.0-b200-tp4-fp4-llama-3.1-405b-128-128")
    assert host_s_per_sequence(dense, 4) == HOST_S_PER_SEQUENCE["tensorrt-llm-pytorch"]


def test_unknown_stack_is_a_one_line_error():
    point = dict(_point("trtllm-v1.0-b200-tp1-fp4-qwen3-30b-a3b-128-128"))
    point["conditions"] = dict(point["conditions"], serving_stack="nope")
    with pytest.raises(ValidationError, match="serving_stack must be one of tensorrt-llm-pytorch, got 'nope'"):
        host_s_per_sequence(point, 1)


def test_small_moe_at_short_lengths_is_no_longer_4x_too_fast():
    # Qwen3-30B-A3B on B200 at 128/128 (8192 sequences): 4.30x the published 39,827 tok/s before the
    # host time; now the 8192 x 34 us = 282 ms host step paces the 48 ms device step.
    point = _point("trtllm-v1.0-b200-tp1-fp4-qwen3-30b-a3b-128-128")
    value, _ = predict_inference(point, None)
    assert 0.5 < value / point["value"] < 1.5


def test_simulator_tables_are_host_paced():
    # Each grid entry is max(device step, n h / ep): n = b decoding, b + 1 beside a chunk, 1 alone.
    from tokenfab.cost.engine import make_plan
    from tokenfab.planning.steptimes import StepTimes

    plan = make_plan("llama-3.1-8b", "nvidia:h100-sxm", tp=1, batch=64, kv_tokens=256, step_tokens=1)
    grid = dict(max_batch=64, max_context=250, chunk_tokens=512)
    plain, paced = StepTimes.from_plan(plan, **grid), StepTimes.from_plan(plan, **grid, host_s_per_sequence=1e-3)
    b = plain.batch
    np.testing.assert_array_equal(paced.decode_s, np.maximum(plain.decode_s, b[:, None] * 1e-3))
    np.testing.assert_array_equal(paced.mixed_s, np.maximum(plain.mixed_s, (b[:, None, None] + 1) * 1e-3))
    np.testing.assert_array_equal(paced.prefill_s, np.maximum(plain.prefill_s, 1e-3))
    assert paced.decode_s[-1, 0] == pytest.approx(0.064, rel=1e-12)  # 64 sequences x 1 ms


def test_simulate_honours_host_time():
    # 200 in / 50 out (and 128 / 64 below: a context grid of 0, 38.4, ... used to be refused)
    wl = Workload(input_tokens=200, output_tokens=50, batch=32, rate=50.0)
    slow = Workload(input_tokens=200, output_tokens=50, batch=32, rate=50.0, host_s_per_sequence=2e-3)
    deployment = tokenfab.Deployment(backend="nvidia:h100-sxm", devices=1, tp=1)
    fast_run = tokenfab.simulate("llama-3.1-8b", deployment, wl, requests=200)
    slow_run = tokenfab.simulate("llama-3.1-8b", deployment, slow, requests=200)
    assert slow_run.percentiles["tpot_s"]["50"] > fast_run.percentiles["tpot_s"]["50"]
    odd = tokenfab.Workload(input_tokens=128, output_tokens=64, batch=8, rate=5.0)
    assert tokenfab.simulate("llama-3.1-8b", deployment, odd, requests=20).percentiles["tpot_s"]["50"] > 0
    with pytest.raises(ValidationError, match="host_s_per_sequence"):
        tokenfab.simulate("llama-3.1-8b", deployment, dict(wl.to_dict(), host_s_per_sequence=-1.0), requests=10)
