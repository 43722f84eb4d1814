"""Engine and serving: invariants, broadcasting, worked serving arithmetic, fit and errors."""

import attrs
import numpy as np
import pytest
import tokenfab
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenfab.economics import Economics
from tokenfab.serving import DECODE_SAMPLES


def faster_hbm(device, factor):
    memory = [attrs.evolve(lv, bytes_per_s=lv.bytes_per_s * factor) if lv.kind == "hbm" else lv for lv in device.memory]
    return attrs.evolve(device, id=device.id + "-fast", memory=memory)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 64), context=st.integers(0, 8000), factor=st.floats(1.0, 4.0))
def test_more_bandwidth_never_slower(h100, batch, context, factor):
    # One mapping for both (tp=2 holds every example): the mapping search may otherwise pick
    # another shape on the faster device (e.g. tp1 x dp2), whose ops differ.
    slow = tokenfab.decode_step("llama-3.1-8b", h100, batch=batch, context=context, tp=2)
    fast = tokenfab.decode_step("llama-3.1-8b", faster_hbm(h100, factor), batch=batch, context=context, tp=2)
    assert fast.seconds <= slow.seconds * (1 + 1e-12)
    for a, b in zip(fast.breakdown, slow.breakdown, strict=True):
        assert a.memory_s <= b.memory_s * (1 + 1e-12)


def test_longer_context_and_bigger_batch_never_faster():
    ctx = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=8, context=[256, 1024, 4096, 8192])
    assert np.all(np.diff(ctx.seconds) > 0)
    bat = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=[1, 2, 8, 32, 128], context=1024)
    assert np.all(np.diff(bat.seconds) >= 0)


def test_broadcasting_equals_scalar_calls():
    grid = tokenfab.decode_step("llama-3.1-8b", "nvidia:h200", batch=np.array([[1], [16]]), context=[512, 4096])
    assert grid.seconds.shape == (2, 2)
    single = tokenfab.decode_step("llama-3.1-8b", "nvidia:h200", batch=16, context=4096)
    assert grid.seconds[1, 1] == pytest.approx(single.seconds, rel=1e-12)
    assert grid.op("attention").flops[1, 1] == pytest.approx(single.op("attention").flops)


def test_batch1_decode_is_weight_streaming():
    step = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=128)
    weights = (tokenfab.load_model("llama-3.1-8b").params - 128256 * 4096) * 2
    floor = weights / (3.35e12 * 0.90)  # all weights at the calibrated HBM efficiency
    assert floor < step.seconds < floor * 1.25
    assert step.bound == "memory"


def test_prefill_long_prompt_is_compute_bound_and_scales():
    p = tokenfab.prefill("llama-3.1-8b", "nvidia:h100-sxm", tokens=[2048, 4096])
    assert list(p.bound) == ["compute", "compute"]
    assert 1.9 < p.seconds[1] / p.seconds[0] < 2.6  # linear GEMMs plus quadratic attention


def test_tensor_parallel_allreduce_costs_time():
    step = tokenfab.decode_step("llama-3.1-70b", "nvidia:h100-sxm", batch=8, context=1024, devices=8)
    ar = step.op("attn_allreduce")
    # message 8 tokens * 8192 * 2 B; wire 2*7/8 of it; 2 steps * 3 us latency on NVSwitch, on the custom
    # all-reduce kernel whose bandwidth meets NCCL's in a serving step (45 us + wire / (0.89 * 0.73 *
    # 450 GB/s), 0.73 = SERVING_ALLREDUCE_FRACTION) at 8 MiB:
    # eta_c = 14,680,064 / (14,680,064 / 0.6497 + 39e-6 * 450e9) = 0.3657 -> 164.6 GB/s
    wire = 8 * 8192 * 2 * 2 * 7 / 8
    assert ar.comm_bytes == pytest.approx(wire * 80)
    switch = 1.75 * 8 * 2**20
    custom_bw = 450e9 * switch / (switch / (0.89 * 0.73) + 39e-6 * 450e9)
    assert ar.comm_s == pytest.approx(80 * (6e-6 + wire / custom_bw))
    assert step.devices == 8


