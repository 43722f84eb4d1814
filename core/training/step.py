"""One training step: per-operator times from the cost kernel, exposed communication, bubbles.

The operators of one micro-batch (:mod:`tokenfab.training.flops`) go to
:func:`tokenfab.kernel.evaluate` as two scenarios, forward and backward (the backward carries the
input- and weight-gradient FLOPs, twice the bytes, and the recomputed forward work), and are summed
over the slowest pipeline stage (:func:`stage_counts`: the first stage holds the embedding, the
last the LM head and loss). Each op takes the kernel's ``max(compute, memory) + overhead``; GEMMs
run at the precision's peak times the device's sustained GEMM fraction times
``rows / (rows + gemm_half_rows)`` (:func:`gemm_rows`), fp8 for the linear layers under fp8 mixed
precision, bf16 otherwise; element-wise ops by their bytes (:func:`elementwise_scale`).
Under DualPipe the computation runs on the SMs left after communication: ``1 - 20/132`` of an
H800 (DeepSeek-V3 report, section 3.2.2: "only 20 SMs are sufficient"), applied to every device.

With ``m = global_batch / (dp * micro_batch)`` micro-batches per step, per-micro-batch forward
and backward times ``F`` and ``B`` (compute plus exposed TP/CP/EP communication, see
:mod:`tokenfab.training.comm`) and weight-gradient time ``W`` (half the backward GEMM time)::

    step = m (F + B) + bubble + exposed PP sends + exposed DP collectives + optimizer
    bubble: 1F1B (pp - 1)(F + B); interleaved (pp - 1)(F + B) / v;
            zero-bubble ZB-H1 (pp - 1)(F + B - W) (Qi et al. 2023);
            DualPipe (pp/2 - 1)(F&B + B - 3W), F&B = F + B (DeepSeek-V3 report, table 2)
    optimizer = parameters on the device (/ dp under ZeRO >= 1) * (grad + 2 * state + 2) bytes
                / achievable HBM bandwidth        (Adam: read grad, read/write states, write bf16 weight)
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from ..cost.kernel import KernelInputs, evaluate
from ..errors import UnsupportedPrecisionError, ValidationError
from ..hardware.protocol import Device
from ..models.description import Model
from .config import TrainingMapping, TrainingRecipe
from .flops import TrainOp, training_ops
from .memory import params_per_device

#: Share of SMs DualPipe reserves for communication: 20 of the H800's 132 (DeepSeek-V3 report 3.2.2).
DUALPIPE_COMM_SM_SHARE = 20.0 / 132.0
#: Causal flash attention against the GEMM rate, ``max * s / (s + half)`` in sequence tokens ``s``
#: (:func:`tokenfab.training.flops.attention_rows`: twice the mean keys per query, ``s`` for full causal):
#: measured on an H200 (GH100, the H100/H800 die) with PyTorch SDPA, 32 heads of 128, bf16
#: (benchmarks/results/training-h200-2026-11-29.json): forward 525 / 615 TFLOP/s at 4k / 8k
#: tokens, backward 415 / 505 counting 2.5x the forward FLOPs, against ~760 for the layer's GEMMs.
ATTENTION_FWD = (0.98, 1725.0)
ATTENTION_BWD = (0.825, 2048.0)
#: Attention rate at head dimension 64 over the rate at 128 (the head dimension of the measurement above),
#: (forward, backward): cuDNN on an H100 SXM5, bf16, 4k tokens, no causal mask (Shah et al. 2024,
#: FlashAttention-3, arXiv 2407.08608, figures 5 and 6): forward 408 / 609 TFLOP/s, backward 417 / 499.
#: A 64-wide head halves the work of each QK^T and PV product per softmax element (the exp, max and
#: rescale per score do not shrink), and the same K/V tile feeds half the FLOPs.
HEAD_DIM_64_RATE = (408.0 / 609.0, 417.0 / 499.0)


def head_dim_rates(model: Model) -> tuple[float, float]:
    """(forward, backward) attention rate over the measured head-dimension-128 rate.

    ``1`` at a head dimension ``d >= 128`` (MLA counts its query/key width, 192), ``HEAD_DIM_64_RATE``
    at ``d <= 64``, linear in ``d`` between (no kernel was measured there)::

        factor(d) = f64 + (1 - f64) * (d - 64) / 64          for 64 < d < 128
    """
    d = float(model.qk_nope_head_dim + model.qk_rope_head_dim if model.is_mla else model.head_dim)
    share = min(max((d - 64.0) / 64.0, 0.0), 1.0)
    fwd, bwd = HEAD_DIM_64_RATE
    return fwd + (1.0 - fwd) * share, bwd + (1.0 - bwd) * share


#: Element-wise work (norms, SwiGLU, residual adds, permutations) reaches this share of the HBM peak
#: under tokenfab's byte counts: measured forward + backward in eager PyTorch on the same H200,
#: RMSNorm 0.39, SwiGLU 0.15, residual add 0.57; geometric mean 0.32.
ELEMENTWISE_HBM_FRACTION = 0.32


def elementwise_scale(device: Device, recipe: TrainingRecipe) -> float:
    """Element-wise bandwidth over the HBM's achievable streaming rate: 1 for fused kernels (one pass
    per tensor at the measured copy rate), ``ELEMENTWISE_HBM_FRACTION / efficiency`` in eager PyTorch."""
    if recipe.kernels == "fused":
        return 1.0
    return min(1.0, ELEMENTWISE_HBM_FRACTION / device.weight_memory.efficiency)


@attrs.frozen(kw_only=True)
class StagePass:
    """Seconds and FLOPs of one micro-batch through one pipeline stage on one device."""

    forward_s: float
    backward_s: float
    gemm_forward_s: float
    gemm_backward_s: float
    attention_forward_s: float
    recompute_s: float
    weight_grad_s: float
    hardware_flops: float
    joules: float
    layers: float


def _rates(device: Device, recipe: TrainingRecipe, ops: list[TrainOp], share: float) -> np.ndarray:
    """FLOP rate per op: GEMM peak x sustained GEMM efficiency (fp8 for fp8 linear layers; a training step
    keeps the device at its power limit), vector rate otherwise."""
    base = "bf16" if "bf16" in device.peak_flops_per_s else "fp16"
    try:
        eff = device.efficiency
        bf16 = device.peak(base) * eff.sustained_gemm_fraction(base)
        fp8 = device.peak("fp8") * eff.sustained_gemm_fraction("fp8") if recipe.precision == "fp8" else bf16
    except UnsupportedPrecisionError:
        raise ValidationError(
            f"precision: {device.id} has no {recipe.precision} peak for training "
            f"(supports {', '.join(device.peak_flops_per_s)})"
        ) from None
    rates = [fp8 if op.fp8 else bf16 if op.kind in ("gemm", "attention") else device.vector_flops_per_s for op in ops]
    return np.array(rates) * (1.0 - share)


def _recomputed(op: TrainOp, recipe: TrainingRecipe) -> bool:
    return recipe.recompute == "full" or (recipe.recompute == "selective" and op.recompute == "selective")


#: Operators that run on the first pipeline stage only (the embedding) and on the last (LM head, loss).
FIRST_STAGE_OPS = ("embedding",)
LAST_STAGE_OPS = ("lm_head", "cross_entropy")


#: Tensor-parallel linear layers whose GEMMs Transformer Engine's userbuffers overlap (``tp_overlap``).
TP_OVERLAP_OPS = ("attn_proj", "mlp")


def gemm_rows(op: TrainOp, mapping: TrainingMapping) -> tuple[float, float]:
    """(forward, backward) M dimension of ``op``'s GEMMs for the efficiency curve.

    Under ``tp_overlap`` the forward and input-gradient GEMMs of the tensor-parallel layers run as
    ``tp`` chunks of ``M / tp`` rows, each overlapping one step of the ring exchange (Wang et al.
    2022, "Overlap communication with dependent computation via decomposition"; Transformer Engine
    userbuffers); the weight gradient stays whole. The backward scenario carries both halves, so it
    takes the ``M`` whose efficiency ``r / (r + h)`` gives their summed time:
    ``2 / f(r) = 1 / f(M / tp) + 1 / f(M)`` -> ``r = 2 M / (tp + 1)``.
    """
    rows = max(op.rows, 1.0)
    if not (mapping.tp_overlap and mapping.tp > 1 and op.name in TP_OVERLAP_OPS):
        return rows, rows
    return rows / mapping.tp, 2.0 * rows / (mapping.tp + 1)


def _kernel_inputs(
    device: Device,
    mapping: TrainingMapping,
    recipe: TrainingRecipe,
    ops: list[TrainOp],
    share: float,
    head_dim: tuple[float, float] = (1.0, 1.0),
) -> KernelInputs:
    """Forward and backward scenarios of ``ops``, one instance of each (counts are applied after);
    ``head_dim`` scales the attention rates (:func:`head_dim_rates`)."""
    fwd = np.array([op.flops for op in ops])
    redo = np.array([op.flops if _recomputed(op, recipe) else 0.0 for op in ops])
    redo_bytes = np.array([(op.weight_bytes + op.act_bytes) if _recomputed(op, recipe) else 0.0 for op in ops])
    bwd = np.array([op.flops * op.bwd_factor for op in ops]) + redo
    fwd_bytes = np.array([op.weight_bytes + op.act_bytes for op in ops])
    matrix = np.array([op.kind in ("gemm", "attention") for op in ops])
    hbm, power = device.weight_memory, device.power
    S, O = 2, len(ops)
    rate = _rates(device, recipe, ops, share)
    attention = np.array([op.kind == "attention" for op in ops])
    vector = np.array([op.kind == "vector" for op in ops])
    pad = np.array([op.pad_rows for op in ops])
    half = np.where(matrix, device.efficiency.gemm_half_rows + pad, 0.0)
    rates = np.stack(
        [
            np.where(attention, rate * ATTENTION_FWD[0] * head_dim[0], rate),
            np.where(attention, rate * ATTENTION_BWD[0] * head_dim[1], rate),
        ]
    )
    return KernelInputs(
        flops=np.stack([fwd, bwd]),
        flop_rate=rates,
        gemm_rows=np.array([gemm_rows(op, mapping) for op in ops]).T,
        gemm_half_rows=np.stack(
            [np.where(attention, ATTENTION_FWD[1], half), np.where(attention, ATTENTION_BWD[1], half)]
        ),
        comm_bytes=np.zeros((S, O)),
        comm_bytes_per_s=np.zeros((S, O)),
        comm_latency_s=np.zeros((S, O)),
        overhead_s=np.full((S, O), device.efficiency.overhead_s),
        joules_per_flop=(power.tdp_w - power.idle_w) / rates,
        bandwidth_scale=np.broadcast_to(np.where(vector, elementwise_scale(device, recipe), 1.0), (S, O)),
        level_bytes=np.stack([fwd_bytes, 2.0 * fwd_bytes + redo_bytes])[:, :, None],
        level_bytes_per_s=np.full((S, 1), hbm.effective_bytes_per_s),
        joules_per_byte=np.full((S, 1), hbm.joules_per_byte),
        count=np.ones(O),
        joules_per_comm_byte=np.zeros(S),
        idle_w=np.full(S, power.idle_w),
        max_w=np.full(S, power.tdp_w),
    )


def stage_counts(model: Model, mapping: TrainingMapping, ops: list[TrainOp], per_op_s: np.ndarray):
    """(op counts, layers) of the busiest pipeline stage: the first holds its layers and the embedding,
    the last its layers and the LM head and loss, the others their layers; under DualPipe a device
    holds stage ``i`` and ``pp - 1 - i``, so the end device does half of first + last per micro-batch.
    The slowest stage (by ``per_op_s @ counts``) sets the pipeline's pace."""
    layers = model.num_layers + model.mtp_layers
    ends = FIRST_STAGE_OPS + LAST_STAGE_OPS
    per_layer = np.array([0.0 if op.name in ends else op.count / layers for op in ops])
    emb = np.array([op.count if op.name in FIRST_STAGE_OPS else 0.0 for op in ops])
    head = np.array([op.count if op.name in LAST_STAGE_OPS else 0.0 for op in ops])
    first, middle, last = mapping.stage_layers(layers)
    if mapping.pp == 1:
        return per_layer * layers + emb + head, float(layers)
    stages = [(per_layer * first + emb, first), (per_layer * last + head, last)]
    if mapping.schedule == "dualpipe":
        stages = [((stages[0][0] + stages[1][0]) / 2.0, (first + last) / 2.0)]
    if mapping.pp > 2:
        stages.append((per_layer * middle, middle))
    return max(stages, key=lambda stage: float(per_op_s @ stage[0]))


