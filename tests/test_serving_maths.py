"""Serving maths (issue 9 item 4): each rule against hand-computed numbers, and invariants."""

import numpy as np
import pytest
import tokenfab
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tokenfab.engine import Part, make_plan, run_plan
from tokenfab.errors import FitError, ValidationError


def test_fp4_weights_run_attention_math_at_bf16_peak():
    # B200, Llama-3.1-8B, fp4 weights: matmuls on the fp4 tensor cores, attention math in bf16.
    step = tokenfab.prefill("llama-3.1-8b", "nvidia:b200", tokens=4096, weights="fp4")
    prec = step.plan.precisions
    assert (prec.activations, prec.compute, prec.attention) == ("fp4", "fp4", "bf16")
    # pairs 4096*4097/2 = 8,390,656; 4 * 32 heads * 128 = 16,384 FLOP per pair per layer;
    # rows = 4096 tokens * (32/8 query heads per KV head) = 16,384, efficiency 16384/(16384+144)
    # (Blackwell's 144 half-ceiling rows); rate = 2250 TFLOPS bf16 * 0.58 gemm_max:
    # 32 layers * 1.3747e11 / (1.305e15 * 0.99129) = 3.401 ms.
    flops = 32 * 16384 * 4096 * 4097 / 2
    expected = flops / (2250e12 * 0.58 * 16384 / (16384 + 144))
    assert step.op("attention").compute_s == pytest.approx(expected, rel=1e-9)
    # Costed at the fp4 GEMM rate (9000 TFLOPS * 0.48), it would have been 4320 / (1305 * 0.99129) = 3.34x shorter.
    assert step.op("attention").compute_s > 3.3 * flops / (9000e12 * 0.48)


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


# -- expert parallelism / attention data parallelism ---------------------------------------------


def test_expert_parallel_prefill_routes_each_prompt_once():
    # DeepSeek-V3 on 16 H200 (tp=2, ep=8): one 1000-token prompt. Per device the routed experts
    # do 2 * k * expert_params / (tp * ep) = 2 * 8 * 44,040,192 / 16 = 44,040,192 FLOP per token,
    # over 1000 tokens and 58 MoE layers = 2.554e12 FLOP. Before, every one of the 8 attention
    # groups was taken to hold the prompt, and the experts did 8x that. The breakdown shows the
    # busiest of the 16 devices: 1 + z_16 sqrt(15 / (1000 * 8)) = 1.0766 times the mean (z_16 = 1.7688,
    # tokenfab.lowering.expert_load_spread).
    step = tokenfab.prefill("deepseek-v3", "nvidia:h200", tokens=1000, devices=16, tp=2, ep=8, weights="fp8")
    assert step.op("moe_experts").flops == pytest.approx(58 * 1000 * 2 * 8 * 44040192 / 16 * 1.076592, rel=1e-6)
    # attention: the prompt sits in one group of tp=2 (64 heads per device), 61 layers of
    # 1000*1001/2 pairs at the non-absorbed 2 * 64 * (192 + 128) FLOP per pair
    assert step.op("attention").flops == pytest.approx(61 * 1000 * 1001 / 2 * 2 * 64 * 320)


def test_attention_dp_has_no_per_rank_batch_limit():
    # Before, the 8192-token chunk budget had to exceed the replica batch, so more than 1023
    # sequences per attention rank (8 ranks) was refused.
    est = tokenfab.estimate(
        "deepseek-v3",
        "nvidia:h200",
        batch=8192,
        input_tokens=1000,
        output_tokens=1000,
        devices=16,
        tp=2,
        ep=8,
        weights="fp8",
    )
    assert est.batch == 8192 and est.tokens_per_s > 0


# -- MLA: non-absorbed prefill, absorbed decode ----------------------------------------------------


