"""Lowering: a model and a parallel mapping become an op table of coefficient rows.

Each operator (one instance, per device, after tensor-parallel sharding) is described by
coefficients of the scenario variables of a step:

* ``B`` sequences in the batch, ``T`` new tokens per sequence, ``N = B*T`` tokens,
* ``P`` attention (query, key) pairs: ``B * sum_{i=1..T} min(C + i, W)`` for context ``C``
  already cached and sliding window ``W`` (causal),
* ``K`` KV-cache tokens read: ``B * min(C + T, W)``.

so that for a scenario::

    flops       = flops_per_token*N + flops_per_seq*B + flops_per_pair*P
    weight      = weight_bytes                                  (read once per step)
    activation  = act_bytes_per_token*N + act_bytes_per_seq*B
    kv          = kv_read_bytes_per_ctx*K + kv_write_bytes_per_token*N
    comm        = comm_bytes_per_token*N   (message size of the collective)
    rows (M)    = rows_per_token*N + rows_per_seq*B + rows_per_seq_token*T

Matrix products count 2 FLOP per multiply-add. Attention scores and values cost
``4 * heads * head_dim`` FLOP per pair. Vector ops use small per-element constants
(RMSNorm 4, SwiGLU 5, RoPE 6 per rotated element) that matter only for their bytes.
"""

from __future__ import annotations

import attrs

from .models import Model

OP_KINDS = ("gemm", "attention", "vector", "allreduce", "p2p")


@attrs.frozen(kw_only=True)
class Op:
    """One operator row of the op table. See the module docstring for the formulas."""

    name: str
    kind: str
    count: float
    weight_bytes: float = 0.0
    flops_per_token: float = 0.0
    flops_per_seq: float = 0.0
    flops_per_pair: float = 0.0
    act_bytes_per_token: float = 0.0
    act_bytes_per_seq: float = 0.0
    kv_read_bytes_per_ctx: float = 0.0
    kv_write_bytes_per_token: float = 0.0
    comm_bytes_per_token: float = 0.0
    rows_per_token: float = 0.0
    rows_per_seq: float = 0.0
    rows_per_seq_token: float = 0.0


