"""The MoE layer as the kernels serving stacks run: permute, grouped expert GEMMs padded to their
row tile, gated activation and finalize, each paying its own memory traffic. Hand-computed."""

import numpy as np
import pytest
import tokenfab
from tokenfab.engine import EXPERT_TILE_ROWS, WEIGHT_ONLY_TILE_ROWS, expert_imbalance, expert_padding_rows
from tokenfab.lowering import ParallelMapping, expert_load_spread, lower, quantize_elements_per_token

FP8 = dict(weights="fp8", activations="fp8", kv="fp8")
EXPERT_8X7B = 3 * 4096 * 14336  # parameters of one Mixtral-8x7B expert


def _mixtral_h200_decode(batch: int):
    return tokenfab.decode_step("mixtral-8x7b", "nvidia:h200", batch=batch, context=100, tp=1, **FP8)


def test_permute_activation_and_finalize_are_separate_memory_bound_kernels():
    # Mixtral-8x7B (d = 4096, f = 14336, k = 2, 32 MoE layers) on one H200, fp8 activations, 1024 tokens.
    step = _mixtral_h200_decode(1024)
    hbm = 4.224e12  # H200 HBM bytes/s the pack reaches (hardware.yaml / calibration)
    # permute: read each token once per chosen expert and write the copy, fp8: 2 * k * d * 1 byte
    permute = step.op("moe_permute")
    assert permute.bytes == 32 * 1024 * 2 * 2 * 4096 * 1 == 536_870_912
    # gated activation: read FC1's 2f outputs in bf16, write f inputs of FC2 in fp8, per copy
    act = step.op("moe_act")
    assert act.bytes == 32 * 1024 * 2 * 14336 * (2 * 2 + 1) == 4_697_620_480
    assert act.flops == 32 * 1024 * 2 * 5 * 14336
    # finalize: read the k bf16 outputs of FC2 and write the bf16 sum
    fin = step.op("moe_finalize")
    assert fin.bytes == 32 * 1024 * (2 + 1) * 4096 * 2 == 805_306_368
    for op in (permute, act, fin):
        assert op.bound == "memory"
        assert op.memory_s == pytest.approx(op.bytes / hbm)
    # They add to the step: before, these bytes sat inside the compute-bound expert GEMM's max().
    glue = permute.seconds + act.seconds + fin.seconds
    assert glue == pytest.approx((536_870_912 + 4_697_620_480 + 805_306_368) / hbm + 3 * 32 * 3e-6)
    assert step.seconds > step.op("moe_experts").seconds + glue


def test_expert_gemm_pays_half_a_row_tile_per_expert():
    # 1024 tokens top-2 over 8 experts touch all 8 (8 * (1 - 0.75^1024) = 8.0): M = 1024 * 2 / 8 = 256
    # rows each. H200 fp8: peak 1979 TFLOPS, gemm_max 0.69, gemm_half_rows 72; a 128-row tile wastes
    # 63.5 rows per expert on average: efficiency 0.69 * 256 / (256 + 72 + 63.5) = 0.4512 (0.5385
    # without the padding).
    experts = _mixtral_h200_decode(1024).op("moe_experts")
    flops = 32 * 1024 * 2 * 2 * EXPERT_8X7B
    assert experts.flops == flops
    efficiency = 0.69 * 256 / (256 + 72 + 63.5)
    assert experts.compute_s == pytest.approx(flops / (1979e12 * efficiency))
    assert experts.compute_s / (flops / (1979e12 * 0.69 * 256 / 328)) == pytest.approx(391.5 / 328)


def test_padding_rows_only_on_expert_ops():
    ops = lower(tokenfab.load_model("mixtral-8x7b"), ParallelMapping(tp=1), weight_bytes=1, act_bytes=1, kv_bytes=1)
    rows = dict(zip((op.name for op in ops), expert_padding_rows(ops, weight_only=False), strict=True))
    assert rows["moe_experts"] == (EXPERT_TILE_ROWS - 1) / 2 == 63.5
    assert rows["router"] == rows["qkv_proj"] == rows["moe_act"] == 0.0
    # weight-only kernels tile rows by 16 (mma.sync m16): 7.5 rows of padding per expert
    only = dict(zip((op.name for op in ops), expert_padding_rows(ops, weight_only=True), strict=True))
    assert only["moe_experts"] == (WEIGHT_ONLY_TILE_ROWS - 1) / 2 == 7.5


