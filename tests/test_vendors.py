"""Each vendor pack's distinctive behaviour, with hand-computed values."""

import math

import attrs
import numpy as np
import pytest
import tokenfab
from tokenfab.collectives import allreduce
from tokenfab.engine import make_plan
from tokenfab.plugins.groq import chips_needed


def test_groq_chip_count_from_sram():
    lpu = tokenfab.get_backend("groq:lpu")
    m = tokenfab.load_model("llama-3.1-8b")
    weights = m.params * 1.0  # int8
    kv = m.kv_elements_per_token() * 2.0 * 1500  # fp16 KV, one sequence of 1,500 tokens
    # 230 MB per chip, 5% reserve: ceil((8.030e9 + 0.197e9) / 218.5e6) = 38 chips
    assert chips_needed(lpu, weights, kv) == math.ceil((weights + kv) / (230e6 * 0.95)) == 38
    est = tokenfab.estimate("llama-3.1-8b", "groq:lpu", batch=1, input_tokens=1000, output_tokens=500, weights="int8")
    # Whole layers per stage, split by bytes (the end stages also hold the 525 MB int8 embedding or
    # LM head, split tp ways); a layer is 218.1e6 int8 weights. tp=16: 13.6 MB a layer, 32.8 MB of
    # table; 3 stages at 177 MB hold 10 + 13 + 10 = 33 >= 32 layers: 48 chips fit. 40 chips do not:
    # tp=8 x 5 stages need 218.4 MB of weights alone (5 + 8 x 3 + 5 layers at 27.3 MB, tables 65.7 MB)
    # before the KV cache, of 218.5 MB usable, and tp=4 x 10 the same 218 MB.
    assert est.devices == 48 and est.devices == est.tp * est.pp
    with pytest.raises(tokenfab.FitError):
        tokenfab.estimate("llama-3.1-8b", "groq:lpu", devices=40, input_tokens=1000, output_tokens=500, weights="int8")
    assert est.memory_per_device_bytes <= 230e6
    # more sequences need more chips for their KV cache
    busy = tokenfab.estimate("llama-3.1-8b", "groq:lpu", batch=64, input_tokens=1000, output_tokens=500, weights="int8")
    assert busy.devices > est.devices


def test_groq_has_no_launch_overhead_but_pays_hops():
    step = tokenfab.decode_step("llama-3.1-8b", "groq:lpu", batch=1, context=1000, weights="int8", tp=8, pp=7)
    lpu = tokenfab.get_backend("groq:lpu")
    hop = lpu.interconnect.scale_up.latency_s
    ar = step.op("attn_allreduce")
    # dragonfly over tp=8: 2*ceil(log2 8) = 6 steps of 2 us, 32 layers; the message is tiny
    assert ar.comm_s == pytest.approx(32 * (6 * hop + 2 * 7 / 8 * 4096 * 2 / (240e9 * 0.8)))
    sends = step.op("pp_send")
    assert sends.count == step.plan.mapping.pp - 1 and sends.comm_s > 0
    assert step.plan.weights_level == "sram"


def test_groq_power_and_cost_scale_with_chips():
    a = tokenfab.estimate("llama-3.1-8b", "groq:lpu", input_tokens=500, output_tokens=100, weights="int8")
    b = tokenfab.estimate("llama-3.1-70b", "groq:lpu", input_tokens=500, output_tokens=100, weights="int8")
    assert b.devices >= 8 * a.devices  # 70.6e9 / 8.03e9 = 8.8x the weights; 384 vs 48 chips
    assert b.joules_per_token > 5 * a.joules_per_token
    assert a.price_basis == "capex-estimate" and b.usd_per_mtok > 5 * a.usd_per_mtok


def test_cerebras_sram_then_weight_streaming():
    small = make_plan("llama-3.1-8b", "cerebras:wse-3", batch=1, kv_tokens=1500, step_tokens=1)
    assert small.devices == 1 and small.weights_level == "sram"
    # 141 GB of bf16 weights over 44 GB wafers (5% reserve): ceil(141.1 / 41.8) = 4 wafers, pipelined
    big = make_plan("llama-3.1-70b", "cerebras:wse-3", batch=1, kv_tokens=1500, step_tokens=1)
    assert (big.mapping.tp, big.mapping.pp) == (1, 4) and big.weights_level == "sram"
    # forced onto one system the weights stream from MemoryX over the 150 GB/s I/O
    step = tokenfab.decode_step("llama-3.1-70b", "cerebras:wse-3", batch=1, context=1000, devices=1)
    assert step.plan.weights_level == "memoryx" and step.plan.kv_level == "sram"
    weights_read = (tokenfab.load_model("llama-3.1-70b").params - 128256 * 8192) * 2
    assert step.seconds == pytest.approx(weights_read / (150e9 * 0.9), rel=0.02)
    assert step.bound == "memory"


