"""MoE, MLA, sliding windows, quantisation, expert parallelism, pipelines, speculative decoding:
hand-computed worked examples."""

import numpy as np
import pytest
import tokenfab
from tokenfab.lowering import ParallelMapping, lower
from tokenfab.serving import Speculative

EXPERT_8X7B = 3 * 4096 * 14336  # 176,160,768 parameters per Mixtral expert


def test_mixtral_parameters():
    m = tokenfab.load_model("mixtral-8x7b")
    # per layer: attention 41,943,040 + 8 experts + router 4096*8 + 2 norms
    per_layer = 41_943_040 + 8 * EXPERT_8X7B + 4096 * 8 + 2 * 4096
    assert m.params == 32 * per_layer + 2 * 32000 * 4096 + 4096 == 46_702_792_704
    assert m.active_params == m.params - 32 * 6 * EXPERT_8X7B == 12_879_925_248


def test_mixtral_expected_distinct_experts_and_bytes():
    # one token reads 8 * (1 - (1 - 2/8)^1) = 2 experts; 16 tokens read 8 * (1 - 0.75^16) = 7.92
    one = tokenfab.decode_step("mixtral-8x7b", "nvidia:h100-sxm", batch=1, context=100, devices=2)
    sixteen = tokenfab.decode_step("mixtral-8x7b", "nvidia:h100-sxm", batch=16, context=100, devices=2)
    expert_bytes_per_device = EXPERT_8X7B * 2 / 2  # bf16, split over tp=2
    moe_one, moe_16 = one.op("moe_experts"), sixteen.op("moe_experts")
    # GEMM activation bytes per token and layer (bf16 = 2 bytes): FC1 reads k = 2 copies of d = 4096
    # and writes 2 * 7168 (tp = 2 halves the width 14336) per copy; FC2 reads 7168, writes 4096.
    act = lambda n: n * (2 * 4096 * (2 + 2) + 2 * 7168 * (2 * 2 + 2)) * 32  # noqa: E731  32 layers
    assert moe_one.bytes == pytest.approx(32 * 2 * expert_bytes_per_device + act(1))
    distinct = 8 * (1 - 0.75**16)
    assert moe_16.bytes == pytest.approx(32 * distinct * expert_bytes_per_device + act(16))
    # FLOPs: each token runs k = 2 experts: 2 * 2 * 176,160,768 per layer, split over tp=2
    assert moe_one.flops == pytest.approx(32 * 2 * 2 * EXPERT_8X7B / 2)


def test_moe_memory_holds_all_experts():
    plan = tokenfab.engine.make_plan(
        "mixtral-8x7b", "nvidia:h100-sxm", batch=1, kv_tokens=100, step_tokens=1, devices=2
    )
    # all 46.7B parameters stored (bf16), split over two GPUs
    assert plan.weight_bytes_per_device == pytest.approx(46_702_792_704 * 2 / 2, rel=0.002)


def test_deepseek_v3_mla_kv_bytes_and_attention_flops():
    m = tokenfab.load_model("deepseek-v3")
    assert m.params == pytest.approx(671.0e9, rel=0.002) and m.active_params == pytest.approx(37.5e9, rel=0.01)
    # MLA caches the 512-wide latent and the 64-wide rope key per layer: 61 * 576 elements
    assert m.kv_elements_per_token() == 61 * (512 + 64) == 35_136
    ops = {op.name: op for op in lower(m, ParallelMapping(tp=1), weight_bytes=1, act_bytes=2, kv_bytes=1)}
    assert ops["attention"].kv_read_bytes_per_ctx == 576  # fp8 latent, all 128 heads share it
    assert ops["attention"].flops_per_pair == 128 * (4 * 512 + 2 * 64)
    # the latent up-projection kv_b: 512 x 128 x (128 + 128), applied to every token (absorbed)
    assert ops["kv_b_proj"].flops_per_token == 2 * 512 * 128 * 256
    # a GQA model with the same 128 heads of 192/128 dims would cache 61 * 128 * (192 + 128) elements: 71x more
    assert 61 * 128 * (192 + 128) / m.kv_elements_per_token() == pytest.approx(71.1, rel=0.01)


def test_deepseek_v3_on_eight_h200_fp8_gives_a_breakdown():
    est = tokenfab.estimate(
        "deepseek-v3", "nvidia:h200", devices=8, weights="fp8", batch=16, input_tokens=1000, output_tokens=500
    )
    assert est.fits and est.devices == 8
    assert 80e9 < est.memory_per_device_bytes < 134e9  # ~84 GB of fp8 weights per GPU, plus KV
    names = {op.name for op in est.decode.breakdown}
    assert {
        "q_a_proj",
        "kv_a_proj",
        "kv_b_proj",
        "attention",
        "router",
        "moe_experts",
        "shared_experts",
        "mlp_allreduce",
    } <= names
    assert 0.005 < est.tpot_s < 0.1


def test_quantised_70b_weight_bytes():
    m = tokenfab.load_model("llama-3.1-70b")
    step = tokenfab.decode_step(m, "nvidia:h100-sxm", batch=1, context=10, devices=1, weights="int4")
    weights = sum(op.bytes for op in step.breakdown if op.kind == "gemm")
    read = (m.params - m.embedding_params - 80 * 2 * 8192 - 8192) * 0.5  # int4 matrices
    gemm_act = sum(float(op.bytes) for op in step.breakdown if op.kind == "gemm") - read
    assert 0 < gemm_act < 0.01 * read  # activations are a sliver at batch 1
    assert weights == pytest.approx(read + gemm_act)
    floor = read / (3.35e12 * 0.9)
    assert floor < step.seconds < floor * 1.35
    fp8 = tokenfab.decode_step(m, "nvidia:h100-sxm", batch=1, context=10, devices=1, weights="fp8")
    assert 1.6 < fp8.seconds / step.seconds < 2.0