def test_mla_prefill_uses_the_non_absorbed_form():
    # DeepSeek-V3 on 8 H200 (tp=8): 16 heads per device, kv_lora_rank 512, rope 64, nope 128, v 128.
    # Per (query, key) pair: absorbed 16 * (4*512 + 2*64) = 34,816 FLOP; non-absorbed
    # 2 * 16 * (192 + 128) = 10,240 FLOP: the decode form costs 3.4x the prefill form.
    pre = tokenfab.prefill("deepseek-v3", "nvidia:h200", tokens=1024, context=3072, devices=8, weights="fp8")
    pairs = 1024 * 3072 + 1024 * 1025 / 2
    assert pre.op("attention").flops == pytest.approx(61 * pairs * 10240)
    # kv_b up-projects every latent the chunk attends to (3072 cached + 1024 new):
    # 2 * 512 * 16 * (128 + 128) = 4,194,304 FLOP per KV token
    assert pre.op("kv_b_proj").flops == pytest.approx(61 * 4096 * 4194304)
    dec = tokenfab.decode_step("deepseek-v3", "nvidia:h200", batch=1, context=4095, devices=8, weights="fp8")
    assert dec.op("attention").flops == pytest.approx(61 * 4096 * 34816)  # 4096 pairs, absorbed
    assert dec.op("kv_b_proj").flops == pytest.approx(61 * 1 * 4194304)  # one new token
    assert 34816 / 10240 == pytest.approx(3.4)


# -- communication dtypes ------------------------------------------------------------------------


def test_tensor_parallel_allreduce_carries_bf16_with_fp8_matmuls():
    step = tokenfab.decode_step(
        "llama-3.1-70b", "nvidia:h100-sxm", batch=8, context=1024, devices=8, weights="fp8", kv="fp8"
    )
    assert step.plan.precisions.activations == "fp8"
    # 80 layers * 8 tokens * 8192 hidden * 2 B (bf16 GEMM output) * 2 * 7/8 wire factor = 18.35 MB;
    # fp8 bytes would have halved it.
    assert step.op("attn_allreduce").comm_bytes == pytest.approx(80 * 8 * 8192 * 2 * 2 * 7 / 8)


# -- sliding-window KV ---------------------------------------------------------------------------


def test_sliding_window_layers_store_window_length_kv():
    # gpt-oss-120b on 4 H100 (tp=4): 8 KV heads -> 2 per device, head_dim 64, bf16: 2*2*64*2 = 512 B per
    # token per layer. 18 full layers keep 8000 tokens, 18 windowed layers keep 128:
    # 18 * 512 * (8000 + 128) = 74,907,648 B per sequence (before: 36 * 512 * 8000 = 147,456,000 B).
    step = tokenfab.decode_step("gpt-oss-120b", "nvidia:h100-sxm", batch=1, context=7999, devices=4, tp=4)
    plan = step.plan
    assert plan.kv_cache_bytes(8000.0) == pytest.approx(18 * 512 * (8000 + 128))
    used = plan.memory_per_device(1.0, 8000.0, 1.0)["hbm"]
    assert used - plan.memory_per_device(1.0, 1.0, 1.0)["hbm"] == pytest.approx(18 * 512 * 7999 + 18 * 512 * 127)


# -- speculative decoding ------------------------------------------------------------------------


def test_verify_step_runs_the_lm_head_on_every_drafted_position():
    # 2 sequences verify 3 drafted tokens + 1: the LM head scores 4 positions each,
    # 2 * 128,256 * 4,096 FLOP per position: 2 * 4 * 1.0507e9 = 8.405e9 FLOP.
    verify = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=2, context=100, tokens=4)
    assert verify.op("lm_head").flops == pytest.approx(2 * 4 * 2 * 128256 * 4096)
    # a prefill samples only the last position of each prompt
    pre = tokenfab.prefill("llama-3.1-8b", "nvidia:h100-sxm", batch=2, tokens=4)
    assert pre.op("lm_head").flops == pytest.approx(2 * 1 * 2 * 128256 * 4096)


# -- pipeline parallelism ------------------------------------------------------------------------


def _mixed(plan, batch, contexts, part):
    return float(np.mean(run_plan(plan, "decode", batch, 1, contexts, check_fit=False, extra=part).seconds))


