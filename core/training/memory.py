"""Memory per device during training: weights, gradients, optimizer states, activations.

Parameters one device holds: the dense (non-expert) parameters of its pipeline stage split over
``tp``, ``layer_params / (tp * pp)`` plus the larger of embedding and LM head ``/ tp`` (both when
``pp = 1``); routed experts additionally over ``ep``. Bytes per parameter (mixed precision Adam)::

    weights     2 (bf16; fp8 copies are quantised per GEMM, transient; NF4 4.127 bits for a QLoRA base)
    gradients   grad_bytes (fp32 accumulation: 4)              trainable parameters only
    optimizer   optimizer_bytes (fp32 master + Adam m, v: 12)  trainable parameters only

ZeRO stage 1 divides the optimizer states by the data-parallel degree (``dp``, or the expert
data-parallel degree ``dp * cp / ep`` for experts), stage 2 also the gradients, stage 3 (FSDP)
also the weights (plus two gathered layers in flight). DualPipe keeps two copies of the weights.

Activations (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
Models", generalised to GQA, gated MLPs and MoE; FlashAttention stores no score matrix, no
dropout masks): bytes stored per token per layer, bf16, with sequence parallelism dividing the
norms' tensors by ``tp``::

    attention  d (norm input) + d (norm output) + q_dim + kv_dim + o_dim      (projections / tp)
    dense MLP  d + d + 2 f + f                                                   (f = ffn width / tp)
    MoE        d + d + 2 E (router, fp32) + k (d + 3 f_e) + shared 3 f_s
    selective recompute drops the norm outputs and activation outputs (MLA: keeps the q and kv latents
    and recomputes the up-projections, as DeepSeek-V3 does); full keeps the layer input d.
    fp8 training caches the routed experts' inputs in fp8 (DeepSeek-V3 report 3.3.3): half the bytes.

A stage holds the activations of the micro-batches in flight: ``pp`` of them on the first stage
under 1F1B and zero-bubble (so ``pp * first_stage_layers`` layer-micro-batches, ``layers`` when the
stages are even), ``(1 + (pp - 1)/(pp v))``
times that interleaved, ``(pp + 1) / pp`` times under DualPipe. The last stage adds the fp32
logits, bf16, their gradient written in place, ``2 * N * vocab / tp`` (the fp32 softmax is
computed in chunks). ``activation_offload`` moves that share of the layers' activations to host
memory (the logits stay). Under fp8 the saved inputs of fp8 linear layers (norm outputs, attention
output, activation output) are the fp8 casts Transformer Engine keeps: half the bytes.
"""

from __future__ import annotations

from typing import Any

from ..models.description import Model
from .config import TrainingMapping, TrainingRecipe
from .flops import NF4_BITS, adapter_params


def _layer_params(model: Model) -> tuple[float, float]:
    """(dense parameters, routed-expert parameters) of every layer including MTP layers."""
    layers = model.num_layers + model.mtp_layers
    moe = model.moe_layers + model.mtp_layers if model.is_moe else 0
    per_layer = model.attention_params + 2 * model.hidden_size
    dense = layers * per_layer + (layers - moe) * model.dense_mlp_params
    experts = 0.0
    if moe:
        dense += moe * (model.hidden_size * model.num_experts + model.num_shared_experts * model.expert_params)
        experts = moe * model.num_experts * model.expert_params
    return float(dense), float(experts)


def params_per_device(model: Model, mapping: TrainingMapping) -> tuple[float, float]:
    """(dense, routed-expert) parameters one device stores (module docstring)."""
    dense, experts = _layer_params(model)
    ends = [model.embedding_params, model.lm_head_params]
    end = max(ends) if mapping.pp > 1 else sum(ends)
    return dense / (mapping.tp * mapping.pp) + end / mapping.tp, experts / (mapping.tp * mapping.ep * mapping.pp)