def heads_per_device(model: Model, tp: int) -> tuple[float, float]:
    """(query heads, KV heads) one device holds under tensor parallelism ``tp``.

    Heads are whole: when ``tp`` does not divide them, devices are padded to ``ceil(heads/tp)``
    (as Neuron and TensorRT-LLM do); KV heads are replicated when ``tp`` exceeds them."""
    return float(-(-model.num_heads // tp)), float(-(-model.num_kv_heads // tp))


@attrs.frozen(kw_only=True)
class ParallelMapping:
    """How one model replica is laid over devices: tensor parallel ``tp`` x pipeline ``pp``."""

    tp: int = 1
    pp: int = 1

    @property
    def devices(self) -> int:
        return self.tp * self.pp


def lower(
    model: Model, mapping: ParallelMapping, *, weight_bytes: float, act_bytes: float, kv_bytes: float
) -> list[Op]:
    """The op table of one decoder step of ``model`` on one device of ``mapping``.

    ``weight_bytes``, ``act_bytes`` and ``kv_bytes`` are bytes per element of weights,
    activations and KV cache. Layer ops carry ``count = num_layers`` (a token passes through
    every layer; with ``pp`` stages each device holds ``num_layers / pp`` of them).
    Query heads, MLP width and vocabulary split over ``tp``; KV heads split over ``tp`` and
    are replicated when ``tp`` exceeds them.
    """
    tp, d, hd = mapping.tp, model.hidden_size, model.head_dim
    heads, kv_heads = heads_per_device(model, tp)
    group = model.num_heads / model.num_kv_heads
    inter = model.intermediate_size / tp
    layers = float(model.num_layers)
    qkv_out = (heads + 2 * kv_heads) * hd
    qkv_elems = d * qkv_out + (qkv_out if model.attention_bias else 0)
    up_elems = (2 if model.gated_mlp else 1) * d * inter
    vocab = model.vocab_size / tp

    def gemm(name: str, elems: float, in_dim: float, out_dim: float, count: float = layers) -> Op:
        return Op(
            name=name,
            kind="gemm",
            count=count,
            weight_bytes=elems * weight_bytes,
            flops_per_token=2.0 * elems,
            act_bytes_per_token=(in_dim + out_dim) * act_bytes,
            rows_per_token=1.0,
        )

    def norm(name: str, count: float = layers) -> Op:
        return Op(
            name=name,
            kind="vector",
            count=count,
            weight_bytes=d * act_bytes,
            flops_per_token=4.0 * d,
            act_bytes_per_token=2.0 * d * act_bytes,
        )

    ops = [
        Op(
            name="embedding",
            kind="vector",
            count=1.0,
            act_bytes_per_token=2.0 * d * act_bytes,
            weight_bytes=0.0,
            flops_per_token=0.0,
        ),
        norm("attn_norm"),
        gemm("qkv_proj", qkv_elems, d, qkv_out),
        Op(
            name="rope_kv_write",
            kind="vector",
            count=layers,
            flops_per_token=6.0 * (heads + kv_heads) * hd,
            act_bytes_per_token=2.0 * (heads + kv_heads) * hd * act_bytes,
            kv_write_bytes_per_token=2.0 * kv_heads * hd * kv_bytes,
        ),
        Op(
            name="attention",
            kind="attention",
            count=layers,
            flops_per_pair=4.0 * heads * hd,
            act_bytes_per_token=2.0 * heads * hd * act_bytes,
            kv_read_bytes_per_ctx=2.0 * kv_heads * hd * kv_bytes,
            rows_per_seq_token=group,
        ),
        gemm("o_proj", heads * hd * d, heads * hd, d),
    ]
    if tp > 1:
        ops.append(Op(name="attn_allreduce", kind="allreduce", count=layers, comm_bytes_per_token=d * act_bytes))
    ops += [
        norm("mlp_norm"),
        gemm("mlp_up", up_elems, d, up_elems / d),
        Op(
            name="mlp_act",
            kind="vector",
            count=layers,
            flops_per_token=5.0 * inter,
            act_bytes_per_token=(3.0 if model.gated_mlp else 2.0) * inter * act_bytes,
        ),
        gemm("mlp_down", inter * d, inter, d),
    ]
    if tp > 1:
        ops.append(Op(name="mlp_allreduce", kind="allreduce", count=layers, comm_bytes_per_token=d * act_bytes))
    ops.append(norm("final_norm", count=1.0))
    # The LM head runs on the last position of each sequence only (sampling); vocab split over tp.
    lm_elems = vocab * d
    ops.append(
        Op(
            name="lm_head",
            kind="gemm",
            count=1.0,
            weight_bytes=lm_elems * weight_bytes,
            flops_per_seq=2.0 * lm_elems,
            act_bytes_per_seq=(d + vocab) * act_bytes,
            rows_per_seq=1.0,
        )
    )
    if mapping.pp > 1:
        ops.append(Op(name="pp_send", kind="p2p", count=float(mapping.pp - 1), comm_bytes_per_token=d * act_bytes))
    return ops


def weight_bytes_per_device(model: Model, mapping: ParallelMapping, weight_bytes: float, act_bytes: float) -> float:
    """Bytes of weights one device stores: layers split over ``pp`` and ``tp`` (KV projections
    replicated when ``tp`` exceeds the KV heads), embedding and LM head split over ``tp``
    (the embedding table sits with the first stage, the head with the last)."""
    tp, d, hd = mapping.tp, model.hidden_size, model.head_dim
    heads, kv_heads = heads_per_device(model, tp)
    attn = d * (heads + 2 * kv_heads) * hd + heads * hd * d
    mlp = (3 if model.gated_mlp else 2) * d * model.intermediate_size / tp
    per_layer = (attn + mlp) * weight_bytes + 2 * d * act_bytes
    embed = model.embedding_params / tp * weight_bytes
    head = model.lm_head_params / tp * weight_bytes
    stage_layers = -(-model.num_layers // mapping.pp)
    ends = max(embed, head) if mapping.pp > 1 else embed + head
    return stage_layers * per_layer + ends


def kv_bytes_per_token_per_device(model: Model, mapping: ParallelMapping, kv_bytes: float) -> float:
    """KV-cache bytes one device stores per cached token: 2 * kv_heads/tp * head_dim * layers/pp."""
    kv_heads = heads_per_device(model, mapping.tp)[1]
    stage_layers = -(-model.num_layers // mapping.pp)
    return 2.0 * kv_heads * model.head_dim * stage_layers * kv_bytes