def test_pipeline_counts_a_prompt_chunk_once_not_once_per_micro_batch():
    # Llama-3.1-70B, tp=2 x pp=4, 4 decode sequences = 4 micro-batches of 1, plus a 1000-token chunk.
    plan = make_plan("llama-3.1-70b", "nvidia:h100-sxm", batch=4, kv_tokens=2000, step_tokens=1, tp=2, pp=4)
    chunk = Part(batch=1.0, tokens=1000.0, context=0.0, sampled=False, prompt=True)
    step = run_plan(plan, "decode", 4, 1, 500, extra=chunk)
    # Each micro-batch carries 1 decode token + 1000/4 prompt tokens; mlp_up does
    # 2 * 8192 * 2 * 28672 / 2 = 469,762,048 FLOP per token per device, 80 layers:
    # 4 micro-batches * 80 * 251 * 469,762,048 = 80 * 1004 * 469,762,048 (before: 4 * 80 * 1001 * ...).
    per_token = 2 * 8192 * 2 * 28672 / 2
    assert step.op("mlp_up").flops == pytest.approx(80 * 251 * per_token)
    decode = run_plan(plan, "decode", 4, 1, 500)
    # the chunk's energy is the work of 1000 tokens once: far less than 4x a full chunk's
    alone = run_plan(plan, "prefill", 1, 1000, 0)
    assert step.joules - decode.joules < 1.5 * alone.joules


def test_pipelined_prompt_chunks_overlap_across_stages():
    # One 20,000-token prompt, budget 8192, tp=2 x pp=4: chunks 8192, 8192, 3616. Chunks enter the
    # pipeline one stage time (t/4) apart: ttft = 2 t_full/4 + 3 t_full/4 + t_last/4, against
    # 3 full serial trips (3 t_full) before.
    est = tokenfab.estimate(
        "llama-3.1-70b", "nvidia:h100-sxm", batch=1, input_tokens=20000, output_tokens=100, tp=2, pp=4
    )
    plan = make_plan("llama-3.1-70b", "nvidia:h100-sxm", batch=1, kv_tokens=20100, step_tokens=1, tp=2, pp=4)
    contexts = np.floor(20000 + (np.arange(16) + 0.5) / 16 * 99)
    t_full = _mixed(plan, 1, contexts, Part(batch=1.0, tokens=8192.0, context=5904.0, sampled=False, prompt=True))
    t_last = _mixed(plan, 1, contexts, Part(batch=1.0, tokens=3616.0, context=16384.0, sampled=False, prompt=True))
    assert est.ttft_s == pytest.approx((2 * t_full + 3 * t_full + t_last) / 4, rel=1e-9)
    assert est.ttft_s < 0.5 * 3 * t_full


def test_last_partial_chunk_is_charged_by_its_size():
    # 8292-token prompt, budget 8192, no pipeline: a full chunk and a 100-token one, so
    # ttft = t(8192) + t(100) (before: 2 t(8192)).
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=1, input_tokens=8292, output_tokens=11)
    plan = make_plan("llama-3.1-8b", "nvidia:h100-sxm", batch=1, kv_tokens=8303, step_tokens=1)
    contexts = np.floor(8292 + (np.arange(16) + 0.5) / 16 * 10)
    t_full = _mixed(plan, 1, contexts, Part(batch=1.0, tokens=8192.0, context=50.0, sampled=False, prompt=True))
    t_last = _mixed(plan, 1, contexts, Part(batch=1.0, tokens=100.0, context=8192.0, sampled=False, prompt=True))
    assert est.ttft_s == pytest.approx(t_full + t_last, rel=1e-9)
    assert est.ttft_s < 0.6 * 2 * t_full


# -- chunked-prefill budget: throughput never falls as the batch grows ----------------------------

_DEPLOYMENTS = [  # fixed mappings (tp, pp, ep, dp all given): the invariant is about one deployment's serving maths
    ("llama-3.1-8b", "nvidia:h200", dict(devices=1, tp=1, pp=1, dp=1, weights="fp8", kv="fp8")),
    ("llama-3.1-8b", "amd:mi300x", dict(devices=1, tp=1, pp=1, dp=1)),
    ("llama-3.1-70b", "nvidia:h100-sxm", dict(devices=8, tp=8, pp=1, dp=1, weights="fp8", kv="fp8")),
    ("llama-3.1-70b", "nvidia:h100-sxm", dict(devices=8, tp=2, pp=4, dp=1)),
    ("mixtral-8x7b", "nvidia:h200", dict(devices=2, tp=2, pp=1, dp=1)),
    ("deepseek-v3", "nvidia:h200", dict(devices=16, tp=2, pp=1, ep=8, dp=1, weights="fp8")),
    ("gpt-oss-120b", "nvidia:b200", dict(devices=1, tp=1, pp=1, dp=1, weights="fp4")),
    ("qwen3-30b-a3b", "tpu:v6e", dict(devices=4, tp=4, pp=1, dp=1)),
]


