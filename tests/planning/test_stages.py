"""Pipeline stages split by bytes at layer granularity (tokenfab.planning.stages)."""

from __future__ import annotations

import pytest
import tokenfab
from tokenfab.engine import make_plan
from tokenfab.lowering import Op
from tokenfab.planning.stages import heaviest_layer_bytes, split_stages


def _ops(layers: int, layer_bytes: float, embedding: float, head: float) -> list[Op]:
    return [
        Op(name="mlp", kind="gemm", count=layers, stored_bytes=layer_bytes),
        Op(name="embedding", kind="vector", count=1, stored_bytes=embedding, layer=False),
        Op(name="lm_head", kind="gemm", count=1, stored_bytes=head, layer=False),
    ]


def test_end_stages_take_fewer_layers_to_make_room_for_embedding_and_head():
    # 10 layers of 10 bytes, embedding 15 and head 15, 3 stages. By layer count (old rule) each stage
    # holds ceil(10/3) = 4 layers: 40 + 15 = 55 bytes on an end stage. By bytes: M = 40 gives
    # n1 = floor(25/10) = 2, n_mid = 4, n2 = 2: 8 < 10 layers, not enough; M = 45 gives 3 + 4 + 3 = 10.
    split = split_stages(_ops(10, 10.0, 15.0, 15.0), 10, 3)
    assert split.weight_bytes == pytest.approx(45.0)
    assert split.max_layers == 4
    # one stage holds everything: 100 + 15 + 15
    assert split_stages(_ops(10, 10.0, 15.0, 15.0), 10, 1).weight_bytes == pytest.approx(130.0)
    # two stages: M = 65 gives floor(50/10) = 5 on each end, 10 layers
    assert split_stages(_ops(10, 10.0, 15.0, 15.0), 10, 2).weight_bytes == pytest.approx(65.0)


def test_mixed_layers_count_the_heavier_kind():
    ops = [
        Op(name="attn", kind="gemm", count=4, stored_bytes=2.0),
        Op(name="dense_mlp", kind="gemm", count=1, stored_bytes=3.0),
        Op(name="experts", kind="gemm", count=3, stored_bytes=7.0),
        Op(name="router", kind="gemm", count=3, stored_bytes=1.0),
    ]
    assert heaviest_layer_bytes(ops, 4) == pytest.approx(2.0 + 7.0 + 1.0)


def test_405b_on_cs3_needs_22_wafers_not_26():
    # 126 layers of 6.36 GB (bf16); embedding and LM head 128256 x 16384 x 2 B = 4.2 GB each; 41.8 GB
    # usable per wafer. Old rule: 26 wafers (ceil(126/26) = 5 layers + 4.2 GB; 25 stages would need
    # 6 layers + 4.2 = 42.4 GB, over). By bytes: 22 wafers, 20 middle stages of 6 layers (38.2 GB)
    # and two end stages of 5 layers beside their table (31.8 + 4.2 = 36 GB): 130 >= 126 layers;
    # 21 wafers hold only 2 x 5 + 19 x 6 = 124.
    plan = make_plan("llama-3.1-405b", "cerebras:wse-3", batch=1, kv_tokens=1500, step_tokens=1)
    assert (plan.mapping.tp, plan.mapping.pp, plan.weights_level) == (1, 22, "sram")
    assert plan.weight_bytes_per_device == pytest.approx(6 * 6.36e9, rel=0.01)
    est = tokenfab.estimate("llama-3.1-405b", "cerebras:wse-3", input_tokens=1000, output_tokens=500)
    assert est.devices == 22
