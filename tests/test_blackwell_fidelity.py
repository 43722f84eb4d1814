"""Blackwell GEMM tile rows and the run-time NVFP4 activation quantization (docs/modelling.md)."""

import pytest
import tokenfab
from tokenfab.lowering import ParallelMapping, lower, quantize_elements_per_token


def test_blackwell_gemm_reaches_half_its_ceiling_at_144_rows():
    # Llama-3.3-70B decode on B200, nvfp4, 400 sequences: mlp_up is 80 layers x 400 tokens x
    # 2 x 8192 x 57344 = 3.0065e13 FLOP at 9000 TFLOPS fp4 x 0.48 (the serving NVFP4 CUTLASS GEMM,
    # docs/modelling.md "Blackwell NVFP4 GEMM rate") x 400 / (400 + 144) = 3.1765 PFLOP/s, over the
    # contraction-length factor of K = 8192 against the K = 16384 that gemm_max refers to (docs/modelling.md
    # "GEMM contraction length"): h = 2 B x 4.32e15 / (2 x 7.7e12 x 0.85) = 660.05,
    # (8192 / 8852.05) x (17044.05 / 16384) = 0.96272 -> 3.0580 PFLOP/s -> 9.831 ms.
    # The old 64-row tile gave 400 / 464 = 0.862 of the ceiling.
    step = tokenfab.decode_step(
        "llama-3.3-70b", "nvidia:b200", batch=400, context=1000, weights="nvfp4", activations="nvfp4", kv="fp8"
    )
    flops = 80 * 400 * 2 * 8192 * 57344
    op = step.op("mlp_up")
    assert op.flops == pytest.approx(flops, rel=1e-12)
    h = 2.0 * 9000e12 * 0.48 / (2.0 * 7.7e12 * 0.85)
    k_factor = (8192 / (8192 + h)) * ((16384 + h) / 16384)
    assert k_factor == pytest.approx(0.96272, rel=1e-5)
    assert op.compute_s == pytest.approx(flops / (9000e12 * 0.48 * 400 / 544 * k_factor), rel=1e-9)
    assert op.compute_s == pytest.approx(9.831e-3, rel=1e-3)
    assert op.compute_s > 1.15 * flops / (9000e12 * 0.48 * 400 / 464)
    assert tokenfab.get_backend("nvidia:gb200").efficiency.gemm_half_rows == 144.0
    assert tokenfab.get_backend("nvidia:h200").efficiency.gemm_half_rows == 72.0  # Hopper keeps its fit


def test_nvfp4_activations_pay_a_quantization_pass_per_gemm_input():
    # Llama-3.1-8B (d 4096, 32 heads x 128, MLP 14336, 32 layers) prefill of 1000 tokens on B200:
    # inputs quantized per token = 32 x (4096 + 4096) + 32 x (4096 + 14336) = 851,968 elements, each
    # read as bf16 (2 B) and written as nvfp4 (4.5 bits = 0.5625 B): 2,183,168 B per token, 2.183 GB;
    # at 7.7 TB/s x 0.85 = 6.545 TB/s -> 0.3336 ms, plus 4 kernels x 32 layers x 3 us = 0.384 ms.
    step = tokenfab.prefill("llama-3.1-8b", "nvidia:b200", tokens=1000, weights="nvfp4", activations="nvfp4")
    op = step.op("act_quantize")
    assert op.count == 128
    assert op.bytes == pytest.approx(1000 * 851_968 * 2.5625, rel=1e-12)
    assert op.memory_s == pytest.approx(2.183168e9 / 6.545e12, rel=1e-9)
    assert op.seconds == pytest.approx(2.183168e9 / 6.545e12 + 128 * 3e-6, rel=1e-9)


def test_no_quantization_op_for_8_bit_or_wider_activations():
    for activations in ("fp8", "bf16"):
        step = tokenfab.prefill("llama-3.1-8b", "nvidia:b200", tokens=64, weights="fp8", activations=activations)
        assert "act_quantize" not in [op.name for op in step.breakdown]


def test_quantized_elements_follow_the_tensor_parallel_split():
    model = tokenfab.load_model("llama-3.1-8b")
    # tp 4: 32 x (4096 + 8 heads x 128) + 32 x (4096 + 14336 / 4) = 32 x 5120 + 32 x 7680 = 409,600.
    assert quantize_elements_per_token(model, ParallelMapping(tp=4)) == 409_600
    ops = lower(model, ParallelMapping(tp=4), weight_bytes=0.5625, act_bytes=0.5625, kv_bytes=1.0)
    (quant,) = [op for op in ops if op.name == "act_quantize"]
    assert quant.count * quant.act_bytes_per_token == pytest.approx(409_600 * 2.5625, rel=1e-12)


def _b200_fp4_gemm_tflops(m: float, k: float) -> float:
    device = tokenfab.get_backend("nvidia:b200")
    eff = device.efficiency
    rate = device.peak("fp4") * eff.gemm_fraction("fp4")
    half_k = eff.gemm_half_k(rate, 7.7e12 * 0.85)
    return rate * eff.gemm_k_factor(k, half_k) * m / (m + eff.gemm_half_rows) / 1e12


def test_blackwell_nvfp4_serving_rate_is_the_cutlass_gemm_without_quantization():
    # docs/modelling.md "Blackwell NVFP4 GEMM rate". Calibration, vLLM PR #20646 (B200, N 6144, K 4096,
    # nvfp4-noquant): M 16384: 9000 x 0.48 = 4320 TFLOPS; h = 4.32e15 / 6.545e12 = 660.05;
    # K factor (4096 / 4756.05) x (17044.05 / 16384) = 0.86122 x 1.04029 = 0.89591; rows 16384 / 16528
    # = 0.99129 -> 3836.6 TFLOPS against the published 3904.3 (0.983); M 8192: x 8192 / 8336 -> 3803.5
    # against 3778.8 (1.007).
    assert _b200_fp4_gemm_tflops(16384, 4096) == pytest.approx(3836.6, rel=1e-4)
    assert _b200_fp4_gemm_tflops(16384, 4096) / 3904.33 == pytest.approx(0.983, abs=0.001)
    assert _b200_fp4_gemm_tflops(8192, 4096) / 3778.76 == pytest.approx(1.007, abs=0.001)
    # Check, not fitted: FlashInfer PR #1979 mm_fp4 on B200 at M 1024, N 7168, K 4608: K factor
    # (4608 / 5268.05) x 1.04029 = 0.90996, rows 1024 / 1168 = 0.87671 -> 3446.3 TFLOPS against CUTLASS 3440.6.
    assert _b200_fp4_gemm_tflops(1024, 4608) == pytest.approx(3446.3, rel=1e-4)
    assert _b200_fp4_gemm_tflops(1024, 4608) / 3440.64 == pytest.approx(1.0, abs=0.01)
    # training keeps cuBLASLt's 16384^3 fraction; GB200 takes the same serving fraction of its 10 PF
    for name in ("nvidia:b200", "nvidia:gb200"):
        eff = tokenfab.get_backend(name).efficiency
        assert (eff.gemm_fraction("fp4"), eff.sustained_gemm_fraction("fp4")) == (0.48, 0.76)
        assert eff.gemm_fraction("fp8") == 0.58  # other precisions do not move