def test_sliding_window_layers_split():
    m = tokenfab.load_model("gpt-oss-120b")
    assert m.window_layers == 18 and m.sliding_window == 128
    step = tokenfab.decode_step(m, "nvidia:h100-sxm", batch=1, context=8000, devices=4)
    full, window = step.op("attention"), step.op("attention_window")
    assert full.count == window.count == 18
    # full layers read 8,001 cached tokens, windowed ones 128: pairs ratio 8001 / 128
    assert full.flops / window.flops == pytest.approx(8001 / 128)


def test_expert_parallel_all_to_all():
    step = tokenfab.decode_step(
        "deepseek-v3", "nvidia:h200", batch=64, context=1000, devices=16, tp=2, ep=8, weights="fp8"
    )
    a2a = step.op("moe_alltoall")
    # per attention group (tp=2) 64/8 = 8 sequences; each token goes to k=8 experts on 16 devices:
    # (1 B fp8 dispatch + 2 B bf16 combine) * 8 * 7168 * 15/16 / 2 per token, 8 tokens, 58 MoE layers.
    per_token = (1 + 2) * 8 * 7168 * 15 / 16 / 2
    assert a2a.comm_bytes == pytest.approx(58 * 8 * per_token)
    assert step.devices == 16 and step.plan.mapping.ep == 8
    with pytest.raises(tokenfab.ValidationError, match="ep: expert parallelism needs a mixture-of-experts model"):
        tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=10, ep=2)


def test_pipeline_microbatches_keep_stages_busy():
    one = tokenfab.decode_step("llama-3.1-70b", "nvidia:h100-sxm", batch=1, context=500, tp=2, pp=4)
    four = tokenfab.decode_step("llama-3.1-70b", "nvidia:h100-sxm", batch=4, context=500, tp=2, pp=4)
    # four sequences ride as four micro-batches of one: same latency, four tokens per step
    assert four.seconds == pytest.approx(one.seconds, rel=1e-9)
    # with one micro-batch three of four stages idle: energy is busy + idle power, never TDP-bound
    devices = 8
    assert one.joules < four.joules < 4 * one.joules
    assert one.joules / one.seconds >= devices * 80 * (1 - 1e-9)


def test_speculative_decoding_expected_tokens_and_speedup():
    spec = Speculative(draft="llama-3.2-1b", tokens=4, acceptance=0.7)
    assert spec.expected_tokens == pytest.approx((1 - 0.7**5) / 0.3)  # 2.77
    base = tokenfab.estimate("llama-3.1-70b", "nvidia:h100-sxm", devices=8, input_tokens=500, output_tokens=200)
    fast = tokenfab.estimate(
        "llama-3.1-70b", "nvidia:h100-sxm", devices=8, input_tokens=500, output_tokens=200, speculative=spec
    )
    assert 1.8 < base.tpot_s / fast.tpot_s < 2.8
    assert fast.speculative_tokens_per_step == pytest.approx(2.7731, rel=1e-3)
    mtp = tokenfab.estimate(
        "deepseek-v3",
        "nvidia:h200",
        devices=8,
        weights="fp8",
        input_tokens=500,
        output_tokens=200,
        speculative=Speculative(draft="mtp", tokens=1, acceptance=0.85),
    )
    plain = tokenfab.estimate(
        "deepseek-v3", "nvidia:h200", devices=8, weights="fp8", input_tokens=500, output_tokens=200
    )
    assert 1.2 < plain.tpot_s / mtp.tpot_s < 1.85
    with pytest.raises(tokenfab.ValidationError, match="acceptance"):
        Speculative(draft="mtp", acceptance=1.5)
    with pytest.raises(tokenfab.ValidationError, match="no multi-token-prediction layers"):
        tokenfab.estimate(
            "llama-3.1-8b", "nvidia:h100-sxm", input_tokens=10, output_tokens=10, speculative=Speculative(draft="mtp")
        )


def test_kv_precision_halves_cache():
    bf16 = tokenfab.engine.make_plan("llama-3.1-70b", "nvidia:h200", batch=1, kv_tokens=10, step_tokens=1, devices=2)
    fp8 = tokenfab.engine.make_plan(
        "llama-3.1-70b", "nvidia:h200", batch=1, kv_tokens=10, step_tokens=1, devices=2, kv="fp8"
    )
    assert bf16.kv_bytes_per_token == 2 * fp8.kv_bytes_per_token == 2 * 80 * 4 * 128 * 2
    with pytest.raises(tokenfab.UnsupportedPrecisionError):
        tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=1, activations="fp4")


@pytest.mark.parametrize(
    "model_id",
    ["mixtral-8x22b", "deepseek-v2", "qwen3-8b", "qwen3-30b-a3b", "qwen3-235b-a22b", "gpt-oss-20b", "deepseek-r1"],
)
def test_catalog_models_estimate(model_id):
    est = tokenfab.estimate(
        model_id, "nvidia:b200", devices=8, weights="fp8", batch=8, input_tokens=500, output_tokens=100
    )
    assert est.fits and np.isfinite(est.tokens_per_s) and est.tokens_per_s > 0