def test_expert_parallel_devices_handle_their_share_of_the_copies():
    # DeepSeek-V3 (d = 7168, k = 8, f = 2048), tp = 2 x ep = 8: the group's tokens are dispatched to
    # the 16 devices, each runs k / tp = 4 copies of d per group token and k * f / 16 = 1024 of width.
    m = tokenfab.load_model("deepseek-v3")
    ops = {op.name: op for op in lower(m, ParallelMapping(tp=2, ep=8), weight_bytes=1, act_bytes=1, kv_bytes=1)}
    assert ops["moe_permute"].act_bytes_per_token == 2 * 4 * 7168 * 1
    assert ops["moe_act"].act_bytes_per_token == 8 * 128 * (2 * 2 + 1)  # f / 16 = 128 per copy, k = 8
    assert ops["moe_finalize"].act_bytes_per_token == (4 + 0.5) * 7168 * 2  # reads 4 copies, writes 1/tp
    # ep = 1: tensor-parallel experts, every device runs all k copies of each token (slices of f)
    tp8 = {op.name: op for op in lower(m, ParallelMapping(tp=8), weight_bytes=1, act_bytes=1, kv_bytes=1)}
    assert tp8["moe_permute"].act_bytes_per_token == 2 * 8 * 7168 * 1
    assert tp8["moe_finalize"].act_bytes_per_token == (8 + 1) * 7168 * 2


def test_busiest_expert_parallel_device_sets_the_time():
    # Mixtral-8x7B on 8 H100 as tp = 1 x ep = 8: one expert per device, k = 2. A decode step of 64
    # sequences routes R = 64 tokens: a device's load is ~Binomial(128, 1/8), mean 16, deviation
    # sqrt(128 * 1/8 * 7/8) = 3.742; the busiest of 8 carries 16 + z_8 * 3.742 with Blom's
    # z_8 = Phi^-1(7.625 / 8.25) = 1.4342: 1.3354 times the mean (= 1 + 1.4342 * sqrt(7 / 128)).
    assert expert_load_spread(8, 2.0) == pytest.approx(1.4342 * (7 / 2) ** 0.5, rel=1e-4)
    step = tokenfab.decode_step("mixtral-8x7b", "nvidia:h100-sxm", batch=64, context=100, tp=1, ep=8)
    mean = 32 * 64 * 2 * 2 * EXPERT_8X7B / 8  # FLOPs of the mean device's experts, 32 layers
    assert step.op("moe_experts").flops == pytest.approx(mean * 1.3354, rel=1e-4)
    # one routed token: 1 + 1.4342 * sqrt(7 / 2) = 3.683, under the cap min(n, E/k) = 4 (all of a
    # token's copies that one device's E/n = 1 expert can take, over the mean k/n = 1/4)
    one = tokenfab.decode_step("mixtral-8x7b", "nvidia:h100-sxm", batch=1, context=100, tp=1, ep=8)
    assert one.op("moe_experts").flops == pytest.approx(32 * 1 * 2 * 2 * EXPERT_8X7B / 8 * 3.6831, rel=1e-4)
    assert expert_load_spread(1, 2.0) == 0.0  # one device: nothing to balance


def test_imbalance_applies_to_the_expert_gemm_only():
    plan = tokenfab.engine.make_plan(
        "mixtral-8x7b", "nvidia:h100-sxm", batch=64, kv_tokens=164, step_tokens=1, tp=1, ep=8
    )
    imb = expert_imbalance(plan, np.array([64.0]))
    names = [op.name for op in plan.ops]
    assert imb[0, names.index("moe_experts")] == pytest.approx(1.3354, rel=1e-4)
    assert all(imb[0, i] == 1.0 for i, name in enumerate(names) if name != "moe_experts")


@pytest.mark.skipif(not tokenfab.kernel.native_available(), reason="native kernel not built")
def test_fused_kernel_costs_the_same_imbalance():
    # The C pass (blocked and scalar) against the numpy path for tp = 1 x ep = 8: batches below ep
    # (idle groups) and above it, decode and prefill; energy counts the mean device in both.
    from tokenfab.fastpath import fused_totals, reference_totals

    plan = tokenfab.engine.make_plan(
        "mixtral-8x7b", "nvidia:h100-sxm", batch=512, kv_tokens=2048, step_tokens=8, tp=1, ep=8
    )
    B = np.array([1.0, 3.0, 8.0, 64.0, 500.0] * 60)
    T, C = np.ones_like(B) * 2.0, np.floor(np.linspace(0.0, 2000.0, B.size))
    for phase in ("decode", "prefill"):
        fused, ref = fused_totals(plan, phase, B, T, C), reference_totals(plan, phase, B, T, C)
        np.testing.assert_allclose(fused["seconds"], ref.seconds, rtol=1e-12)
        np.testing.assert_allclose(fused["joules"], ref.joules, rtol=1e-12)


def test_nvfp4_moe_quantizes_the_layer_input_once_and_the_fc2_input_inside_moe_act():
    # Qwen3-30B-A3B (48 layers, all MoE, d 2048, 32 heads x 128): per token 48 x (2048 + 4096) for
    # attention and 48 x 2048 for the MoE input = 393,216 elements; the FC2 input (k x 768 = 6144
    # per layer) is written in nvfp4 by moe_act and is not quantized a second time.
    model = tokenfab.load_model("qwen3-30b-a3b")
    assert quantize_elements_per_token(model, ParallelMapping(tp=1)) == 48 * (2048 + 4096) + 48 * 2048 == 393_216
