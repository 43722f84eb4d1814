"""Parameter, FLOP and byte counts against hand-computed values."""

import json

import numpy as np
import pytest
import tokenfab
from tokenfab.engine import attention_pairs, make_plan
from tokenfab.lowering import ParallelMapping, lower, weight_bytes_per_device


def test_llama_3_1_8b_parameter_count():
    m = tokenfab.load_model("llama-3.1-8b")
    # q 4096*4096 + k,v 2*4096*1024 + o 4096*4096 + mlp 3*4096*14336 + 2 norms = 218,112,000 per layer
    assert m.attention_params + m.dense_mlp_params + 2 * 4096 == 218_112_000
    # 32 layers + embedding and untied head 2*128256*4096 + final norm 4096 (matches HF: 8,030,261,248)
    assert m.params == 8_030_261_248
    assert m.kv_elements_per_token() * 2 == 131_072  # bf16 KV bytes/token: 2*32*8*128*2


def test_llama_70b_and_405b_sizes():
    assert tokenfab.load_model("llama-3.1-70b").params == 70_553_706_496
    assert tokenfab.load_model("llama-3.1-405b").params == 405_853_388_800
    assert tokenfab.load_model("llama-3.2-1b").lm_head_params == 0  # tied embeddings


def test_decode_flops_and_bytes_hand_computed():
    m = tokenfab.load_model("llama-3.1-8b")
    ops = {op.name: op for op in lower(m, ParallelMapping(), weight_bytes=2, act_bytes=2, kv_bytes=2)}
    assert ops["qkv_proj"].flops_per_token == 2 * 4096 * (32 + 2 * 8) * 128  # 50,331,648
    assert ops["mlp_up"].weight_bytes == 2 * 4096 * 14336 * 2
    assert ops["attention"].flops_per_pair == 4 * 32 * 128
    assert ops["attention"].kv_read_bytes_per_ctx == 2 * 8 * 128 * 2  # K and V, bf16
    assert ops["lm_head"].flops_per_seq == 2 * 128256 * 4096
    # All weights except the embedding table (a gather) are read once per step.
    assert sum(op.weight_bytes * op.count for op in ops.values()) == (m.params - m.embedding_params) * 2


def test_decode_step_breakdown_matches_hand_values():
    step = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=1, context=1024)
    # pairs = 1025 (cached 1024 + the new token): 4*32*128*1025 FLOP per layer, 32 layers
    assert step.op("attention").flops == pytest.approx(4 * 32 * 128 * 1025 * 32)
    assert step.op("qkv_proj").flops == pytest.approx(50_331_648 * 32)
    # KV read 1025 tokens * 4096 B per layer plus the 1 token written, 32 layers, plus activations
    attn_act = 2 * 32 * 128 * 2 * 32
    assert step.op("attention").bytes == pytest.approx(1025 * 4096 * 32 + attn_act)
    assert step.bound == "memory"


def test_tensor_parallel_shards_and_adds_allreduce():
    m = tokenfab.load_model("llama-3.1-70b")
    ops = {op.name: op for op in lower(m, ParallelMapping(tp=8), weight_bytes=2, act_bytes=2, kv_bytes=2)}
    assert ops["qkv_proj"].flops_per_token == 2 * 8192 * (8 + 2 * 1) * 128
    assert ops["attn_allreduce"].comm_bytes_per_token == 8192 * 2
    assert ops["attention"].kv_read_bytes_per_ctx == 2 * 1 * 128 * 2

    def stored(tp):
        mapping = ParallelMapping(tp=tp)
        return weight_bytes_per_device(lower(m, mapping, weight_bytes=2, act_bytes=2, kv_bytes=2), mapping)

    w1, w8 = stored(1), stored(8)
    assert w1 == pytest.approx(m.params * 2)
    assert w8 < w1 / 7.9


def test_tp_that_does_not_divide_heads_pads():
    m = tokenfab.load_model("llama-3.1-8b")  # 32 heads, 8 KV heads
    ops = {op.name: op for op in lower(m, ParallelMapping(tp=12), weight_bytes=2, act_bytes=2, kv_bytes=2)}
    # ceil(32/12) = 3 query heads and ceil(8/12) = 1 KV head per device
    assert ops["qkv_proj"].flops_per_token == 2 * 4096 * (3 + 2 * 1) * 128
    assert ops["attention"].kv_read_bytes_per_ctx == 2 * 1 * 128 * 2


def test_causal_pairs_and_sliding_window():
    b, t, c = (np.array([x], dtype=float) for x in (1, 4, 0))
    pairs, kv = attention_pairs(b, t, c)
    assert pairs[0] == 1 + 2 + 3 + 4 and kv[0] == 4
    pairs, kv = attention_pairs(b, t, c, window=2.0)
    assert pairs[0] == 1 + 2 + 2 + 2 and kv[0] == 2
    # decode after 10 cached tokens with a window of 4: the new token sees 4
    pairs, kv = attention_pairs(np.array([3.0]), np.array([1.0]), np.array([10.0]), window=4.0)
    assert pairs[0] == 3 * 4 and kv[0] == 3 * 4


def _mistral():
    from tokenfab.catalog import CATALOG

    return CATALOG["mistral-7b"]


def test_load_model_from_config_json(tmp_path):
    from tokenfab.catalog import CATALOG

    cfg = {k: v for k, v in CATALOG["llama-3.1-8b"].items() if not k.startswith("_")}
    cfg["_name_or_path"] = "meta-llama/Llama-3.1-8B"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    m = tokenfab.load_model(str(path))
    assert m.id == "llama-3.1-8b" and m.params == 8_030_261_248
    assert tokenfab.load_model(str(tmp_path)).params == m.params  # a folder works too


@pytest.mark.parametrize(
    "change,message",
    [
        ({"model_type": "gpt2"}, "model_type must be one of"),
        ({"num_local_experts": 8}, "missing required key 'num_experts_per_tok'"),
        ({"hidden_size": None}, "hidden_size"),
    ],
)
def test_bad_configs_name_the_key(change, message):
    from tokenfab.catalog import CATALOG

    cfg = {**CATALOG["llama-3.1-8b"], **change}
    if change.get("hidden_size", 1) is None:
        del cfg["hidden_size"]
    with pytest.raises(tokenfab.ValidationError, match=message):
        tokenfab.load_model(cfg)


def test_unknown_model_suggests():
    with pytest.raises(tokenfab.UnknownIdError, match="did you mean 'llama-3.1-8b'"):
        tokenfab.load_model("llama-3.1-8")


def test_default_mapping_picks_fewest_devices_that_fit():
    plan = make_plan("llama-3.1-70b", "nvidia:h100-sxm", batch=1, kv_tokens=2000, step_tokens=1)
    assert plan.mapping.tp == 2  # 141 GB of bf16 weights need two 80 GB GPUs
    plan = make_plan("llama-3.1-70b", "nvidia:h200", batch=1, kv_tokens=2000, step_tokens=1, weights="fp8")
    assert plan.mapping.tp == 1  # 70.6 GB of fp8 weights fit one 141 GB H200
