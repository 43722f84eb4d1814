"""Training lowering: a model and a mapping become the operators of one micro-batch on one device.

For a micro-batch of ``b`` sequences of ``s`` tokens split over ``cp`` context-parallel ranks, one
device of a ``tp``-way tensor-parallel group sees ``N = b * s / cp`` tokens. Per operator (all
layers; a pipeline stage runs ``1/pp`` of them) the forward pass costs:

* projections / dense MLP / LM head: ``2 * params / tp * N`` FLOP (one multiply-add per weight);
* attention core: ``pairs * flops_per_pair / tp`` with causal pairs ``b * sum_{i=1..s} min(i, W)``
  (``b * s (s + 1) / 2`` without a window ``W``), split evenly over ``cp``; GQA
  ``4 * heads * head_dim`` FLOP per pair, MLA (not absorbed in training)
  ``2 * heads * (qk_nope + qk_rope + v_head_dim)``;
* routed experts: ``2 * k * expert_params / tp * N * imbalance`` (top-``k`` of ``E`` experts, the
  busiest expert-parallel rank carrying ``imbalance`` times the mean), shared experts and router;
* element-wise work (norms, SwiGLU, token permutation, cross-entropy) by the bytes it moves.

Backward: a matrix product needs an input gradient and a weight gradient, each as costly as the
forward (``bwd = 2 x fwd``); FlashAttention's backward runs five matrix products against the
forward's two (scores recomputed): ``2.5 x fwd`` hardware FLOPs, ``2 x fwd`` model FLOPs. LoRA
freezes the base: its weights need no weight gradient (``bwd = 1 x fwd``), and the adapters
(``r * (d_in + d_out)`` per projection) train in full. Recompute adds forward work to the
backward pass: ``selective`` reruns the element-wise ops (norms, activations, permutations),
``full`` reruns the whole forward of every layer.
"""

from __future__ import annotations

import attrs

from ..cost.engine import EXPERT_TILE_ROWS
from ..models.description import Model
from .config import TrainingMapping, TrainingRecipe

#: bytes per element of activations (bf16 in both precisions; fp8 casts are transient).
ACT_BYTES = 2.0
#: hardware backward / forward FLOPs of FlashAttention (5 matmuls vs 2 incl. the score recompute).
ATTENTION_BWD_FACTOR = 2.5
#: QLoRA NF4 base weights: 4 bits plus double-quantised block scales, 0.127 bits (Dettmers et al. 2023).
NF4_BITS = 4.127


@attrs.frozen(kw_only=True)
class TrainOp:
    """One operator of a micro-batch on one device, all layers together (``count`` instances).

    ``flops``, ``weight_bytes`` and ``act_bytes`` are per instance, forward pass. ``fp8`` marks a
    linear layer whose GEMMs run in fp8 under fp8 mixed precision. ``frozen`` weights (LoRA
    base) need no weight gradient. ``rows`` is the GEMM's M dimension for the efficiency curve.
    ``recompute`` says which policy reruns the op's forward (``selective`` or ``full``). ``pad_rows``:
    a grouped expert GEMM pads each expert's rows to a 128-row tile, ``(t - 1)/2`` wasted rows per
    expert on average, added to the device's ``gemm_half_rows`` (:func:`tokenfab.engine.expert_padding_rows`).
    """

    name: str
    kind: str  # gemm | attention | vector
    count: float
    flops: float
    weight_bytes: float = 0.0
    act_bytes: float = 0.0
    rows: float = 0.0
    fp8: bool = False
    frozen: bool = False
    recompute: str = "full"
    input_elems: float = 0.0  # activation elements the GEMM reads (its fp8 cast under fp8 training)
    pad_rows: float = 0.0  # rows a grouped expert GEMM computes for nothing per expert (added to gemm_half_rows)

    @property
    def bwd_factor(self) -> float:
        """Hardware backward FLOPs over forward FLOPs."""
        if self.kind == "attention":
            return ATTENTION_BWD_FACTOR
        if self.kind == "gemm":
            return 1.0 if self.frozen else 2.0
        return 2.0

    @property
    def model_bwd_factor(self) -> float:
        """Backward FLOPs the algorithm needs (no recompute, no FlashAttention score recompute)."""
        if self.kind == "gemm" and self.frozen:
            return 1.0
        return 2.0


