"""The engine: resolve model, backend, precisions and mapping, lower, pack arrays, run the kernel.

Device time per operator (see :mod:`tokenfab.kernel` for the exact maths):

* compute = FLOPs / (peak[precision] * gemm_max * f_K * rows / (rows + gemm_half_rows)) for matrix
  products and attention, FLOPs / vector rate for element-wise work; a grouped expert GEMM adds
  the rows it pads per expert to ``gemm_half_rows`` (:func:`expert_padding_rows`); ``f_K`` is the
  contraction-length factor of a matrix product (:func:`gemm_k_factors`, 1 for attention);
* memory  = weight, activation and KV bytes / (bandwidth * efficiency) of the level they sit in;
* communication = alpha-beta cost of the collective on the link that spans the group;
* the op takes the max of the three (the bound) plus a per-operation overhead.

Energy per op: ``J_flop * FLOPs + J_byte * bytes + J_link * wire bytes + idle_w * t``, capped at
``tdp_w * t``. ``J_flop = (tdp_w - idle_w) / achievable rate``: an op at full achievable rate
draws exactly TDP.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .. import bounds
from ..deployment import Deployment, Workload, as_deployment
from ..errors import FitError, ValidationError
from ..hardware import guard
from ..hardware.protocol import PRECISION_BITS, Device, System
from ..hardware.registry import Registry, default_registry
from ..models.description import Model, load_model
from ..models.lowering import Op, ParallelMapping, head_weight_bytes, kv_bytes_per_token_split, lower
from ..planning.stages import split_stages
from . import collectives
from .fastpath import derived_cache, fused_many, memoised, plan_cache, step_totals
from .kernel import BOUND_NAMES, KernelInputs, evaluate

#: Precisions a matrix unit computes in directly; integer weights default to bf16 activations.
_FLOAT_COMPUTE = ("fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "mxfp8", "mxfp6", "mxfp4", "nvfp4")


@attrs.frozen(kw_only=True)
class Precisions:
    """Precision per tensor class: ``weights`` (storage), ``activations`` (the inputs of the
    matrix products), ``kv`` (cache storage) and ``attention`` (the math of QK^T and PV).

    ``compute`` and ``attention_compute`` name the device peaks that serve the activations'
    and the attention math's formats."""

    weights: str
    activations: str
    kv: str
    compute: str  # the device peak that serves the activations' precision
    attention: str = "bf16"
    attention_compute: str = "bf16"


#: Attention math formats real kernels run (see :func:`resolve_attention`): 16/32-bit floats, and
#: fp8 (FlashAttention-3 on Hopper, TensorRT-LLM FP8 context FMHA) over an fp8 KV cache.
ATTENTION_FORMATS = ("fp32", "tf32", "bf16", "fp16", "fp8")


#: Row tile of mixed-input (weight-only quantised) GEMM kernels: Marlin (Frantar et al., 2024,
#: arXiv 2408.11743) and TensorRT-LLM's weight-only kernels issue ``mma.sync.m16n8k16`` tensor-core
#: instructions (PTX ISA), so a small batch pads to 16 rows, not to a 64-row WGMMA tile.
WEIGHT_ONLY_TILE_ROWS = 16.0

#: Row tile of a grouped expert GEMM: each expert's rows are padded to a multiple of it.
#: DeepGEMM aligns every expert segment of its contiguous layout to its 128-row block
#: (``get_m_alignment_for_contiguous_layout``, README "Grouped GEMMs (contiguous layout)");
#: CUTLASS's SM90 ptr-array grouped GEMM behind TensorRT-LLM's Hopper MoE tiles each expert by
#: 128-row CTAs (``moe_gemm_tma_ws_launcher``); vLLM's ``moe_align_block_size`` pads each expert's
#: tokens to ``BLOCK_SIZE_M`` (64-128 in its tuned large-batch configs).
EXPERT_TILE_ROWS = 128.0


def expert_padding_rows(ops: Sequence[Op], weight_only: bool) -> np.ndarray:
    """Per op: the rows a grouped expert GEMM computes for nothing per expert it runs, added to
    its ``gemm_half_rows`` (0 for every other op).

    Each expert's ``M_e`` rows are padded to a multiple of the tile ``t`` (:data:`EXPERT_TILE_ROWS`;
    :data:`WEIGHT_ONLY_TILE_ROWS` for weight-only kernels); the remainder ``M_e mod t`` of a routed
    count is spread evenly, so an expert computes ``(t - 1) / 2`` extra rows on average. The time of
    ``X`` experts of ``M`` rows each is then ``X (M + h + (t - 1)/2) / rate``, i.e. the efficiency
    ``M / (M + h + (t - 1)/2)``: ``h`` (``gemm_half_rows``) is measured on dense GEMMs whose rows
    are whole tiles (powers of two, benchmarks/results/gpu-h200-2026-11-30.json), so the padding
    is not in it."""
    tile = WEIGHT_ONLY_TILE_ROWS if weight_only else EXPERT_TILE_ROWS
    return np.array([(tile - 1.0) / 2.0 if op.experts_total > 0 else 0.0 for op in ops])


def _first_supported(device: Device, choices: tuple[str, ...]) -> str:
    for name in choices:
        if name in device.peak_flops_per_s:
            return name
    return choices[0]  # compute_precision will raise a clear error


def resolve_attention(device: Device, attention: str | None, kv: str) -> str:
    """The attention math precision: never below what real attention kernels use.

    Default: 16-bit (bf16, else fp16) whatever the weights. TensorRT-LLM, vLLM and SGLang run
    attention math in bf16 even with fp8 or fp4 weights; FlashAttention-3's fp8 path (Hopper)
    and TensorRT-LLM's FP8 context FMHA are options that need an fp8 KV cache. No serving stack
    runs attention in fp4/fp6/int formats, so those are refused. Asking for ``"fp8"`` needs
    ``kv="fp8"``.
    """
    if attention is None:
        return _first_supported(device, ("bf16", "fp16", "fp32"))
    if attention not in ATTENTION_FORMATS:
        raise ValidationError(
            f"attention: precision must be one of {', '.join(ATTENTION_FORMATS)} (attention kernels do "
            f"not run below fp8), got {attention!r}"
        )
    if attention == "fp8" and kv != "fp8":
        raise ValidationError(f"attention: fp8 attention math needs an fp8 KV cache (kv='fp8'), got kv={kv!r}")
    return attention


def resolve_precisions(
    device: Device, weights: str | None, activations: str | None, kv: str | None, attention: str | None = None
) -> Precisions:
    """Defaults: weights bf16 (fp16 on devices without bf16); activations = weights when the
    device computes in that format (fp8 and fp4 tensor cores), else bf16/fp16 (weight-only
    quantisation); KV = activations when 8 or 16 bit, else bf16; attention math by
    :func:`resolve_attention` (16-bit unless fp8 is asked for over an fp8 cache)."""
    for field, value in (("weights", weights), ("activations", activations), ("kv", kv), ("attention", attention)):
        if value is not None and value not in PRECISION_BITS:
            raise ValidationError(f"{field}: precision must be one of {', '.join(PRECISION_BITS)}, got {value!r}")
    if weights is None:
        weights = _first_supported(device, ("bf16", "fp16", "fp32"))
    if activations is None:
        activations = _first_supported(device, ("bf16", "fp16", "fp32"))
        if weights in _FLOAT_COMPUTE:
            try:
                device.compute_precision(weights)
                activations = weights
            except ValidationError:
                pass
    compute = device.compute_precision(activations)
    if kv is None:
        kv = activations if activations in ("bf16", "fp16", "fp8") else "bf16"
    attention = resolve_attention(device, attention, kv)
    return Precisions(
        weights=weights,
        activations=activations,
        kv=kv,
        compute=compute,
        attention=attention,
        attention_compute=device.compute_precision(attention),
    )


def resolve_backend(backend: str | Device | System, registry: Registry | None = None) -> tuple[Device | System, Device]:
    if isinstance(backend, str):
        backend = (registry or default_registry()).get(backend)
    if isinstance(backend, System):
        return backend, backend.device
    if isinstance(backend, Device):
        return backend, backend
    raise ValidationError(f"backend: expected an id like 'nvidia:h100-sxm', got {type(backend).__name__}")


def _int_field(name: str, value: Any, low: int) -> int:
    return bounds.check_int(name, value, low)


def _array_field(name: str, value: Any, low: int) -> np.ndarray:
    return bounds.check_array(name, value, low)