def activation_bytes_per_token_layer(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe) -> float:
    """Stored activation bytes per token per layer on one device (module docstring)."""
    tp, d = mapping.tp, float(model.hidden_size)
    norm = d / tp if mapping.sp else d
    if recipe.recompute == "full":
        return 2.0 * norm
    if model.is_mla and recipe.recompute == "selective":  # latents kept, up-projections recomputed (DeepSeek-V3)
        q = model.q_lora_rank or model.num_heads * (model.qk_nope_head_dim + model.qk_rope_head_dim)
        kv = model.kv_lora_rank + model.qk_rope_head_dim
        o = model.num_heads * model.v_head_dim
    elif model.is_mla:
        q = model.num_heads * (model.qk_nope_head_dim + model.qk_rope_head_dim)
        kv = model.kv_lora_rank + model.num_heads * (model.qk_nope_head_dim + model.qk_rope_head_dim + model.v_head_dim)
        o = model.num_heads * model.v_head_dim
    else:
        q = o = model.num_heads * model.head_dim
        kv = 2 * model.num_kv_heads * model.head_dim
    keep_outputs = recipe.recompute == "none"
    # under fp8 the saved inputs of fp8 linear layers (norm outputs, attention output, act output) are fp8
    lin = 0.5 if recipe.precision == "fp8" else 1.0
    attn = norm + (lin * norm if keep_outputs else 0.0) + (q + kv) / tp + lin * o / tp
    if model.is_moe:
        k, f = model.experts_per_token, model.moe_intermediate_size / tp
        mlp = norm + (lin * norm if keep_outputs else 0.0) + model.num_experts * 2.0
        fp8_inputs = 0.5 if recipe.precision == "fp8" else 1.0  # expert inputs cached in fp8 (DeepSeek-V3)
        mlp += k * recipe.moe_imbalance * (fp8_inputs * (d + 2 * f) + (lin * f if keep_outputs else 0.0))
        mlp += model.num_shared_experts * (2 * f + (lin * f if keep_outputs else 0.0))
        share = (model.moe_layers + model.mtp_layers) / (model.num_layers + model.mtp_layers)
        f_dense = model.intermediate_size / tp
        dense = norm + (lin * norm if keep_outputs else 0.0) + 2 * f_dense + (lin * f_dense if keep_outputs else 0.0)
        mlp = share * mlp + (1 - share) * dense
    else:
        f = model.intermediate_size / tp
        mlp = norm + (lin * norm if keep_outputs else 0.0) + 2 * f + (lin * f if keep_outputs else 0.0)
    return 2.0 * (attn + mlp)


def in_flight_factor(mapping: TrainingMapping) -> float:
    """Micro-batches of a whole model's layers the busiest stage holds (module docstring)."""
    if mapping.pp == 1:
        return 1.0
    if mapping.schedule == "interleaved":
        return 1.0 + (mapping.pp - 1) / (mapping.pp * mapping.chunks)
    if mapping.schedule == "dualpipe":
        return (mapping.pp + 1) / mapping.pp
    return 1.0


def memory_per_device(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe) -> dict[str, Any]:
    """Bytes per device by kind: weights, gradients, optimizer, activations (module docstring)."""
    dense, experts = params_per_device(model, mapping)
    dp, edp = mapping.dp * mapping.cp, mapping.expert_dp
    if recipe.finetune == "full":
        weights = 2.0 * (dense / (dp if mapping.zero >= 3 else 1) + experts / (edp if mapping.zero >= 3 else 1))
        trainable_dense, trainable_experts = dense, experts
    else:
        base = NF4_BITS / 8.0 if recipe.finetune == "qlora" else 2.0
        adapters = adapter_params(model, recipe.lora_rank) / (mapping.tp * mapping.pp)
        weights = base * (dense + experts) + 2.0 * adapters
        trainable_dense, trainable_experts = adapters, 0.0
    if mapping.schedule == "dualpipe":
        weights *= 2.0
    if mapping.zero >= 3:  # two gathered layers in flight
        layer = (dense + experts) / max(1.0, (model.num_layers + model.mtp_layers) / mapping.pp)
        weights += 2.0 * 2.0 * layer
    grad_div = (dp, edp) if mapping.zero >= 2 else (1, 1)
    opt_div = (dp, edp) if mapping.zero >= 1 else (1, 1)
    grads = recipe.grad_bytes * (trainable_dense / grad_div[0] + trainable_experts / grad_div[1])
    optimizer = recipe.optimizer_bytes * (trainable_dense / opt_div[0] + trainable_experts / opt_div[1])
    tokens = recipe.micro_batch * recipe.seq_len / mapping.cp
    layers = model.num_layers + model.mtp_layers
    first = mapping.stage_layers(layers)[0]
    per_layer = activation_bytes_per_token_layer(model, mapping, recipe) * tokens
    acts = per_layer * first * mapping.pp * in_flight_factor(mapping) * (1.0 - recipe.activation_offload)
    logits = 2.0 * tokens * model.vocab_size / mapping.tp
    return {
        "weights": weights,
        "gradients": grads,
        "optimizer": optimizer,
        "activations": acts + logits,
        "total": weights + grads + optimizer + acts + logits,
    }