def causal_pairs(seq_len: int, window: int | None = None) -> float:
    """Query-key pairs of one causal sequence: ``sum_{i=1..s} min(i, W)``."""
    s = float(seq_len)
    if window is None or window >= s:
        return s * (s + 1.0) / 2.0
    w = float(window)
    return w * (w + 1.0) / 2.0 + (s - w) * w


def attention_rows(seq_len: int, window: int | None, cp: int = 1) -> float:
    """The length the attention efficiency curve reads: twice the mean keys per query,
    ``2 * causal_pairs / s`` (``s + 1`` for full causal attention, about ``2 W`` under a window
    ``W``: a sliding-window kernel streams only ``W`` keys per query block), split over ``cp``."""
    return 2.0 * causal_pairs(seq_len, window) / seq_len / cp


def attention_flops_per_pair(model: Model) -> float:
    """Forward FLOPs per (query, key) pair over all heads: scores plus the weighted sum of values."""
    if model.is_mla:
        return 2.0 * model.num_heads * (model.qk_nope_head_dim + model.qk_rope_head_dim + model.v_head_dim)
    return 4.0 * model.num_heads * model.head_dim


def _weight_bytes(recipe: TrainingRecipe, frozen: bool) -> float:
    """Bytes per weight element a GEMM reads: bf16, the fp8 copy, or NF4 for a QLoRA base."""
    if frozen and recipe.finetune == "qlora":
        return NF4_BITS / 8.0
    return 1.0 if recipe.precision == "fp8" else 2.0


def _adapter_params(model: Model) -> float:
    """LoRA adapter elements per unit rank in one layer: ``sum (d_in + d_out)`` over the attention
    projections and the dense or shared-expert MLP projections (routed experts stay frozen)."""
    d = model.hidden_size
    if model.is_mla:
        attn = 4 * d + model.num_heads * (model.qk_nope_head_dim + model.qk_rope_head_dim + model.v_head_dim)
    else:
        attn = 2 * (d + model.num_heads * model.head_dim) + 2 * (d + model.num_kv_heads * model.head_dim)
    width = model.intermediate_size if not model.is_moe else model.num_shared_experts * model.moe_intermediate_size
    mlp = (3 if model.gated_mlp else 2) * (d + width)
    return float(attn + mlp)


def adapter_params(model: Model, rank: int) -> float:
    """Trainable LoRA parameters of the whole model at ``rank``."""
    return rank * _adapter_params(model) * model.num_layers


def _norm(name: str, d: float, tokens: float, layers: float) -> TrainOp:
    """RMSNorm over ``tokens`` rows (divided by tp under sequence parallelism): read and write."""
    return TrainOp(
        name=name,
        kind="vector",
        count=layers,
        flops=4.0 * d * tokens,
        act_bytes=2.0 * d * tokens * ACT_BYTES,
        recompute="selective",
    )


def _residual(name: str, d: float, tokens: float, layers: float) -> TrainOp:
    """Residual add after a block: read two streams, write one."""
    return TrainOp(name=name, kind="vector", count=layers, flops=d * tokens, act_bytes=3.0 * d * tokens * ACT_BYTES)


