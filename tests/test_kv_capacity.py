"""KV capacity where weights nearly fill the device: Llama-3.1-70B FP8 on one H100, the
TensorRT-LLM v0.17 rows that were predicted at 0.59-0.73x of the published throughput because
tokenfab left too little HBM for the KV cache (docs/modelling.md section 6, "KV capacity")."""

import numpy as np
import pytest
import tokenfab
from tokenfab.engine import make_plan
from tokenfab.models.lowering import HEAD_WEIGHT_BYTES, head_weight_bytes
from tokenfab.serving import max_batch

FP8 = dict(weights="fp8", activations="fp8", kv="fp8", devices=1, tp=1)


def test_hbm_is_what_a_process_sees():
    # cudaMemGetInfo totals (PyTorch's OOM message, our own H200 measurement), not 80e9 / 141e9
    hbm = {b: tokenfab.get_backend(b).level("hbm").capacity_bytes for b in ("nvidia:a100-80gb", "nvidia:h100-sxm")}
    assert hbm["nvidia:a100-80gb"] == 79.25 * 2**30  # 85,094,039,552 B
    assert hbm["nvidia:h100-sxm"] == 79.11 * 2**30  # 84,943,715,696.64 B
    assert tokenfab.get_backend("nvidia:h200").level("hbm").capacity_bytes == 150_109_880_320


def test_head_stays_16_bit_beside_narrow_float_weights():
    assert HEAD_WEIGHT_BYTES == 2.0
    assert head_weight_bytes("fp8", 1.0) == head_weight_bytes("nvfp4", 0.5625) == 2.0  # bf16 head
    assert head_weight_bytes("fp32", 4.0) == 4.0  # wider weights keep their own bytes
    assert head_weight_bytes("int8", 1.0) == 1.0  # integer storage (Groq int8) keeps its own


def test_admitted_batch_by_hand_70b_fp8_h100():
    # Capacity 79.11 GiB = 84,943,715,696.64 B; usable x (1 - 0.05) = 80,696,529,911.81 B.
    # Weights: 80 layers x 855,638,016 matrix parameters (q 8192x8192, kv 8192x2048, o 8192x8192,
    # gate/up/down 3 x 8192x28672) = 68,451,041,280 B at fp8; embedding and LM head 128,256 x 8,192
    # = 1,050,673,152 each at 2 bytes = 4,202,692,608 B; norms (80 x 2 + 1) x 8,192 = 1,318,912 B.
    # Total 72,655,052,800 B.
    weights = 80 * 855_638_016 + 2 * 1_050_673_152 * 2 + 161 * 8192
    assert weights == 72_655_052_800
    # Per sequence reserved to completion (128 + 2048 = 2176 tokens): 2176 x 163,840 B (80 layers x
    # 2 x 8 KV heads x 128 x 1 B) = 356,515,840 B, plus its decode workspace (2 x 8192 + 2 x 28672) x
    # 1 B + 128,256 fp32 logits x 4 B = 586,752 B: 357,102,592 B.
    per_sequence = 2176 * 163_840 + (2 * 8192 + 2 * 28672) + 128_256 * 4
    usable = 79.11 * 2**30 * 0.95
    # (80,696,529,911.81 - 72,655,052,800) / 357,102,592 = 8,041,477,111.81 / 357,102,592 = 22.52 -> 22 (15 with 80e9 B
    # and the LM head at fp8: (76e9 - 70,553,706,496) / 357,102,592 = 15.25)
    assert (usable - weights) / per_sequence == pytest.approx(22.519, abs=1e-3)
    assert (76e9 - 70_553_706_496) / per_sequence == pytest.approx(15.25, abs=1e-2)
    plan = make_plan("llama-3.1-70b", "nvidia:h100-sxm", batch=1, kv_tokens=2176, step_tokens=1, **FP8)
    assert plan.weight_bytes_per_device == weights
    assert plan.kv_bytes_per_token == 163_840
    assert max_batch("llama-3.1-70b", "nvidia:h100-sxm", input_tokens=128, output_tokens=2048, **FP8) == 22
    assert plan.fits(np.float64(22), np.float64(2176), np.float64(1))
    assert not plan.fits(np.float64(23), np.float64(2176), np.float64(1))


def test_lm_head_read_at_16_bit_in_decode():
    # the LM head GEMM streams its bf16 weights every step: 1,050,673,152 x 2 B
    step = tokenfab.decode_step("llama-3.1-70b", "nvidia:h100-sxm", batch=1, context=10, **FP8)
    head = next(op for op in step.breakdown if op.name == "lm_head")
    assert float(head.bytes) == pytest.approx(1_050_673_152 * 2, rel=1e-3)