def stage_pass(model: Model, device: Device, mapping: TrainingMapping, recipe: TrainingRecipe) -> StagePass:
    """Run the kernel on one micro-batch's forward and backward through the busiest stage."""
    ops = training_ops(model, mapping, recipe)
    share = DUALPIPE_COMM_SM_SHARE if mapping.schedule == "dualpipe" else 0.0
    inputs = _kernel_inputs(device, mapping, recipe, ops, share, head_dim_rates(model))
    out = evaluate(inputs)
    one = out["seconds"]  # per instance
    count, layers = stage_counts(model, mapping, ops, one[0] + one[1])
    seconds = one * count[None, :]
    fwd, bwd = inputs.flops
    redo = np.array([op.flops if _recomputed(op, recipe) else 0.0 for op in ops])
    gemm = np.array([op.kind == "gemm" for op in ops])
    attention = np.array([op.kind == "attention" for op in ops])
    trainable = np.array([op.kind == "gemm" and not op.frozen for op in ops])
    safe = np.where(bwd > 0, bwd, 1.0)
    redo_share = np.where(bwd > 0, redo / safe, 0.0)  # recompute share of the backward, op by op
    # weight gradients: half of a trainable GEMM's gradient FLOPs (the other half is dgrad)
    wgrad_share = np.where(trainable, 0.5 * (bwd - redo) / safe, 0.0)
    return StagePass(
        forward_s=float(seconds[0].sum()),
        backward_s=float(seconds[1].sum()),
        gemm_forward_s=float(seconds[0, gemm].sum()),
        gemm_backward_s=float(seconds[1, gemm].sum()),
        attention_forward_s=float(seconds[0, attention].sum()),
        recompute_s=float((seconds[1] * redo_share).sum()),
        weight_grad_s=float((seconds[1] * wgrad_share).sum()),
        hardware_flops=float(((fwd + bwd) * count).sum()),
        joules=float((out["joules"] @ count).sum()),
        layers=layers,
    )