def _attention(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe, layers: float) -> list[TrainOp]:
    tp, d = mapping.tp, model.hidden_size
    n = recipe.micro_batch * recipe.seq_len / mapping.cp
    frozen = recipe.finetune != "full"
    wb = _weight_bytes(recipe, frozen)
    proj = model.attention_params / tp
    ops = [
        _norm("attn_norm", d, n / (tp if mapping.sp else 1), layers),
        _residual("attn_residual", d, n / (tp if mapping.sp else 1), layers),
        TrainOp(
            name="attn_proj",
            kind="gemm",
            count=layers,
            flops=2.0 * proj * n,
            weight_bytes=proj * wb,
            act_bytes=4.0 * d / tp * n * ACT_BYTES,
            input_elems=(d + model.num_heads * (model.v_head_dim or model.head_dim)) / tp * n,
            rows=n,
            fp8=True,
            frozen=frozen,
        ),
    ]
    per_pair = attention_flops_per_pair(model) / tp
    windowed = float(model.window_layers) * layers / model.num_layers
    for name, count, window in (
        ("attention", layers - windowed, None),
        ("attention_window", windowed, model.sliding_window),
    ):
        if count <= 0:
            continue
        pairs = recipe.micro_batch * causal_pairs(recipe.seq_len, window) / mapping.cp
        ops.append(
            TrainOp(
                name=name,
                kind="attention",
                count=count,
                flops=per_pair * pairs,
                act_bytes=4.0 * d / tp * n * ACT_BYTES,
                rows=attention_rows(recipe.seq_len, window, mapping.cp),
            )
        )
    return ops


def _dense_mlp(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe, layers: float) -> list[TrainOp]:
    tp, d = mapping.tp, model.hidden_size
    n = recipe.micro_batch * recipe.seq_len / mapping.cp
    frozen = recipe.finetune != "full"
    inter = model.intermediate_size / tp
    return [
        _norm("mlp_norm", d, n / (tp if mapping.sp else 1), layers),
        _residual("mlp_residual", d, n / (tp if mapping.sp else 1), layers),
        TrainOp(
            name="mlp",
            kind="gemm",
            count=layers,
            flops=2.0 * model.dense_mlp_params / tp * n,
            weight_bytes=model.dense_mlp_params / tp * _weight_bytes(recipe, frozen),
            act_bytes=(2.0 * d / tp + 3.0 * inter) * n * ACT_BYTES,
            input_elems=(d / tp + inter) * n,
            rows=n,
            fp8=True,
            frozen=frozen,
        ),
        TrainOp(
            name="mlp_act",
            kind="vector",
            count=layers,
            flops=5.0 * inter * n,
            act_bytes=3.0 * inter * n * ACT_BYTES,
            recompute="selective",
        ),
    ]


def _moe(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe, layers: float) -> list[TrainOp]:
    """Router, the token permutations, routed experts on the busiest rank (grouped GEMMs), their SwiGLU,
    the weighted un-permute (finalize) and the shared experts (:func:`_moe_permutations`)."""
    tp, d, k, E = mapping.tp, model.hidden_size, model.experts_per_token, model.num_experts
    n = recipe.micro_batch * recipe.seq_len / mapping.cp
    f = model.moe_intermediate_size / tp
    routed = n * k * recipe.moe_imbalance  # token copies this device's experts process
    local_experts = E / mapping.ep
    wb = _weight_bytes(recipe, recipe.finetune != "full")
    ops = [
        _norm("mlp_norm", d, n / (tp if mapping.sp else 1), layers),
        _residual("mlp_residual", d, n / (tp if mapping.sp else 1), layers),
        TrainOp(
            name="router",
            kind="gemm",
            count=layers,
            flops=2.0 * d * E * n,
            weight_bytes=d * E * 2.0,
            act_bytes=(d * ACT_BYTES + E * 4.0) * n,
            rows=n,
        ),
        *_moe_permutations(model, mapping, recipe, layers),
        TrainOp(
            name="moe_experts",
            kind="gemm",
            count=layers,
            flops=2.0 * model.expert_params / tp * routed,
            weight_bytes=local_experts * model.expert_params / tp * wb,
            act_bytes=(2.0 * d + 3.0 * f) * routed * ACT_BYTES,
            input_elems=(d + f) * routed,
            rows=routed / local_experts,
            pad_rows=(EXPERT_TILE_ROWS - 1.0) / 2.0,
            fp8=True,
            frozen=recipe.finetune != "full",
        ),
        TrainOp(
            name="moe_act",
            kind="vector",
            count=layers,
            flops=5.0 * f * routed,
            act_bytes=3.0 * f * routed * ACT_BYTES,
            recompute="selective",
        ),
    ]
    if model.num_shared_experts:
        shared = model.num_shared_experts * model.expert_params / tp
        ops.append(
            TrainOp(
                name="shared_experts",
                kind="gemm",
                count=layers,
                flops=2.0 * shared * n,
                weight_bytes=shared * wb,
                act_bytes=(2.0 * d / tp + 3.0 * f) * n * ACT_BYTES,
                input_elems=(d / tp + model.num_shared_experts * f) * n,
                rows=n,
                fp8=True,
                frozen=recipe.finetune != "full",
            )
        )
    return ops