def test_cerebras_single_user_speed_is_latency_bound():
    est = tokenfab.estimate("llama-3.1-8b", "cerebras:wse-3", input_tokens=1000, output_tokens=200)
    roofline = 16e9 / (21e15 * 0.5)  # reading the weights from SRAM alone: 1.5 us
    assert est.tpot_s > 100 * roofline  # 291 operator passes x 0.6 us (Oct 2024 release) = 175 us
    assert est.decode_bound == "overhead"


def test_tpu_torus_allreduce_cost():
    v5e = tokenfab.get_backend("tpu:v5e")
    link = v5e.interconnect.scale_up
    factor, latency = allreduce(link, 8)
    assert factor == pytest.approx(2 * 7 / 8) and latency == pytest.approx(2 * 3 * 2e-6)
    step = tokenfab.decode_step("llama-3.1-8b", "tpu:v5e", batch=16, context=512, devices=8)
    message = 16 * 4096 * 2
    expected = 32 * (latency + factor * message / (200e9 * 0.85))
    assert step.op("mlp_allreduce").comm_s == pytest.approx(expected)


def test_switch_and_mesh_allreduce_are_one_shot():
    for backend in ("nvidia:h100-sxm", "amd:mi300x", "trainium:trn3"):
        link = tokenfab.get_backend(backend).interconnect.scale_up
        assert allreduce(link, 8)[1] == pytest.approx(2 * link.latency_s)


def test_trainium_ultraserver_keeps_64_chips_on_neuronlink():
    server = tokenfab.get_backend("trainium:trn2-ultraserver")
    assert server.device_count == 64
    link = server.device.interconnect.link_for(64)
    assert link is server.device.interconnect.scale_up and link.topology == "torus3d"
    single = tokenfab.get_backend("trainium:trn2")
    assert single.interconnect.link_for(64) is single.interconnect.scale_out


def test_no_price_is_reported_not_invented():
    unpriced = attrs.evolve(tokenfab.get_backend("amd:mi355x"), price=None)
    est = tokenfab.estimate("llama-3.1-8b", unpriced, input_tokens=100, output_tokens=10)
    assert est.usd_per_mtok is None and est.price_basis == "none"
    priced = tokenfab.estimate(
        "llama-3.1-8b",
        unpriced,
        input_tokens=100,
        output_tokens=10,
        economics=tokenfab.economics.Economics(usd_per_device_hour=3.0),
    )
    assert priced.usd_per_mtok == pytest.approx(3.0 / 3600 / priced.tokens_per_s * 1e6)


def test_compare_all_ranks_every_backend():
    result = tokenfab.compare(
        "llama-3.1-70b",
        "all",
        metric="tokens_per_s_per_user",
        batch=1,
        input_tokens=500,
        output_tokens=100,
        weights="int8",
    )
    rows = {row.backend: row for row in result.rows}
    assert set(rows) == set(tokenfab.backends())
    speeds = [row.estimate.tokens_per_s_per_user for row in result.rows if row.estimate]
    assert speeds == sorted(speeds, reverse=True)
    # int8 weights on devices without an int8 or bf16/fp16 math path are reported, not hidden
    assert all(row.estimate is not None or row.error for row in result.rows)
    # the SRAM machines lead single-user speed
    assert result.rows[0].backend.split(":")[0] in ("groq", "cerebras")


def test_every_vendor_has_energy_and_a_sourced_or_absent_price():
    for backend_id in tokenfab.backends():
        device = getattr(tokenfab.get_backend(backend_id), "device", tokenfab.get_backend(backend_id))
        assert device.power.tdp_w > device.power.idle_w > 0
        if device.price is not None:
            assert device.sources.get("price")
        assert np.isfinite(device.power.tdp_w)
