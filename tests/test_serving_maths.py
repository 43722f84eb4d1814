"""Serving maths (issue 9 item 4): each rule against hand-computed numbers, and invariants."""

import pytest
import tokenfab
from tokenfab.errors import ValidationError


def test_fp4_weights_run_attention_math_at_bf16_peak():
    # B200, Llama-3.1-8B, fp4 weights: matmuls on the fp4 tensor cores, attention math in bf16.
    step = tokenfab.prefill("llama-3.1-8b", "nvidia:b200", tokens=4096, weights="fp4")
    prec = step.plan.precisions
    assert (prec.activations, prec.compute, prec.attention) == ("fp4", "fp4", "bf16")
    # pairs 4096*4097/2 = 8,390,656; 4 * 32 heads * 128 = 16,384 FLOP per pair per layer;
    # rows = 4096 tokens * (32/8 query heads per KV head) = 16,384, efficiency 16384/(16384+64);
    # rate = 2250 TFLOPS bf16 * 0.58 gemm_max: 32 layers * 1.3747e11 / (1.305e15 * 0.99611) = 3.384 ms.
    flops = 32 * 16384 * 4096 * 4097 / 2
    expected = flops / (2250e12 * 0.58 * 16384 / (16384 + 64))
    assert step.op("attention").compute_s == pytest.approx(expected, rel=1e-9)
    # Costed at the fp4 peak (9000 TFLOPS * 0.76), it would have been 5.2x shorter.
    assert step.op("attention").compute_s > 5 * flops / (9000e12 * 0.76)


def test_fp8_attention_only_over_an_fp8_cache():
    step = tokenfab.prefill("llama-3.1-8b", "nvidia:h100-sxm", tokens=1024, weights="fp8", kv="fp8", attention="fp8")
    assert step.plan.precisions.attention_compute == "fp8"
    with pytest.raises(ValidationError, match="attention: fp8 attention math needs an fp8 KV cache"):
        tokenfab.prefill("llama-3.1-8b", "nvidia:h100-sxm", tokens=1024, weights="fp8", kv="bf16", attention="fp8")
    with pytest.raises(ValidationError, match="attention: precision must be one of"):
        tokenfab.prefill("llama-3.1-8b", "nvidia:b200", tokens=1024, weights="fp4", attention="fp4")


def test_estimate_reports_attention_precision():
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", input_tokens=100, output_tokens=10, weights="fp8")
    assert (est.activations, est.attention) == ("fp8", "bf16")
    assert est.to_dict()["attention"] == "bf16"