@attrs.frozen(kw_only=True)
class Plan:
    """Everything decided before the kernel runs: mapping, precisions, placement, op table."""

    model: Model
    backend: Device | System
    device: Device
    mapping: ParallelMapping
    replicas: int
    precisions: Precisions
    weights_level: str
    kv_level: str
    ops: tuple[Op, ...]
    weight_bytes_per_device: float
    kv_bytes_per_token: float  # per device, full-context layers
    kv_window_bytes_per_token: float = 0.0  # per device, sliding-window layers (stored up to the window)

    @property
    def devices(self) -> int:
        return self.mapping.devices * self.replicas

    @property
    def placement_note(self) -> str:
        """Where weights and KV cache live, said plainly; states when weights stream from external
        memory (MemoryX) rather than sitting on the device."""
        weights, kv = self.device.level(self.weights_level), self.device.level(self.kv_level)
        where = f"weights in {weights.name}, KV cache in {kv.name}"
        if weights.kind == "external":
            rate = weights.effective_bytes_per_s / 1e9
            where += f" (weights stream from {weights.name} at {rate:.0f} GB/s per device every step)"
        return where

    @property
    def deployment(self) -> Deployment:
        """The resolved :class:`Deployment` of this plan: every field filled in, so that passing it
        back reproduces this plan (built once per plan: plans are frozen)."""
        return _per_plan("deployment", self, Plan._resolved_deployment)

    def _resolved_deployment(self) -> Deployment:
        m, prec = self.mapping, self.precisions
        return Deployment(
            backend=self.backend.id,
            devices=self.devices,
            tp=m.tp,
            pp=m.pp,
            ep=m.ep,
            dp=self.replicas,
            attention_dp=m.ep,
            weights=prec.weights,
            activations=prec.activations,
            kv=prec.kv,
            attention=prec.attention,
            weights_memory=self.weights_level,
            kv_memory=self.kv_level,
        )

    def group_batch(self, batch: np.ndarray) -> np.ndarray:
        """Sequences one attention group holds: ``ceil(batch / ep)`` of the replica's ``batch``."""
        return np.ceil(np.asarray(batch, dtype=np.float64) / self.mapping.ep)

    def kv_cache_bytes(self, kv_tokens: np.ndarray) -> np.ndarray:
        """KV bytes one device stores for a sequence of ``kv_tokens`` cached tokens: full-context
        layers hold all of them, sliding-window layers ``min(kv_tokens, window)``."""
        window = self.model.sliding_window or 0
        return self.kv_bytes_per_token * kv_tokens + self.kv_window_bytes_per_token * np.minimum(kv_tokens, window)

    def activation_bytes(self, tokens: np.ndarray, batch: np.ndarray) -> np.ndarray:
        """Peak live activation workspace per device: N (2 d + widest projection) + B vocab/tp fp32 logits."""
        m, tp = self.model, self.mapping.tp
        expert_width = m.experts_per_token * 2 * m.moe_intermediate_size * self.mapping.ep
        widest = max((m.num_heads + 2 * m.num_kv_heads) * m.head_dim, 2 * m.intermediate_size, expert_width) / tp
        act = PRECISION_BITS[self.precisions.activations] / 8.0
        return tokens * (2 * m.hidden_size + widest) * act + batch * m.vocab_size / tp * 4.0

    def memory_per_device(
        self, batch: np.ndarray, kv_tokens: np.ndarray, step_tokens: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Bytes per memory level of one device: weights, KV for ``kv_tokens`` per sequence of its
        attention group (``batch`` is the replica's), workspace."""
        group = self.group_batch(batch)
        kv = group * self.kv_cache_bytes(kv_tokens)
        act = self.activation_bytes(group * step_tokens, group)
        used = {self.weights_level: np.full(np.shape(kv), self.weight_bytes_per_device) + act}
        used[self.kv_level] = used.get(self.kv_level, 0.0) + kv
        return used

    def memory_one(self, batch: float, kv_tokens: float, step_tokens: float) -> dict[str, float]:
        """:meth:`memory_per_device` of one scenario in plain floats (the same operations in the
        same order, so the same values), for the scalar paths and the mapping search."""
        group = float(math.ceil(batch / self.mapping.ep))
        window = self.model.sliding_window or 0
        per_seq = self.kv_bytes_per_token * kv_tokens + self.kv_window_bytes_per_token * min(kv_tokens, window)
        kv = group * per_seq
        used = {self.weights_level: self.weight_bytes_per_device + self.activation_bytes(group * step_tokens, group)}
        used[self.kv_level] = used.get(self.kv_level, 0.0) + kv
        return used

    def fits_one(self, batch: float, kv_tokens: float, step_tokens: float) -> bool:
        """:meth:`fits` of one scenario, in plain floats (the sums of :meth:`memory_fit_one`)."""
        return self.memory_fit_one(batch, kv_tokens, step_tokens)[1]

    def memory_fit_one(self, batch: float, kv_tokens: float, step_tokens: float) -> tuple[float, bool]:
        """(bytes per device over all levels, whether every level fits) of one scenario, in plain
        floats: what :class:`StepCost` reports as ``memory_per_device_bytes`` and ``fits``."""
        on_weights, kv, usable_w, usable_kv = self._used_one(batch, kv_tokens, step_tokens)
        if usable_kv is None:  # weights and KV cache share a level
            on_weights = on_weights + kv
            return on_weights, on_weights <= usable_w
        kv = 0.0 + kv
        return on_weights + kv, on_weights <= usable_w and kv <= usable_kv

    def memory_fit_contexts(self, batch: float, kv_tokens: np.ndarray, step_tokens: float) -> tuple:
        """:meth:`memory_fit_one` over an array of ``kv_tokens`` (``batch`` and ``step_tokens`` one
        number each, as a serving estimate's decode steps): arrays of bytes per device and of fit,
        the values of :meth:`memory_per_device` and :meth:`fits` (the same operations in the same
        order), with the scalar part in plain floats instead of numpy scalars."""
        on_weights, kv, usable_w, usable_kv = self._used_one(float(batch), kv_tokens, float(step_tokens), np.minimum)
        if usable_kv is None:  # weights and KV cache share a level
            total = on_weights + kv
            return total, total <= usable_w
        kv = 0.0 + kv
        return on_weights + kv, (kv <= usable_kv) & (on_weights <= usable_w)

    def _used_one(self, batch: float, kv_tokens: Any, step_tokens: float, minimum: Any = min) -> tuple:
        """(bytes on the weights' level before the KV cache, KV cache bytes, usable bytes of the
        weights' level, of the KV cache's level or ``None`` when they share one): the same
        operations in the same order as :meth:`memory_one` (so the same values), with what no
        scenario changes worked out once per plan (:func:`_fit_terms`). ``kv_tokens`` may be an
        array (with ``minimum=np.minimum``); the rest are plain floats."""
        ep, window, kv_full, kv_window, weights, width, act, vocab, tp, usable_w, usable_kv = _per_plan(
            "fit_terms", self, _fit_terms
        )
        group = float(math.ceil(batch / ep))
        kv = group * (kv_full * kv_tokens + kv_window * minimum(kv_tokens, window))
        on_weights = weights + (group * step_tokens * width * act + group * vocab / tp * 4.0)
        return on_weights, kv, usable_w, usable_kv

    def usable_bytes(self, level: str) -> float:
        return self.device.level(level).capacity_bytes * (1.0 - self.device.efficiency.memory_reserve_fraction)

    def fits(
        self, batch: np.ndarray, kv_tokens: np.ndarray, step_tokens: np.ndarray, used: dict | None = None
    ) -> np.ndarray:
        """Whether every level's use fits its usable bytes; ``used`` is :meth:`memory_per_device` of the
        same arguments when the caller has it already."""
        used = self.memory_per_device(batch, kv_tokens, step_tokens) if used is None else used
        ok = np.ones(np.shape(batch * kv_tokens), dtype=bool)
        for level, amount in used.items():
            ok &= amount <= self.usable_bytes(level)
        return ok

    def fit_error(self, batch: float, kv_tokens: float, step_tokens: float) -> FitError:
        """The :class:`FitError` of a scenario (numbers, or arrays: the largest use per level is named)."""
        numbers = (int, float, np.integer, np.floating)
        if all(isinstance(x, numbers) for x in (batch, kv_tokens, step_tokens)):  # plain floats: the same sums
            used = self.memory_one(float(batch), float(kv_tokens), float(step_tokens))
        else:
            used = self.memory_per_device(np.asarray(batch), np.asarray(kv_tokens), np.asarray(step_tokens))
        parts = ", ".join(
            f"{lvl} {(v if isinstance(v, float) else float(np.max(v))) / 1e9:.1f} GB of "
            f"{self.usable_bytes(lvl) / 1e9:.1f} GB usable"
            for lvl, v in used.items()
        )
        return FitError(
            f"{self.model.id} does not fit on {self.devices} x {self.device.id} "
            f"(tp={self.mapping.tp}, pp={self.mapping.pp}, ep={self.mapping.ep}, weights {self.precisions.weights}) "
            f"at batch "
            f"{int(batch)} and {int(kv_tokens)} tokens of context: needs {parts} per device; "
            f"give more --devices or a smaller precision"
        )


def _bytes(precision: str) -> float:
    return PRECISION_BITS[precision] / 8.0


def _fit_terms(plan: Plan) -> tuple:
    """The scenario-free terms of :meth:`Plan.memory_one` and :meth:`Plan.fits`: experts per
    group, sliding window, KV bytes per token (full, windowed), weight bytes per device, the
    activation width ``2 d + widest projection`` and bytes per element, vocabulary, tp, and the
    usable bytes of the weights' level and of the KV cache's (``None`` when they share one)."""
    m, tp = plan.model, plan.mapping.tp
    expert_width = m.experts_per_token * 2 * m.moe_intermediate_size * plan.mapping.ep
    widest = max((m.num_heads + 2 * m.num_kv_heads) * m.head_dim, 2 * m.intermediate_size, expert_width) / tp
    shared = plan.weights_level == plan.kv_level
    return (
        plan.mapping.ep,
        m.sliding_window or 0,
        plan.kv_bytes_per_token,
        plan.kv_window_bytes_per_token,
        plan.weight_bytes_per_device,
        2 * m.hidden_size + widest,
        PRECISION_BITS[plan.precisions.activations] / 8.0,
        m.vocab_size,
        tp,
        plan.usable_bytes(plan.weights_level),
        None if shared else plan.usable_bytes(plan.kv_level),
    )


def _placement(
    registry: Registry,
    model: Model,
    device: Device,
    bytes_: tuple[float, float, float],
    deployment: Deployment,
) -> tuple[str, str]:
    """Memory levels of weights and KV cache: the deployment's ``weights_memory``/``kv_memory``
    when given, else the pack's ``tokenfab_placement`` hook, else the device's weight memory."""
    default = device.weight_memory.name
    weight_bytes, kv_bytes, act_bytes = bytes_
    choice = None
    asked = deployment.weights_memory is None or deployment.kv_memory is None
    if asked and guard.asked(registry, "tokenfab_placement", device):  # no pack places: no call to make
        choice = guard.call_first(
            registry,
            "tokenfab_placement",
            guard.placement_check(device),
            model=model,
            device=device,
            weights_bytes=weight_bytes,
            kv_bytes=kv_bytes,
            activation_bytes=act_bytes,
        )
    choice = choice or {}
    weights_level = deployment.weights_memory or choice.get("weights", default)
    kv_level = deployment.kv_memory or choice.get("kv", default)
    for field, name in (("weights_memory", weights_level), ("kv_memory", kv_level)):
        if not device.level(name).holds_weights:
            raise ValidationError(f"{field}: memory level {name!r} of {device.id} cannot hold a model")
    return weights_level, kv_level


def _resolve_precisions(device: Device, deployment: Deployment, model: Model) -> Precisions:
    """The deployment's precisions; weights default to the format the checkpoint ships in
    (``Model.weight_precision``, from ``quantization_config``), then to the vendor's serving format
    (``Device.default_weights``), then to the device's 16-bit default."""
    d = deployment
    weights = d.weights or model.weight_precision or device.default_weights
    return resolve_precisions(device, weights, d.activations, d.kv, d.attention)


def _check_mapping(model: Model, device: Device, mapping: ParallelMapping) -> None:
    """Structural limits of a mapping (fit is checked separately): heads, layers, experts, links."""
    if mapping.ep > 1 and not model.is_moe:
        raise ValidationError(
            f"ep: expert parallelism needs a mixture-of-experts model; {model.id} is dense, got {mapping.ep}"
        )
    if mapping.ep > max(model.num_experts, 1):
        raise ValidationError(f"ep: must be <= the {model.num_experts} experts of {model.id}, got {mapping.ep}")
    if mapping.tp > model.num_heads:
        raise ValidationError(f"tp: must be <= the {model.num_heads} attention heads of {model.id}, got {mapping.tp}")
    if mapping.tp > 1 and device.interconnect.link_for(mapping.tp) is None:
        raise ValidationError(f"tp: {device.id} has no device-to-device link, so tp must be 1, got {mapping.tp}")
    if mapping.pp > model.num_layers:
        raise ValidationError(f"pp: must be <= the {model.num_layers} layers of {model.id}, got {mapping.pp}")
    if mapping.ep > 1 and device.interconnect.link_for(mapping.tp * mapping.ep) is None:
        raise ValidationError(f"ep: {device.id} has no device-to-device link, so ep must be 1, got {mapping.ep}")


@attrs.frozen(kw_only=True)
class PlanBuilder:
    """Builds the :class:`Plan` of one mapping: lowering, per-device bytes, placement.

    Everything that does not depend on the mapping (model, backend, precisions, the deployment's
    placement wishes, the scenario the plan is sized for) is fixed once here, so a mapping search
    builds many plans cheaply."""

    model: Model
    backend: Device | System
    device: Device
    precisions: Precisions
    deployment: Deployment
    registry: Registry
    batch: float
    kv_tokens: float
    _built: dict = attrs.field(factory=dict, eq=False, repr=False, alias="_built")

    def at(self, batch: float, kv_tokens: float) -> PlanBuilder:
        """This builder sized for ``batch`` sequences of ``kv_tokens`` context, sharing its store
        (``attrs.evolve`` without re-running ``__init__``: nothing else changes)."""
        new = object.__new__(PlanBuilder)
        for name in _BUILDER_SLOTS:
            object.__setattr__(new, name, getattr(self, name))
        object.__setattr__(new, "batch", batch)
        object.__setattr__(new, "kv_tokens", kv_tokens)
        return new

    def build(self, mapping: ParallelMapping, replicas: int) -> Plan:
        """The plan of ``mapping`` with ``replicas`` data-parallel copies. Lowering is done once per
        mapping and plans are kept by (mapping, placement, replicas) in a store that every builder
        of the same model, backend and deployment shares (see :func:`plan_builder`): a new scenario
        gets back the very same :class:`Plan` object, so per-plan caches (coefficient rows, the
        kernel's prepared inputs) stay warm. Only the placement hook sees the scenario."""
        lowered = self._built.get(mapping)
        if lowered is None:
            _check_mapping(self.model, self.device, mapping)
            lowered = self._built[mapping] = self._lower(mapping)
        ops, w, kv_full, kv_window, max_layers = lowered
        levels = self._levels(mapping, w, kv_full, kv_window)
        key = (mapping, levels, replicas)
        plan = self._built.get(key)
        if plan is None:
            plan = self._built[key] = Plan(
                model=self.model,
                backend=self.backend,
                device=self.device,
                mapping=mapping,
                replicas=replicas,
                precisions=self.precisions,
                weights_level=levels[0],
                kv_level=levels[1],
                ops=ops,
                weight_bytes_per_device=w,
                kv_bytes_per_token=kv_full,
                kv_window_bytes_per_token=kv_window,
            )
        return plan

    def _lower(self, mapping: ParallelMapping) -> tuple:
        """(ops, weight bytes per device, KV bytes per token of full and of windowed layers, layers
        of the largest stage) of ``mapping``: everything of a plan that no scenario changes."""
        model, prec = self.model, self.precisions
        wb, ab, kb = _bytes(prec.weights), _bytes(prec.activations), _bytes(prec.kv)
        head = head_weight_bytes(prec.weights, wb)  # embedding and LM head: 16-bit beside fp8/fp4 weights
        ops = tuple(lower(model, mapping, weight_bytes=wb, act_bytes=ab, kv_bytes=kb, head_bytes=head))
        split = split_stages(ops, model.num_layers, mapping.pp)  # whole layers, balanced by bytes
        kv_full, kv_window = kv_bytes_per_token_split(model, mapping, kb, split.max_layers)
        return ops, split.weight_bytes, kv_full, kv_window, split.max_layers

    def invalid(self, mapping: ParallelMapping) -> str:
        """Why ``mapping`` cannot run this model on this device ("" when it can), once per mapping."""
        key = ("invalid", mapping)
        reason = self._built.get(key)
        if reason is None:
            try:
                _check_mapping(self.model, self.device, mapping)
                reason = ""
            except ValidationError as exc:
                reason = str(exc)
            self._built[key] = reason
        return reason

    def scenario_free(self) -> bool:
        """Whether the plans this builder builds are the same at every scenario: no pack's
        placement hook is asked (the deployment fixes both levels, or no pack places this
        backend), so only the mapping and the replicas decide a plan. Worked out once per store."""
        free = self._built.get(("scenario free",))
        if free is None:
            d = self.deployment
            asked = d.weights_memory is None or d.kv_memory is None
            free = not (asked and guard.asked(self.registry, "tokenfab_placement", self.device))
            self._built[("scenario free",)] = free
        return free

    def _levels(self, mapping: ParallelMapping, w: float, kv_full: float, kv_window: float) -> tuple[str, str]:
        """(weights level, KV level) at this builder's scenario (see :func:`_placement`); once per
        mapping when no pack's placement hook is asked (the deployment fixes both, or none has one)."""
        d = self.deployment
        if self.scenario_free():
            key = ("levels", mapping)
            levels = self._built.get(key)
            if levels is None:
                levels = self._built[key] = _placement(self.registry, self.model, self.device, (w, 0.0, 0.0), d)
            return levels
        cached = kv_full * self.kv_tokens + kv_window * min(self.kv_tokens, self.model.sliding_window or 0)
        kv_total = cached * math.ceil(self.batch / mapping.ep)
        return _placement(self.registry, self.model, self.device, (w, kv_total, 0.0), self.deployment)


_BUILDER_SLOTS = tuple(f.name for f in attrs.fields(PlanBuilder) if f.name not in ("batch", "kv_tokens"))


def explicit_mapping(deployment: Deployment) -> tuple[ParallelMapping, int] | None:
    """The mapping a deployment fixes, or ``None`` when it leaves it to the search.

    A deployment fixes its mapping when it gives ``tp``, ``pp`` or ``ep > 1`` (``devices`` alone
    is a device count for the search). Unset degrees default to ``pp = ep = 1`` and ``tp =
    devices / (pp * ep * dp)`` (``dp`` default 1 when ``tp`` is unset, else ``devices / (tp * pp *
    ep)``)."""
    d = deployment
    if d.tp is None and d.pp is None and (d.ep or 1) == 1:
        return None
    pp, ep = d.pp or 1, d.ep or 1
    if d.devices is None:
        tp = d.tp or 1
        return ParallelMapping(tp=tp, pp=pp, ep=ep), d.dp or 1
    tp = d.tp if d.tp is not None else max(d.devices // (pp * ep * (d.dp or 1)), 1)
    unit = tp * pp * ep
    if d.devices % unit:
        raise ValidationError(f"devices: must be a multiple of tp*pp*ep = {unit}, got {d.devices}")
    replicas = d.devices // unit
    if d.dp is not None and d.dp != replicas:
        raise ValidationError(f"dp: devices / (tp*pp*ep) = {replicas} replicas, got dp={d.dp}")
    return ParallelMapping(tp=tp, pp=pp, ep=ep), replicas


def plan_builder(
    model: Any, backend: Any, deployment: Deployment, *, batch: float, kv_tokens: float, registry: Registry | None
) -> PlanBuilder:
    """The :class:`PlanBuilder` of ``model`` on ``backend`` with the deployment's precisions and
    placement, sized for ``batch`` sequences of ``kv_tokens`` context. Model, backend and precisions
    are resolved once per (model, backend, deployment, registry) (:func:`_resolved_builder`); the
    builders of every scenario share its store of lowered mappings and plans."""
    return _resolved_builder(model, backend, deployment, registry=registry).at(float(batch), float(kv_tokens))


#: Resolved builders kept by :func:`_resolved_builder` (least recently used dropped first).
BUILDER_CACHE_SIZE = 128
_builders: OrderedDict = OrderedDict()


@memoised(_builders, BUILDER_CACHE_SIZE)
def _resolved_builder(model: Any, backend: Any, deployment: Deployment, *, registry: Registry) -> PlanBuilder:
    """The scenario-free part of :func:`plan_builder`: model loaded, backend resolved, precisions
    chosen; ``batch`` and ``kv_tokens`` are placeholders each scenario replaces."""
    model = load_model(model) if not isinstance(model, Model) else model
    target = backend if backend is not None and not isinstance(backend, Deployment) else deployment.backend
    backend, device = resolve_backend(target, registry)
    return PlanBuilder(
        model=model,
        backend=backend,
        device=device,
        precisions=_resolve_precisions(device, deployment, model),
        deployment=deployment,
        registry=registry,
        batch=1.0,
        kv_tokens=1.0,
    )


def streaming_fallback(builder: PlanBuilder) -> PlanBuilder | None:
    """The builder that streams weights from the device's external memory (MemoryX), for when
    on-device memory cannot hold the model at the device count given; ``None`` when the
    deployment fixed the weights' level or the device has no external memory. Its store of plans
    is kept in ``builder``'s, so it too is shared by every scenario."""
    external = builder.device.external_memory
    if builder.deployment.weights_memory is not None or external is None:
        return None
    deployment = attrs.evolve(builder.deployment, weights_memory=external.name)
    store = builder._built.setdefault(("streaming", external.name), {})
    return attrs.evolve(builder, deployment=deployment, _built=store)  # plans of the new placement


def _fixed_plan(builder: PlanBuilder, mapping: ParallelMapping, replicas: int, step_tokens: float) -> Plan:
    """The plan of a mapping the deployment fixed, falling back to weight streaming (when the
    device has external memory) if on-device memory cannot hold it."""
    plan = builder.build(mapping, replicas)
    fallback = streaming_fallback(builder)
    if fallback is not None:
        b, kv, t = float(math.ceil(builder.batch / replicas)), builder.kv_tokens, float(step_tokens)
        if not plan.fits_one(b, kv, t):
            return fallback.build(mapping, replicas)
    return plan


@plan_cache
def make_plan(
    model: str | Model | dict,
    backend: str | Device | System | Deployment | None = None,
    *,
    batch: float,
    kv_tokens: float,
    step_tokens: float,
    deployment: Deployment | None = None,
    registry: Registry | None = None,
    **keywords: Any,
) -> Plan:
    """Resolve everything for the largest scenario (``batch`` sequences of ``kv_tokens`` context).

    ``deployment`` (or the keyword forms ``devices=``, ``tp=``, ``pp=``, ``ep=``, ``dp=``,
    ``weights=``, ``activations=``, ``kv=``, ``attention=``, ``weights_memory=``, ``kv_memory=``)
    says what is fixed. Mapping: the deployment's, when it fixes one (:func:`explicit_mapping`);
    otherwise the mapping search (:mod:`tokenfab.planning.mappings`): the given device count (a
    system's by default) or the fewest devices that fit, and among the shapes of that count the
    one with the shortest step at this scenario.
    """
    base, fixed = _request(model, backend, deployment, registry=registry, **keywords)
    builder = base.at(float(batch), float(kv_tokens))
    if fixed is not None:
        return _fixed_plan(builder, *fixed, step_tokens)
    return _searched_plan(builder, batch, kv_tokens, step_tokens)


_requests: OrderedDict = OrderedDict()


@memoised(_requests, BUILDER_CACHE_SIZE)
def _request(
    model: Any, backend: Any, deployment: Deployment | None, *, registry: Registry, **keywords: Any
) -> tuple[PlanBuilder, tuple[ParallelMapping, int] | None]:
    """The scenario-free part of :func:`make_plan` (the same for every scenario of a model, backend
    and deployment): (the resolved :class:`PlanBuilder`, the mapping the deployment fixes or ``None``)."""
    unknown = sorted(set(keywords) - set(attrs.fields_dict(Deployment)) - {"backend"}) if keywords else ()
    if unknown:
        known = ", ".join(attrs.fields_dict(Deployment))
        raise ValidationError(f"{unknown[0]}: not a deployment field (known: {known})")
    dep = as_deployment(backend, deployment, **keywords)
    return _resolved_builder(model, backend, dep, registry=registry), explicit_mapping(dep)


@functools.cache
def _search_functions() -> tuple:
    """What :func:`_searched_plan` uses of :mod:`tokenfab.planning.mappings` (imported on first use:
    an import statement in the function would cost a microsecond a call)."""
    from ..planning.mappings import Sizing, candidate_shapes, feasible, no_fit_error

    return Sizing, candidate_shapes, feasible, no_fit_error


def _searched_plan(builder: PlanBuilder, batch: float, kv_tokens: float, step_tokens: float) -> Plan:
    """The fastest fitting shape (one step at the scenario) at the search's device count; weights
    streamed from external memory when nothing fits on the device (:func:`streaming_fallback`)."""
    Sizing, candidate_shapes, feasible, no_fit_error = _search_functions()
    kv, step = float(kv_tokens), float(step_tokens)

    def size(dp: int) -> tuple[float, float, float]:
        return float(math.ceil(batch / dp)), kv, step

    sizing = Sizing(size=size)

    def search(b: PlanBuilder, explain: bool = False):
        count, shapes, _ = candidate_shapes(b, sizing, math.ceil(batch), b.deployment.devices)
        return (count, *feasible(b, sizing, shapes, explain))

    count, fitting, rejected, unfit = search(builder)
    fallback = streaming_fallback(builder) if not fitting else None
    if fallback is not None:
        fitting = search(fallback)[1]
    if not fitting and unfit and builder.deployment.devices is not None:
        # A device count the user fixed: keep its widest tensor split even though it does not fit;
        # callers check fit (a sweep reports fits = False, an estimate raises this plan's fit error).
        return max(unfit, key=lambda item: (item[0].tp, -item[0].dp))[1]
    if not fitting:
        raise no_fit_error(builder, count, search(builder, explain=True)[2])

    context = max(float(math.floor(kv - step)), 0.0)  # each shape's scenario: (its replica batch, step, context)
    seconds = _decode_seconds([(plan, (size(shape.dp)[0], step, context)) for shape, plan in fitting])
    return fitting[min(range(len(fitting)), key=seconds.__getitem__)][1]  # the first of the fastest


def _decode_seconds(items: list[tuple[Plan, tuple[float, float, float]]]) -> list[float]:
    """Decode step seconds of each (plan, scenario): the step's totals only, all plans in one fused
    C call (:func:`tokenfab.fastpath.fused_many`), else one numpy pass per plan."""
    fused = fused_many([plan for plan, _ in items], "decode", [scenario for _, scenario in items])
    if fused is not None:
        return fused
    return [float(step_totals(plan, "decode", *(np.array([x]) for x in sc)).seconds[0]) for plan, sc in items]


# -- step costs ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OpCost:
    """One operator's share of a step (all its instances, i.e. times ``count``), per device."""

    name: str
    kind: str
    count: float
    seconds: Any
    compute_s: Any
    memory_s: Any
    comm_s: Any
    overhead_s: Any
    flops: Any
    bytes: Any
    comm_bytes: Any
    joules: Any
    bound: Any

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in attrs.asdict(self).items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@attrs.frozen(kw_only=True)
class StepCost:
    """Cost of one forward step of a model replica (prefill or decode).

    ``seconds`` is the step's wall time; ``joules`` the energy of all ``devices`` of the replica
    (``tp * pp * ep``) over the step; ``bound`` the resource (compute, memory, communication,
    overhead) that accounts for most of the time. Values are floats for a single scenario
    and arrays shaped like the broadcast inputs otherwise. ``breakdown`` holds one
    :class:`OpCost` per operator.
    """

    phase: str
    seconds: Any
    joules: Any
    bound: Any
    # A tuple of OpCost, or a callable that builds it: ``step`` leaves it lazy (see ``breakdown``).
    _breakdown: Any = attrs.field(alias="breakdown", eq=False, repr=False)
    devices: int
    batch: Any
    tokens: Any
    context: Any
    memory_per_device_bytes: Any
    fits: Any
    plan: Plan
    workload: Workload | None = None  # set by prefill()/decode_step(): the workload the step answers

    @property
    def deployment(self) -> Deployment:
        """The resolved deployment this step ran on (see :attr:`Plan.deployment`)."""
        return self.plan.deployment

    @property
    def breakdown(self) -> tuple[OpCost, ...]:
        """One :class:`OpCost` per operator, built on first access (the totals do not need it)."""
        value = self._breakdown
        if callable(value):
            value = value()
            object.__setattr__(self, "_breakdown", value)
        return value

    def op(self, name: str) -> OpCost:
        for item in self.breakdown:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def flops(self) -> Any:
        return sum(op.flops for op in self.breakdown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "model": self.plan.model.id,
            "backend": self.plan.backend.id,
            "devices": self.devices,
            "tp": self.plan.mapping.tp,
            "pp": self.plan.mapping.pp,
            "precisions": attrs.asdict(self.plan.precisions),
            "batch": _jsonable(self.batch),
            "tokens": _jsonable(self.tokens),
            "context": _jsonable(self.context),
            "seconds": _jsonable(self.seconds),
            "joules": _jsonable(self.joules),
            "bound": _jsonable(self.bound),
            "memory_per_device_bytes": _jsonable(self.memory_per_device_bytes),
            "fits": _jsonable(self.fits),
            "deployment": self.deployment.to_dict(),
            "workload": self.workload.to_dict() if self.workload is not None else None,
            "breakdown": [op.to_dict() for op in self.breakdown],
        }

    def records(self) -> list[dict[str, Any]]:
        """One flat row per scenario of the broadcast inputs (no per-operator breakdown)."""
        keys = ("batch", "tokens", "context", "seconds", "joules", "bound", "memory_per_device_bytes", "fits")
        arrays = np.broadcast_arrays(*(np.asarray(getattr(self, key)) for key in keys))
        mapping = self.plan.mapping
        head = {"phase": self.phase, "model": self.plan.model.id, "backend": self.plan.backend.id}
        head.update(devices=self.devices, tp=mapping.tp, pp=mapping.pp, **attrs.asdict(self.plan.precisions))
        columns = [array.ravel().tolist() for array in arrays]
        return [{**head, **dict(zip(keys, values, strict=True))} for values in zip(*columns, strict=True)]

    def to_pandas(self):
        """:meth:`records` as a pandas DataFrame (needs ``tokenfab[pandas]``)."""
        from ..io.frames import records_to_pandas

        return records_to_pandas(self.records())

    def to_arrow(self):
        """:meth:`records` as a pyarrow Table (needs ``tokenfab[arrow]``)."""
        from ..io.frames import records_to_arrow

        return records_to_arrow(self.records())


def attention_pairs(batch: np.ndarray, tokens: np.ndarray, context: np.ndarray, window: float = np.inf):
    """(pairs P, KV tokens read K) of ``batch`` sequences adding ``tokens`` after ``context``,
    attending within ``window``: ``P = B * sum_{i=1..T} min(C + i, W)``, ``K = B * min(C + T, W)``."""
    seen = np.clip(window - context, 0.0, tokens)  # new tokens whose whole prefix is inside the window
    per_seq = seen * context + seen * (seen + 1.0) / 2.0 + (tokens - seen) * np.minimum(window, context + tokens)
    return batch * per_seq, batch * np.minimum(context + tokens, window)


@attrs.frozen(kw_only=True)
class Part:
    """Sequences of a step that share a shape: ``batch`` sequences each adding ``tokens`` after
    ``context`` cached ones.

    ``prompt`` parts are prefill chunks (MLA runs them in the non-absorbed form); the others are
    decode tokens. ``sampled`` parts run the LM head: a prompt part on its last position, a decode
    part on every new position (a speculative verify step scores all ``k + 1``)."""

    batch: np.ndarray
    tokens: np.ndarray
    context: np.ndarray
    sampled: bool = True
    prompt: bool = False

    @property
    def lm_positions(self) -> np.ndarray:
        """LM-head positions per sequence: 0 (not sampled), 1 (prompt) or ``tokens`` (decode)."""
        if not self.sampled:
            return np.zeros_like(self.tokens)
        return np.ones_like(self.tokens) if self.prompt else self.tokens

    def scaled(self, share: np.ndarray) -> Part:
        """The part with ``share`` of its sequences (a micro-batch's or attention group's share)."""
        return attrs.evolve(self, batch=self.batch * share)


@attrs.frozen(kw_only=True)
class _Layout:
    """How a replica's step is split (see :func:`run_plan`): ``micro`` micro-batches in flight,
    each holding ``batch_time`` sequences of a busy attention group (what sets the time) and
    ``batch_mean`` of the average group (the work, hence the energy)."""

    micro: np.ndarray
    batch_time: np.ndarray
    batch_mean: np.ndarray
    routed_share: np.ndarray  # share of the replica's tokens one micro-batch routes to the experts


def _layout(plan: Plan, replica_batch: np.ndarray) -> _Layout:
    mean = replica_batch / plan.mapping.ep
    busy = np.maximum(mean, 1.0)  # a busy group holds at least one sequence
    micro = np.minimum(busy, plan.mapping.pp)
    return _Layout(
        micro=micro,
        batch_time=busy / micro,
        batch_mean=mean / micro,
        routed_share=1.0 / micro,
    )


def _broadcast_part(part: Part, shape: tuple[int, ...]) -> Part:
    def arr(value: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).astype(np.float64)

    return attrs.evolve(part, batch=arr(part.batch), tokens=arr(part.tokens), context=arr(part.context))


_per_plan_store: dict[tuple[str, int], tuple[Any, Any]] = derived_cache({})


def _per_plan(kind: str, plan: Plan, make: Any) -> Any:
    """``make(plan)``, computed once per plan (plans are frozen) and kept while the plan lives."""
    key = (kind, id(plan))
    hit = _per_plan_store.get(key)
    if hit is not None and hit[0]() is plan:
        return hit[1]
    value = make(plan)
    if len(_per_plan_store) > 1024:
        _per_plan_store.clear()
    _per_plan_store[key] = (weakref.ref(plan), value)
    return value


def _read_only(arrays: dict[str, Any]) -> dict[str, Any]:
    for value in arrays.values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared between calls: nobody may change them
    return arrays


def _op_columns(ops: Sequence[Op]) -> dict[str, np.ndarray]:
    return {
        f.name: np.array([getattr(op, f.name) for op in ops], dtype=np.float64)
        for f in attrs.fields(Op)
        if f.type in ("float", float)
    }


def _plan_columns(plan: Plan) -> dict[str, np.ndarray]:
    """:func:`_op_columns` of the plan's ops, once per plan."""
    return _per_plan("columns", plan, lambda p: _read_only(_op_columns(p.ops)))


def expert_imbalance(plan: Plan, routed: np.ndarray) -> np.ndarray:
    """[S, O] busiest device's expert load over the mean: ``min(1 + c / sqrt(R), min(n, E / k))``
    for ops with ``expert_imbalance`` ``c > 0`` (:func:`tokenfab.lowering.expert_load_spread`), 1
    elsewhere. ``R`` is the micro-batch's routed tokens; the cap is all the load one device's
    ``E / n`` experts can take (``min(k, E/n)`` copies of every token) over the mean ``k / n``.
    The expert GEMM of the busiest device sets the step time (its FLOPs and rows per expert scale by
    it); the step's energy counts the mean device's work (see :func:`run_plan`)."""
    col = _plan_columns(plan)
    c, E, k = col["expert_imbalance"], col["experts_total"], col["experts_top_k"]
    n = float(plan.mapping.tp * plan.mapping.ep)
    cap = np.minimum(n, np.where(c > 0, E / np.maximum(k, 1.0), 1.0))
    with np.errstate(divide="ignore"):
        spread = 1.0 + c[None, :] / np.sqrt(routed[:, None])
    return np.where(c > 0, np.minimum(spread, cap), 1.0)


def _coefficients(plan: Plan, parts: list[Part], routed: np.ndarray, busiest: np.ndarray) -> dict[str, np.ndarray]:
    """FLOPs, GEMM rows, bytes per memory level and message bytes, [S, O], of one micro-batch of
    one attention group (see :mod:`tokenfab.lowering` for the coefficient rows). ``routed`` [S] is
    the tokens the micro-batch routes to the experts over all attention groups of the replica;
    ``busiest`` [S] marks the scenarios that time the busiest device (its expert load is
    :func:`expert_imbalance` times the mean; the others cost the mean device, for energy)."""
    col = _plan_columns(plan)
    S, O = parts[0].batch.size, len(plan.ops)
    windows = col["window"]
    tokens = {False: np.zeros(S), True: np.zeros(S)}  # decode, prompt
    pairs = {False: np.zeros((S, O)), True: np.zeros((S, O))}
    kv_read = {False: np.zeros((S, O)), True: np.zeros((S, O))}
    sampled = np.zeros(S)
    for part in parts:
        tokens[part.prompt] += part.batch * part.tokens
        sampled += part.batch * part.lm_positions
        for w in sorted(set(windows.tolist())):  # np.unique's values; it would import numpy.ma (~10 ms)
            P, K = attention_pairs(part.batch, part.tokens, part.context, w if w > 0 else np.inf)
            pairs[part.prompt][:, windows == w] += P[:, None]
            kv_read[part.prompt][:, windows == w] += K[:, None]
    N = tokens[False] + tokens[True]
    flops = (
        tokens[False][:, None] * col["flops_per_token"]
        + tokens[True][:, None] * col["flops_per_token_prompt"]
        + sampled[:, None] * col["flops_per_seq"]
        + pairs[False] * col["flops_per_pair"]
        + pairs[True] * col["flops_per_pair_prompt"]
        + kv_read[True] * col["flops_per_ctx_prompt"]
    )
    T_rows = np.maximum.reduce([p.tokens for p in parts])
    rows = N[:, None] * col["rows_per_token"] + sampled[:, None] * col["rows_per_seq"]
    rows = rows + T_rows[:, None] * col["rows_per_seq_token"]
    act = N[:, None] * col["act_bytes_per_token"] + sampled[:, None] * col["act_bytes_per_seq"]
    kv = (kv_read[False] + kv_read[True]) * col["kv_read_bytes_per_ctx"] + N[:, None] * col["kv_write_bytes_per_token"]
    # Experts: distinct experts read E (1 - (1 - k/E)^R) for the R tokens routed over all groups;
    # a grouped expert GEMM runs each touched expert on its share: rows = R k / touched.
    moe = col["experts_total"] > 0
    miss = np.where(moe, 1.0 - col["experts_top_k"] / np.maximum(col["experts_total"], 1.0), 1.0)
    distinct = col["experts_total"] * (1.0 - np.power(miss, routed[:, None]))
    imbalance = np.where(busiest[:, None], expert_imbalance(plan, routed), 1.0)
    flops = np.where(moe, routed[:, None] * col["flops_per_token"] * imbalance, flops)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = np.where(moe, routed[:, None] * col["experts_top_k"] / np.where(moe, distinct, 1.0) * imbalance, rows)
    levels = [level.name for level in plan.device.memory]
    level_bytes = np.zeros((S, O, len(levels)))
    level_bytes[:, :, levels.index(plan.weights_level)] += col["weight_bytes"] + col["expert_bytes"] * distinct + act
    level_bytes[:, :, levels.index(plan.kv_level)] += kv
    return {
        "flops": flops,
        "rows": np.maximum(rows, 0.0),
        "level_bytes": level_bytes,
        "message": N[:, None] * col["comm_bytes_per_token"],
    }


def _link_rows(plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per op: (wire bytes per message byte, latency s, link bytes/s), and J per wire byte."""
    device, mapping, O = plan.device, plan.mapping, len(plan.ops)
    factor_row, latency_row, bw_row = np.zeros(O), np.zeros(O), np.zeros(O)
    jcomm = 0.0
    for i, op in enumerate(plan.ops):
        if op.kind == "allreduce":
            link = device.interconnect.link_for(mapping.tp)
            factor_row[i], latency_row[i] = collectives.allreduce(link, mapping.tp)
        elif op.kind == "alltoall":
            link = device.interconnect.link_for(mapping.tp * mapping.ep)
            factor_row[i], latency_row[i] = collectives.all_to_all(link, mapping.tp * mapping.ep)
        elif op.kind == "p2p":
            link = device.interconnect.link_for(mapping.devices)
            if link is None:
                raise ValidationError(f"pp: {device.id} has no device-to-device link, so pp must be 1")
            factor_row[i], latency_row[i] = collectives.point_to_point(link)
        else:
            continue
        bw_row[i], jcomm = link.effective_bytes_per_s, link.joules_per_byte
    return factor_row, latency_row, bw_row, jcomm


def _allreduce_rates(plan: Plan, comm_bytes: np.ndarray, latency_row: np.ndarray, bw_row: np.ndarray):
    """[S, O] latency and bandwidth: each all-reduce by its message size
    (:func:`tokenfab.collectives.allreduce_regime`), every other op by its row."""
    S, O = comm_bytes.shape
    latency = np.array(np.broadcast_to(latency_row, (S, O)))
    bandwidth = np.array(np.broadcast_to(bw_row, (S, O)))
    tp = plan.mapping.tp
    for i, op in enumerate(plan.ops):
        if op.kind == "allreduce":
            link = plan.device.interconnect.link_for(tp)
            latency[:, i], bandwidth[:, i] = collectives.allreduce_regime(link, tp, comm_bytes[:, i])
    return latency, bandwidth


def gemm_k_factors(plan: Plan) -> np.ndarray:
    """Per op: the rate factor of its contraction length ``op.gemm_k`` for matrix products (1 for
    every other op): ``Efficiency.gemm_k_factor`` with ``h = gemm_epilogue_bytes * R / (2 B)``, ``R``
    the activations' achievable matrix rate and ``B`` the achievable bandwidth of the level the
    activations live in (the weights' level).

    A kernel whose epilogue does not overlap its K loop computes an output tile (``2 K`` FLOP per
    element at ``R``) and then stores it (``gemm_epilogue_bytes`` per element at ``B``, every SM at
    once), so a GEMM of length ``K`` runs at ``K / (K + h)`` of ``R``; relative to the
    ``gemm_k_ref`` that ``gemm_max`` was measured at and capped at 1, the rows curve of long-K GEMMs
    stays as measured (docs/modelling.md, "GEMM contraction length")."""
    device, eff = plan.device, plan.device.efficiency
    rate = device.peak(plan.precisions.compute) * eff.gemm_fraction(plan.precisions.compute)
    half = eff.gemm_half_k(rate, device.level(plan.weights_level).effective_bytes_per_s)
    return np.array([eff.gemm_k_factor(op.gemm_k, half) if op.kind == "gemm" else 1.0 for op in plan.ops])


def device_rows(plan: Plan) -> dict[str, Any]:
    """Per op of ``plan``: FLOP rate, GEMM half-efficiency rows, link (wire bytes per message byte,
    latency, bytes/s), J per FLOP and bandwidth scale; and ``jcomm``, J per wire byte. An
    all-reduce's latency and bandwidth depend on its message size; ``latency``/``bw`` are its
    regime for the smallest messages and ``latency_large``/``bw_large`` for the largest (two
    lines of the message size, so the cheaper of the two is the regime at any size)."""
    device, eff, prec = plan.device, plan.device.efficiency, plan.precisions
    kinds = [op.kind for op in plan.ops]
    gemm_rate = device.peak(prec.compute) * eff.gemm_fraction(prec.compute)
    attention_rate = device.peak(prec.attention_compute) * eff.gemm_fraction(prec.attention_compute)
    rate_row = np.array(
        [attention_rate if k == "attention" else gemm_rate if k == "gemm" else device.vector_flops_per_s for k in kinds]
    )
    jflop = (device.power.tdp_w - device.power.idle_w) / rate_row  # the tensor cores' J/FLOP, before the K factor
    rate_row = rate_row * gemm_k_factors(plan)
    half_row = np.array([eff.gemm_half_rows if k in ("gemm", "attention") else 0.0 for k in kinds])
    weight_only = PRECISION_BITS[prec.weights] < PRECISION_BITS[prec.activations]
    if weight_only:
        half_row = np.where(np.array(kinds) == "gemm", np.minimum(half_row, WEIGHT_ONLY_TILE_ROWS), half_row)
    half_row = half_row + expert_padding_rows(plan.ops, weight_only)
    factor_row, latency_row, bw_row, jcomm = _link_rows(plan)
    ends = np.array([[0.0, 1e30]])  # wire bytes: the smallest and the largest message
    latency, bandwidth = _allreduce_rates(plan, np.repeat(ends.T, len(kinds), axis=1), latency_row, bw_row)
    return {
        "rate": rate_row,
        "half": half_row,
        "factor": factor_row,
        "latency": latency[0],
        "bw": bandwidth[0],
        "latency_large": latency[1],
        "bw_large": bandwidth[1],
        "jflop": jflop,
        "scale": np.where(np.array(kinds) == "attention", eff.attention_memory_fraction, 1.0),
        "jcomm": jcomm,
        "link_latency": latency_row,
        "link_bw": bw_row,
    }


def _kernel_inputs(plan: Plan, coeff: dict[str, np.ndarray]) -> KernelInputs:
    """Rates, links and energy figures of ``plan``'s device beside the coefficients."""
    device, eff = plan.device, plan.device.efficiency
    S, O, L = coeff["level_bytes"].shape
    row = _per_plan("device_rows", plan, lambda p: _read_only(device_rows(p)))
    comm_bytes = coeff["message"] * row["factor"][None, :]
    latency, bandwidth = _allreduce_rates(plan, comm_bytes, row["link_latency"], row["link_bw"])
    power = device.power
    return KernelInputs(
        flops=coeff["flops"],
        flop_rate=np.broadcast_to(row["rate"], (S, O)),
        gemm_rows=coeff["rows"],
        gemm_half_rows=np.broadcast_to(row["half"], (S, O)),
        comm_bytes=comm_bytes,
        comm_bytes_per_s=bandwidth,
        comm_latency_s=latency,
        overhead_s=np.full((S, O), eff.overhead_s),
        joules_per_flop=np.broadcast_to(row["jflop"], (S, O)),
        bandwidth_scale=np.broadcast_to(row["scale"], (S, O)),
        level_bytes=coeff["level_bytes"],
        level_bytes_per_s=np.broadcast_to([lv.effective_bytes_per_s for lv in device.memory], (S, L)),
        joules_per_byte=np.broadcast_to([lv.joules_per_byte for lv in device.memory], (S, L)),
        count=np.array([op.count for op in plan.ops], dtype=np.float64),
        joules_per_comm_byte=np.full(S, row["jcomm"]),
        idle_w=np.full(S, power.idle_w),
        max_w=np.full(S, power.tdp_w),
    )


def _micro_batch_parts(
    plan: Plan, phase: str, layout: _Layout, T: np.ndarray, C: np.ndarray, extra: Part | None, replica: np.ndarray
) -> tuple[list[Part], list[Part], np.ndarray]:
    """(parts of the busiest group's micro-batch, parts of the mean group's, routed tokens)."""
    main = Part(batch=layout.batch_time, tokens=T, context=C, prompt=phase == "prefill")
    time_parts, mean_parts = [main], [attrs.evolve(main, batch=layout.batch_mean)]
    routed = replica * T
    if extra is not None:  # prompt tokens of the replica's step, spread over groups and micro-batches
        whole = _broadcast_part(extra, T.shape)
        share = whole.scaled(1.0 / (plan.mapping.ep * layout.micro))
        time_parts.append(share)
        mean_parts.append(share)
        routed = routed + whole.batch * whole.tokens
    return time_parts, mean_parts, routed * layout.routed_share


def run_plan(
    plan: Plan, phase: str, batch: Any, tokens: Any, context: Any, *, check_fit: bool = True, extra: Part | None = None
) -> StepCost:
    """Evaluate ``plan`` for broadcast scenarios in one kernel call.

    ``batch`` is one replica's. Attention runs data-parallel over ``ep`` groups, each holding
    ``g = max(batch / ep, 1)`` sequences for the step time (continuous batching balances the groups
    on average; a busy group holds at least one); the MoE experts see the tokens of every group
    once (``R = batch * tokens``, not ``ep`` times a group's), and with ``ep > 1`` the busiest
    device's expert GEMM sets the time (:func:`expert_imbalance`). With ``pp > 1`` stages the group's
    sequences run as ``m = min(g, pp)`` micro-batches in flight, each of ``g / m`` sequences: a step
    (every sequence advancing once) lasts one micro-batch's trip through all stages, and each stage
    works ``m`` micro-batches of it. Fractional ``g`` and ``m`` are time averages, which keeps
    throughput monotone in the batch.

    ``extra`` adds the replica's prompt chunk to every scenario (chunked prefill): it is split
    evenly over the ``ep`` groups and the ``m`` micro-batches (each scheduler slot carries its
    share, as vLLM's and SGLang's per-micro-batch token budgets do), and shares their weight reads.

    Energy counts every operator's work once: the kernel also runs the mean group's micro-batch
    (``batch / (ep m)`` sequences), ``J = tp ep (m E_mean + idle_w (pp W - m W_mean))`` for a step
    of wall time ``W`` whose mean micro-batch trip takes ``W_mean``.
    """
    b, t, c = np.broadcast_arrays(
        _array_field("batch", batch, 1), _array_field("tokens", tokens, 1), _array_field("context", context, 0)
    )
    shape = b.shape
    B_rep, T, C = (x.reshape(-1).astype(np.float64) for x in (b, t, c))
    layout = _layout(plan, B_rep)
    time_parts, mean_parts, routed = _micro_batch_parts(plan, phase, layout, T, C, extra, B_rep)
    # One kernel call: the first S scenarios time the busiest group, the next S the mean group.
    stacked = [
        Part(
            batch=np.concatenate([a.batch, m.batch]),
            tokens=np.concatenate([a.tokens, m.tokens]),
            context=np.concatenate([a.context, m.context]),
            sampled=a.sampled,
            prompt=a.prompt,
        )
        for a, m in zip(time_parts, mean_parts, strict=True)
    ]
    busiest = np.concatenate([np.ones(routed.size, dtype=bool), np.zeros(routed.size, dtype=bool)])
    coeff = _coefficients(plan, stacked, np.concatenate([routed, routed]), busiest)
    inputs = _kernel_inputs(plan, coeff)
    out = evaluate(inputs)
    return _step_cost(plan, phase, shape, layout, coeff, inputs, out, (B_rep, T, C), check_fit)


def _step_cost(plan, phase, shape, layout, coeff, inputs, out, scenario, check_fit) -> StepCost:
    """Build the :class:`StepCost` from the stacked kernel outputs (see :func:`run_plan`)."""
    B_rep, T, C = scenario
    S, mapping, power = B_rep.size, plan.mapping, plan.device.power
    seconds, mean_s = out["total_s"][:S], out["total_s"][S:]
    active = mapping.tp * mapping.ep
    micro = layout.micro
    joules = active * (micro * out["total_joules"][S:] + power.idle_w * (mapping.pp * seconds - micro * mean_s))
    by_bound = np.stack([np.where(out["bound"][:S] == code, out["seconds"][:S], 0.0).sum(axis=1) for code in range(4)])
    bound = np.array(BOUND_NAMES)[np.argmax(by_bound, axis=0)]
    memory = plan.memory_per_device(B_rep, C + T, T)
    fits = plan.fits(B_rep, C + T, T)
    if check_fit and not np.all(fits):
        worst = int(np.argmin(fits))
        raise plan.fit_error(B_rep[worst], C[worst] + T[worst], T[worst])

    def shaped(arr: np.ndarray) -> Any:
        arr = np.asarray(arr).reshape(shape)
        return arr.item() if arr.ndim == 0 else arr

    def breakdown() -> tuple[OpCost, ...]:  # built on first access of StepCost.breakdown
        bound_names = np.array(BOUND_NAMES)
        return tuple(
            OpCost(
                name=op.name,
                kind=op.kind,
                count=op.count,
                seconds=shaped(out["seconds"][:S, i]),
                compute_s=shaped(out["compute_s"][:S, i]),
                memory_s=shaped(out["memory_s"][:S, i]),
                comm_s=shaped(out["comm_s"][:S, i]),
                overhead_s=shaped(out["overhead_s"][:S, i]),
                flops=shaped(coeff["flops"][:S, i] * op.count),
                bytes=shaped(coeff["level_bytes"][:S, i, :].sum(axis=1) * op.count),
                comm_bytes=shaped(inputs.comm_bytes[:S, i] * op.count),
                joules=shaped(out["joules"][S:, i] * active * micro),
                bound=shaped(bound_names[out["bound"][:S, i].astype(int)]),
            )
            for i, op in enumerate(plan.ops)
        )

    total_memory = sum(memory.values()) if plan.weights_level != plan.kv_level else memory[plan.weights_level]
    return StepCost(
        phase=phase,
        seconds=shaped(seconds),
        joules=shaped(joules),
        bound=shaped(bound),
        breakdown=breakdown,
        devices=plan.mapping.devices,
        batch=shaped(B_rep),
        tokens=shaped(T),
        context=shaped(C),
        memory_per_device_bytes=shaped(total_memory),
        fits=shaped(fits),
        plan=plan,
    )


def breakdown_of(
    plan: Plan, phase: str, batch: Any, tokens: Any, context: Any, extra: Part | None = None
) -> tuple[OpCost, ...]:
    """The per-operator breakdown of :func:`run_plan` (a lazy :attr:`StepCost.breakdown`)."""
    return run_plan(plan, phase, batch, tokens, context, check_fit=False, extra=extra).breakdown


def _max(value: Any) -> float:
    return float(np.max(np.asarray(value, dtype=np.float64)))


@functools.cache
def _scalar_functions() -> tuple:
    """:func:`tokenfab.scalar.is_scalar` and :func:`~tokenfab.scalar.scalar_step` (that module
    imports this one, so they are looked up on first use, once)."""
    from .scalar import is_scalar, scalar_step

    return is_scalar, scalar_step


def step(
    phase: str,
    model: Any,
    backend: Any = None,
    workload: Workload | None = None,
    *,
    batch: Any = None,
    tokens: Any = None,
    context: Any = None,
    deployment: Deployment | None = None,
    check_fit: bool = True,
    breakdown: bool = True,
    registry: Registry | None = None,
    **keywords: Any,
) -> StepCost:
    """One step of ``phase`` for broadcast ``batch`` x ``tokens`` x ``context``, or for a
    :class:`Workload`: prefill of ``input_tokens`` for ``batch`` sequences, or a decode step at
    ``input_tokens`` of context. ``keywords`` are :class:`Deployment` fields. Totals, bound and fit
    come from one fused C pass (:mod:`tokenfab.fastpath`); the per-operator ``breakdown`` is built
    on first access, and ``breakdown=False`` leaves it empty."""
    if isinstance(backend, Workload):
        backend, workload = None, backend
    if isinstance(workload, Deployment):
        workload, deployment = None, workload
    if workload is not None:
        batch = workload.batch if batch is None else batch
        tokens = (workload.input_tokens if phase == "prefill" else 1) if tokens is None else tokens
        context = (0 if phase == "prefill" else workload.input_tokens) if context is None else context
    is_scalar, scalar_step = _scalar_functions()
    if is_scalar(batch) and is_scalar(tokens) and is_scalar(context):  # one scenario: no array machinery
        options = dict(deployment=deployment, check_fit=check_fit, breakdown=breakdown, registry=registry, **keywords)
        return scalar_step(phase, model, backend, workload, (batch, tokens, context), options)
    # b, t, c: the inputs as given (validated, broadcastable); a grid's axes stay small until the kernel.
    b, t, c = (
        _array_field("batch", 1 if batch is None else batch, 1),
        _array_field("tokens", 1 if tokens is None else tokens, 1),
        _array_field("context", 0 if context is None else context, 0),
    )
    bounds.broadcast(batch=b, tokens=t, context=c)
    plan = make_plan(
        model,
        backend,
        batch=_max(b),
        kv_tokens=_max(c) + _max(t),
        step_tokens=_max(t),
        deployment=deployment,
        registry=registry,
        **keywords,
    )
    if workload is None:  # the largest scenario the plan is sized for, as a workload
        inp, out = (_max(c) + _max(t), 1) if phase == "prefill" else (max(_max(c), 1), _max(t))
        workload = Workload(batch=int(_max(b)), input_tokens=int(inp), output_tokens=int(out))
    bounds.check_context(plan.model, c, t)
    # ``batch`` counts every sequence the devices serve; each data-parallel replica takes its share.
    from .fastpath import totals_step_cost

    # Totals from the fused pass; the breakdown (when asked for) is built on first access.
    cost = totals_step_cost(plan, phase, np.ceil(b / plan.replicas), t, c, check_fit=check_fit, lazy=breakdown)
    bounds.check_finite({"seconds": cost.seconds, "joules": cost.joules}, "step cost")
    return attrs.evolve(cost, workload=workload)


def prefill(model: Any, backend: Any = None, workload: Workload | None = None, **options: Any) -> StepCost:
    """Cost of processing ``tokens`` prompt tokens for each of ``batch`` sequences in one step
    (``context`` tokens already cached, e.g. a previous chunk). Arrays broadcast.

    ``backend`` may be a :class:`Deployment`; a :class:`Workload` gives ``batch`` and ``tokens =
    input_tokens`` (context 0). ``options``: ``batch``, ``tokens``, ``context``, ``deployment``,
    :class:`Deployment` fields (``devices``, ``tp``, ``weights`` ...), ``check_fit``, ``registry``."""
    return step("prefill", model, backend, workload, **options)


def decode_step(model: Any, backend: Any = None, workload: Workload | None = None, **options: Any) -> StepCost:
    """Cost of one decode step: ``batch`` sequences each with ``context`` cached tokens emit
    ``tokens`` (1, or more for speculative verification) new tokens. Arrays broadcast.

    ``backend`` may be a :class:`Deployment`; a :class:`Workload` gives ``batch`` and ``context =
    input_tokens`` (the first decode step)."""
    return step("decode", model, backend, workload, **options)


__all__: Sequence[str] = ("Precisions", "Plan", "StepCost", "OpCost", "make_plan", "run_plan", "prefill", "decode_step")