def _moe_permutations(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe, layers: float) -> list[TrainOp]:
    """The copies an MoE layer makes of its tokens, each pass its own kernel (bytes in units of ``d``
    activations, ``c = N k`` copies of this device's ``N`` tokens, ``r = c * imbalance`` copies its
    experts receive)::

        moe_permute        2 c        gather each token once per chosen expert, grouped by destination
        moe_sort_chunks    2 r x 2    ep > 1 with several local experts: the received chunks come
                                      rank-major and are re-sorted expert-major, and back before the
                                      combine (Megatron-Core ``MoEAlltoAllTokenDispatcher``, "Permutation
                                      2: Sort tokens by local expert", ``sort_chunks_by_idxs``)
        moe_finalize       c + N      un-permute: read the ``k`` outputs of a token, weight them by their
                                      router scores and sum (2 c d FLOPs), write one row

    as the inference MoE kernels (:func:`tokenfab.lowering._moe_ops`). Under DualPipe the dispatch and
    combine are DeepSeek's own kernels: the dispatch gathers each token straight from its layout and
    the combine accumulates the ``k`` outputs while receiving (DeepSeek-V3 report, section 3.2.2: "IB
    receiving and accumulation ... handled by dynamically adjusted warps"), so only the expert-major
    permutation of the received copies and its inverse remain, ``2 r`` each (``moe_permute``,
    ``moe_unpermute``). The backward pass runs each one's transpose over the gradients (twice the
    forward bytes, like every element-wise op here)."""
    d, k = model.hidden_size, model.experts_per_token
    n = recipe.micro_batch * recipe.seq_len / mapping.cp
    copies = n * k
    routed = copies * recipe.moe_imbalance
    if mapping.schedule == "dualpipe":
        return [
            TrainOp(name=name, kind="vector", count=layers, flops=0.0, act_bytes=2.0 * d * routed * ACT_BYTES)
            for name in ("moe_permute", "moe_unpermute")
        ]
    finalize_bytes = (copies + n) * d * ACT_BYTES  # read the k outputs of each token, write one row
    ops = [
        TrainOp(name="moe_permute", kind="vector", count=layers, flops=0.0, act_bytes=2.0 * d * copies * ACT_BYTES),
        TrainOp(name="moe_finalize", kind="vector", count=layers, flops=2.0 * d * copies, act_bytes=finalize_bytes),
    ]
    if mapping.ep > 1 and model.num_experts / mapping.ep > 1:
        sort_bytes = 4.0 * d * routed * ACT_BYTES
        ops.append(TrainOp(name="moe_sort_chunks", kind="vector", count=layers, flops=0.0, act_bytes=sort_bytes))
    return ops


def _lora(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe, layers: float) -> list[TrainOp]:
    """Adapters: ``x A B`` for every adapted projection, trained in full (bf16)."""
    n = recipe.micro_batch * recipe.seq_len / mapping.cp
    elems = recipe.lora_rank * _adapter_params(model) / mapping.tp
    return [
        TrainOp(
            name="lora_adapters",
            kind="gemm",
            count=layers,
            flops=2.0 * elems * n,
            weight_bytes=2.0 * elems,
            act_bytes=2.0 * recipe.lora_rank * n * ACT_BYTES,
            rows=n,
        )
    ]