def test_estimate_arithmetic_is_consistent():
    est = tokenfab.estimate(
        "llama-3.1-8b", "nvidia:h100-sxm", batch=4, input_tokens=512, output_tokens=129, chunked_prefill=False
    )
    step = float(np.mean(est.decode.seconds))
    assert est.ttft_s == pytest.approx(float(est.prefill.seconds))
    assert est.tpot_s == pytest.approx(step + 3 * est.ttft_s / 128)
    assert est.e2e_latency_s == pytest.approx(est.ttft_s + 128 * est.tpot_s)
    assert est.tokens_per_s == pytest.approx(4 * 129 / est.e2e_latency_s)
    assert est.tokens_per_s_per_user == pytest.approx(1 / est.tpot_s)
    # $3.90 per device-hour over the token rate
    assert est.usd_per_mtok == pytest.approx(3.90 / 3600 / est.tokens_per_s * 1e6)
    assert len(np.atleast_1d(est.decode.seconds)) == DECODE_SAMPLES
    d = est.to_dict()
    for key in (
        "ttft_s",
        "tpot_s",
        "e2e_latency_s",
        "tokens_per_s",
        "tokens_per_s_per_user",
        "tokens_per_s_per_device",
        "devices",
        "memory_per_device_bytes",
        "fits",
        "joules_per_token",
        "usd_per_mtok",
    ):
        assert key in d


def test_mixed_batch_arithmetic():
    # 64 sequences, 1,000 in / 101 out: prompts arrive at 64 * 1000 / 100 = 640 tokens per step, so every
    # step carries max(1000, 640) = 1000 prompt tokens (one whole prompt); n = 64 steps of 100 carry one.
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=64, input_tokens=1000, output_tokens=101)
    decode = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=64, context=est.decode.context)
    step = float(np.mean(decode.seconds))
    assert est.chunked_prefill
    t_mix = est.ttft_s  # one mixed step brings a whole prompt to its first token
    f = 64 / 100
    assert est.tpot_s == pytest.approx((1 - f) * step + f * t_mix, rel=1e-9)
    assert est.tokens_per_s == pytest.approx(64 / est.tpot_s)
    # mixing shares weight reads: never slower than stalling the batch for each prompt
    serial = tokenfab.estimate(
        "llama-3.1-8b", "nvidia:h100-sxm", batch=64, input_tokens=1000, output_tokens=101, chunked_prefill=False
    )
    assert est.tokens_per_s >= serial.tokens_per_s
    # a lone request is not split: its first token comes after one step holding the whole prompt
    solo = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=1, input_tokens=1000, output_tokens=100)
    alone = tokenfab.prefill("llama-3.1-8b", "nvidia:h100-sxm", tokens=1000)
    assert solo.ttft_s == pytest.approx(alone.seconds, rel=0.05)


def test_energy_never_above_tdp():
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=64, input_tokens=2000, output_tokens=200)
    for step in (est.prefill, est.decode):
        power = np.asarray(step.joules) / np.asarray(step.seconds) / step.devices
        assert np.all(power <= 700 + 1e-9) and np.all(power >= 80 - 1e-9)


def test_capex_pricing_matches_hand_formula():
    econ = Economics(capex_usd=35_000, amortization_years=5, usd_per_kwh=0.08, pue=1.2)
    est = tokenfab.estimate(
        "llama-3.1-8b", "nvidia:h100-sxm", batch=16, input_tokens=500, output_tokens=100, economics=econ
    )
    hourly = 35_000 / (5 * 8760)
    expected = 1e6 * (hourly / 3600 / est.tokens_per_s + est.joules_per_token * 1.2 * 0.08 / 3.6e6)
    assert est.price_basis == "capex-estimate" and est.usd_per_mtok == pytest.approx(expected)