def bubble_s(mapping: TrainingMapping, forward: float, backward: float, weight_grad: float) -> float:
    """Pipeline bubble of one step (module docstring)."""
    pp = mapping.pp
    if pp == 1:
        return 0.0
    if mapping.schedule == "1f1b":
        return (pp - 1) * (forward + backward)
    if mapping.schedule == "interleaved":
        return (pp - 1) * (forward + backward) / mapping.chunks
    if mapping.schedule == "zero-bubble":
        return (pp - 1) * max(forward + backward - weight_grad, 0.0)
    return max(pp / 2 - 1, 0.0) * max((forward + backward) + backward - 3.0 * weight_grad, 0.0)


def micro_batches(mapping: TrainingMapping, recipe: TrainingRecipe) -> int:
    """Micro-batches each pipeline runs per step: ``ceil(global_batch / (dp * micro_batch))``."""
    return max(1, math.ceil(recipe.global_batch / (mapping.dp * recipe.micro_batch)))


def optimizer_s(device: Device, mapping: TrainingMapping, recipe: TrainingRecipe, trainable: float) -> float:
    """Adam update of the device's share of the trainable parameters (module docstring), plus under
    fp8 the once-per-step quantisation of the device's weights (read bf16, write fp8 and its
    transpose: 4 bytes per weight) at the element-wise bandwidth (:func:`elementwise_scale`)."""
    shard = trainable / (mapping.dp * mapping.cp if mapping.zero >= 1 else 1)
    per_param = recipe.grad_bytes + 2.0 * recipe.optimizer_bytes + 2.0
    hbm = device.weight_memory
    seconds = shard * per_param / hbm.effective_bytes_per_s
    if recipe.precision == "fp8":
        seconds += 4.0 * trainable / (hbm.effective_bytes_per_s * elementwise_scale(device, recipe))
    return seconds


def trainable_per_device(model: Model, mapping: TrainingMapping, recipe: TrainingRecipe) -> tuple[float, float]:
    """(dense, expert) trainable parameters per device; LoRA adapters only in fine-tuning."""
    if recipe.finetune != "full":
        from .flops import adapter_params

        return adapter_params(model, recipe.lora_rank) / (mapping.tp * mapping.pp), 0.0
    return params_per_device(model, mapping)