@settings(max_examples=60, deadline=None)
@given(
    which=st.integers(0, len(_DEPLOYMENTS) - 1),
    inp=st.integers(50, 8000),
    out=st.integers(2, 2000),
    low=st.integers(1, 6000),
    more=st.integers(1, 6000),
)
def test_throughput_never_falls_as_batch_grows(which, inp, out, low, more):
    model, backend, options = _DEPLOYMENTS[which]
    try:
        small = tokenfab.estimate(model, backend, batch=low, input_tokens=inp, output_tokens=out, **options)
        large = tokenfab.estimate(model, backend, batch=low + more, input_tokens=inp, output_tokens=out, **options)
    except FitError:
        assume(False)
    assert large.tokens_per_s >= small.tokens_per_s * (1 - 1e-9)


def test_large_batch_throughput_series_keeps_rising():
    # Llama-3.1-8B on 4 H200 (tp=4), 2000 in / 200 out: prompts arrive at B * 2000 / 199 tokens per
    # step. Before, a step carried at most 8192 - B of them (batch 3072: 5120 of 30,874), so
    # throughput fell from 18,975 tokens/s at batch 512 to 8,152 at 3072.
    series = [
        tokenfab.estimate(
            "llama-3.1-8b",
            "nvidia:h200",
            batch=b,
            input_tokens=2000,
            output_tokens=200,
            devices=4,
            tp=4,
            weights="fp8",
            kv="fp8",
        ).tokens_per_s
        for b in (512, 1024, 2048, 3072)
    ]
    assert series == sorted(series)
    assert series[-1] > 1.03 * series[0]


# -- kernel time: compute and memory as a 2-norm; weight-only kernels pad to 16 rows ------------


def test_weight_only_int4_gemm_pads_to_16_rows():
    # Llama-3.1-8B, int4 weights with bf16 math on one H100, batch 1: mlp_up is
    # 2 * 4096 * 2 * 14336 = 234,881,024 FLOP per layer at 989.5 TFLOPS * 0.79 (Hopper bf16 fit) * 1/(1 + 16).
    step = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=10, weights="int4")
    up = step.op("mlp_up")
    assert up.compute_s == pytest.approx(32 * 234881024 / (989.5e12 * 0.79 / 17), rel=1e-9)
    # memory: 117,440,512 int4 weight elements = 58.7 MB per layer; the weight stream bounds the op
    # (a 64-row pad would have made the GEMV compute-bound: 1/65 of the peak)
    assert up.compute_s < up.memory_s
    assert up.seconds == pytest.approx(up.memory_s + 32 * 3e-6, rel=1e-9)


# -- NVLink all-reduce by message size ------------------------------------------------------------


def test_large_allreduce_runs_at_the_nccl_rate_and_time_is_continuous():
    from tokenfab import collectives

    link = tokenfab.get_backend("nvidia:h200").interconnect.scale_up
    # 70B on 8 H200, 4096 tokens: 4096 * 8192 * 2 B = 67.1 MB per all-reduce, wire 1.75x = 117.4 MB,
    # above the 8 MiB custom-kernel limit: NCCL at nccl-tests' rate, 45 us + 117.4 MB / (0.89 * 450 GB/s)
    # = 338 us (fraction 1); in a serving step 0.73 of that bandwidth (SERVING_ALLREDUCE_FRACTION): 447 us.
    wire = 1.75 * 4096 * 8192 * 2
    latency, bandwidth = collectives.allreduce_regime(link, 8, np.array([wire]), fraction=1.0)
    assert latency[0] + wire / bandwidth[0] == pytest.approx(45e-6 + wire / (0.89 * 450e9))
    latency, bandwidth = collectives.allreduce_regime(link, 8, np.array([wire]))
    assert latency[0] + wire / bandwidth[0] == pytest.approx(45e-6 + wire / (0.89 * 0.73 * 450e9))
    # the two regimes meet at the switch: no jump in time as the message grows
    switch = 1.75 * 8 * 2**20
    around = np.array([switch * (1 - 1e-9), switch * (1 + 1e-9)])
    lat, bw = collectives.allreduce_regime(link, 8, around)
    times = lat + around / bw
    assert times[1] == pytest.approx(times[0], rel=1e-6)
    grid = np.linspace(1e3, 3e8, 2000)
    lat, bw = collectives.allreduce_regime(link, 8, grid)
    assert np.all(np.diff(lat + grid / bw) > 0)