def test_does_not_fit_is_an_error_not_a_number():
    with pytest.raises(tokenfab.FitError, match="does not fit on 1 x nvidia:h100-sxm"):
        tokenfab.estimate("llama-3.1-70b", "nvidia:h100-sxm", devices=1, input_tokens=100, output_tokens=10)
    with pytest.raises(tokenfab.FitError):
        tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=512, context=16000, devices=1)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(batch=0), "batch: must be an integer >= 1"),
        (dict(batch=-3), "batch: must be an integer >= 1"),
        (dict(input_tokens=0), "input_tokens"),
        (dict(devices=3, tp=2), "devices: must be a multiple of tp"),
        (dict(tp=64), "tp: must be <= the 32 attention heads"),
        (dict(weights="fp7"), "weights: precision must be one of"),
        (dict(ep=4), "ep: expert parallelism needs a mixture-of-experts model"),
        (dict(input_tokens=200_000), "context of llama-3.1-8b"),
    ],
)
def test_bad_input_names_the_field(kwargs, message):
    args = dict(batch=1, input_tokens=100, output_tokens=10)
    args.update(kwargs)
    with pytest.raises(tokenfab.TokenfabError, match=message):
        tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", **args)


def test_quantised_weights_speed_up_decode():
    bf16 = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=512)
    fp8 = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=512, weights="fp8")
    int4 = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=512, weights="int4")
    assert int4.seconds < fp8.seconds < bf16.seconds
    assert int4.plan.precisions.activations == "bf16"  # weight-only: math stays bf16


def test_compare_ranks_and_reports_unfit_rows():
    result = tokenfab.compare(
        "llama-3.1-70b",
        ["nvidia:h100-sxm", "nvidia:h200", "nvidia:b200"],
        metric="tokens_per_s",
        batch=8,
        input_tokens=500,
        output_tokens=100,
        devices=1,
    )
    # 141 GB of bf16 weights: only the 180 GB B200 holds them on one device
    assert result.rows[0].backend == "nvidia:b200" and result.rows[0].estimate is not None
    assert {row.backend for row in result.rows[1:]} == {"nvidia:h100-sxm", "nvidia:h200"}
    assert all(row.estimate is None and "does not fit" in row.error for row in result.rows[1:])
    ranked = tokenfab.compare(
        "llama-3.1-8b",
        "nvidia:h100-sxm,nvidia:h200,nvidia:b200",
        metric="tokens_per_s",
        batch=8,
        input_tokens=500,
        output_tokens=100,
    )
    speeds = [row.estimate.tokens_per_s for row in ranked.rows]
    assert speeds == sorted(speeds, reverse=True) and ranked.rows[0].backend == "nvidia:b200"


def test_system_backend_uses_its_device():
    est = tokenfab.estimate("llama-3.1-405b", "nvidia:gb200-nvl72", batch=8, input_tokens=1000, output_tokens=100)
    assert est.backend == "nvidia:gb200-nvl72" and est.devices >= 5


def test_sweep_one_plan_per_backend_and_fit_flags():
    result = tokenfab.sweep(
        "llama-3.1-8b", ["nvidia:h100-sxm", "nvidia:h200"], batch=[[1], [64]], context=[1024, 8192], devices=1
    )
    rows = [r for r in result.rows if r["backend"] == "nvidia:h100-sxm"]
    assert [(r["batch"], r["context"]) for r in rows] == [(1, 1024), (1, 8192), (64, 1024), (64, 8192)]
    single = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=64, context=1024, devices=1)
    assert rows[2]["seconds"] == pytest.approx(single.seconds, rel=1e-12)
    assert rows[2]["tokens_per_s"] == pytest.approx(64 / single.seconds)
    # 64 x 8k tokens of KV do not fit one 80 GB H100 but fit a 141 GB H200
    assert rows[3]["fits"] is False
    assert [r for r in result.rows if r["backend"] == "nvidia:h200"][3]["fits"] is True