def _ends(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe, heads: float) -> list[TrainOp]:
    """Embedding gather, final norm, LM head (vocabulary split over tp) and the fp32 cross-entropy.
    ``heads`` counts the LM head passes (the main head plus one per multi-token-prediction module)."""
    tp, d, vocab = mapping.tp, model.hidden_size, model.vocab_size / mapping.tp
    n = recipe.micro_batch * recipe.seq_len / mapping.cp
    frozen = recipe.finetune != "full"
    return [
        TrainOp(name="embedding", kind="vector", count=1.0, flops=0.0, act_bytes=2.0 * d * n * ACT_BYTES),
        TrainOp(
            name="lm_head",
            kind="gemm",
            count=heads,
            flops=2.0 * vocab * d * n,
            weight_bytes=vocab * d * 2.0,
            act_bytes=(d / tp + vocab) * n * ACT_BYTES,
            rows=n,
            frozen=frozen,
        ),
        TrainOp(
            name="cross_entropy", kind="vector", count=heads, flops=5.0 * vocab * n, act_bytes=3.0 * vocab * n * 4.0
        ),
    ]


def training_ops(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe) -> list[TrainOp]:
    """Every operator of one micro-batch on one device, all layers (multi-token-prediction
    layers included: they train with the model)."""
    layers = float(model.num_layers + model.mtp_layers)
    moe = float(model.moe_layers + model.mtp_layers) if model.is_moe else 0.0
    ops = _attention(model, mapping, recipe, layers)
    if layers - moe > 0:
        ops += _dense_mlp(model, mapping, recipe, layers - moe)
    if moe > 0:
        ops += _moe(model, mapping, recipe, moe)
    if recipe.finetune != "full":
        ops += _lora(model, mapping, recipe, layers)
    if recipe.precision == "fp8":
        ops += fp8_casts(ops, recipe)
    return ops + _ends(model, mapping, recipe, 1.0 + model.mtp_layers)


#: Bytes per element of an fp8 cast with current (per-tensor or per-block) scaling in eager kernels:
#: read the bf16 tensor for its amax (2), read it again (2), write the fp8 copy (1) and its transpose
#: for the weight gradient (1). The backward pass casts the output gradients likewise.
FP8_CAST_BYTES = 6.0
#: The same cast fused into the kernel that produces the tensor (Transformer Engine's norm + cast and
#: SwiGLU + cast): the amax comes with the producer's write, one more bf16 read (2) for the scaled
#: cast once the amax is known, the fp8 copy (1) and its transpose (1).
FP8_CAST_FUSED_BYTES = 4.0


def fp8_casts(ops: list[TrainOp], recipe: TrainingRecipe) -> list[TrainOp]:
    """One element-wise cast op per fp8 GEMM for its activation inputs (``FP8_CAST_FUSED_BYTES`` per
    element under fused kernels, ``FP8_CAST_BYTES`` in eager ones);
    the weights are quantised once per step (Transformer Engine caches them over the micro-batches:
    :func:`tokenfab.training.step.optimizer_s` counts them)."""
    casts = []
    per_elem = FP8_CAST_FUSED_BYTES if recipe.kernels == "fused" else FP8_CAST_BYTES
    for op in ops:
        if op.kind == "gemm" and op.fp8:
            casts.append(
                TrainOp(
                    name=f"{op.name}_fp8_cast",
                    kind="vector",
                    count=op.count,
                    flops=op.input_elems,
                    act_bytes=per_elem * op.input_elems,
                )
            )
    return casts


def model_flops_per_token(model: Model, seq_len: int, *, finetune: str = "full", lora_rank: int = 16) -> float:
    """Model FLOPs per trained token (the MFU numerator): forward plus the backward the algorithm
    needs, no recompute: ``6 * matmul params + 3 * causal attention`` for full training (LM head
    included, embedding excluded, MTP layers excluded), ``4 * base + 6 * adapters`` for LoRA."""
    ops = training_ops(
        model.__class__(**{**attrs.asdict(model), "mtp_layers": 0}),
        TrainingMapping(),
        TrainingRecipe(seq_len=seq_len, global_batch=1, steps=1, finetune=finetune, lora_rank=lora_rank),
    )
    total = sum(op.count * op.flops * (1.0 + op.model_bwd_factor) for op in ops if op.kind != "vector")
    return total / seq_len
