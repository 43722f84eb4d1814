"""Blackwell GEMM tile rows and the run-time NVFP4 activation quantization (docs/modelling.md)."""

import pytest
import tokenfab
from tokenfab.lowering import ParallelMapping, lower, quantize_elements_per_token


def test_blackwell_gemm_reaches_half_its_ceiling_at_144_rows():
    # Llama-3.3-70B decode on B200, nvfp4, 400 sequences: mlp_up is 80 layers x 400 tokens x
    # 2 x 8192 x 57344 = 3.0065e13 FLOP at 9000 TFLOPS fp4 x 0.76 x 400 / (400 + 144) = 5.029 PFLOP/s
    # -> 5.978 ms, over the contraction-length factor of K = 8192 against the 16384^3 GEMMs gemm_max
    # was measured on (docs/modelling.md "GEMM contraction length"): h = 2 B x 6.84e15 / (2 x 7.7e12 x 0.85)
    # = 1045.1, (8192 / 9237.1) x (17429.1 / 16384) = 0.9434 -> 6.337 ms.
    # The old 64-row tile gave 400 / 464 = 0.862 of the ceiling -> 5.10 ms.
    step = tokenfab.decode_step(
        "llama-3.3-70b", "nvidia:b200", batch=400, context=1000, weights="nvfp4", activations="nvfp4", kv="fp8"
    )
    flops = 80 * 400 * 2 * 8192 * 57344
    op = step.op("mlp_up")
    assert op.flops == pytest.approx(flops, rel=1e-12)
    h = 2.0 * 9000e12 * 0.76 / (2.0 * 7.7e12 * 0.85)
    k_factor = (8192 / (8192 + h)) * ((16384 + h) / 16384)
    assert op.compute_s == pytest.approx(flops / (9000e12 * 0.76 * 400 / 544 * k_factor), rel=1e-9)
    assert op.compute_s > 1.15 * flops / (9000e12 * 0.76 * 400 / 464)
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
