"""``tokenfab.train``: step time, time-to-train, device-hours, cost, energy and MFU of a run.

Definitions (per step, per device unless stated):

* ``tokens_per_s = global_batch * seq_len / step_s`` (all devices together);
* ``mfu = model_flops_per_token * tokens_per_s / (devices * bf16 dense peak)``, model FLOPs
  counting forward plus backward without recompute and causal attention
  (:func:`tokenfab.training.flops.model_flops_per_token`); ``mfu`` uses the bf16 peak in both
  precisions (the convention of the Llama 3 report's "BF16 MFU"); ``hfu`` counts the FLOPs the
  hardware runs (recompute, FlashAttention's backward) over the same peak;
* ``total_s = steps * step_s / goodput``; ``device_hours = devices * total_s / 3600``;
* money: ``device_hours * $/device-hour`` (cloud, or the user's override), or with a capex price
  amortised over its years plus electricity ``MWh * PUE * $/kWh``; the basis is stated;
* energy: the kernel's per-operator joules for computation (never above TDP) plus idle power for
  the rest of the step (exposed communication, bubbles), times devices; ``energy_mwh`` is at the
  devices, ``facility_mwh`` times the PUE.
"""

from __future__ import annotations

from typing import Any

import attrs

from .. import bounds
from ..cost.engine import resolve_backend
from ..economics import Economics
from ..errors import FitError, ValidationError
from ..hardware.protocol import MAX_WATTS, Device, Power, System
from ..hardware.registry import Registry
from ..models.description import Model, load_model
from . import comm
from .config import TrainingMapping, TrainingRecipe
from .flops import model_flops_per_token
from .memory import memory_per_device
from .step import bubble_s, micro_batches, optimizer_s, stage_pass, trainable_per_device

BREAKDOWN = (
    "compute",
    "recompute",
    "tp_exposed",
    "cp_exposed",
    "ep_exposed",
    "pp_bubble",
    "pp_exposed",
    "dp_exposed",
    "optimizer",
)


@attrs.frozen(kw_only=True)
class TrainingStep:
    """One optimizer step of ``mapping`` on ``device``: seconds by part (``breakdown``; ``recompute``
    is the share of ``compute`` spent re-running forward work), memory per device and fit."""

    seconds: float
    breakdown: dict[str, float]
    micro_batches: int
    hardware_flops_per_device: float
    joules_per_device: float
    memory: dict[str, float]
    usable_bytes: float
    mapping: TrainingMapping

    @property
    def fits(self) -> bool:
        return self.memory["total"] <= self.usable_bytes


def _exposed(mapping: TrainingMapping, stage, link_comm) -> tuple[float, float, dict[str, float]]:
    """(forward, backward, exposed parts) of one micro-batch through one stage (comm module rules)."""
    tp = link_comm.tp_fwd + link_comm.tp_bwd
    if mapping.tp > 1 and mapping.tp_overlap:
        tp = max(link_comm.tp_fwd / mapping.tp, link_comm.tp_fwd - stage.gemm_forward_s)
        tp += max(link_comm.tp_bwd / mapping.tp, link_comm.tp_bwd - stage.gemm_backward_s)
    cp = max(0.0, link_comm.cp_fwd - stage.attention_forward_s) + max(
        0.0, link_comm.cp_bwd - 2.5 * stage.attention_forward_s
    )
    if mapping.schedule == "dualpipe":
        ep = max(0.0, link_comm.ep_fwd + link_comm.ep_bwd - stage.forward_s - stage.backward_s)
    else:
        ep = link_comm.ep_fwd + link_comm.ep_bwd
    forward = stage.forward_s
    backward = stage.backward_s + tp + cp + ep
    return forward, backward, {"tp_exposed": tp, "cp_exposed": cp, "ep_exposed": ep}


def step_cost(model: Model, device: Device, mapping: TrainingMapping, recipe: TrainingRecipe) -> TrainingStep:
    """Assemble one step (formulas in :mod:`tokenfab.training.step` and :mod:`tokenfab.training.comm`)."""
    stage = stage_pass(model, device, mapping, recipe)
    mb_comm = comm.micro_batch_comm(model, device, mapping, recipe, stage.layers)
    forward, backward, exposed = _exposed(mapping, stage, mb_comm)
    m = micro_batches(mapping, recipe)
    dense, experts = trainable_per_device(model, mapping, recipe)
    dp = comm.data_parallel_s(device, mapping, recipe, dense, experts)
    if mapping.zero >= 3:
        per_mb = max(0.0, dp["params"] - forward) + max(0.0, dp["params"] + dp["grad"] - backward)
        dp_exposed = m * per_mb
    else:
        dp_exposed = max(0.0, dp["grad"] - backward) + max(0.0, dp["params"] - forward)
    parts = {
        "compute": m * (stage.forward_s + stage.backward_s),
        "recompute": m * stage.recompute_s,
        "tp_exposed": m * exposed["tp_exposed"],
        "cp_exposed": m * exposed["cp_exposed"],
        "ep_exposed": m * exposed["ep_exposed"],
        "pp_bubble": bubble_s(mapping, forward, backward, stage.weight_grad_s),
        "pp_exposed": 2.0 * (mapping.pp - 1) * mb_comm.pp_send * mapping.chunks if mapping.pp > 1 else 0.0,
        "dp_exposed": dp_exposed,
        "optimizer": optimizer_s(device, mapping, recipe, dense + experts),
    }
    seconds = sum(value for key, value in parts.items() if key != "recompute")
    busy = m * (stage.forward_s + stage.backward_s)
    joules = m * stage.joules + device.power.idle_w * max(seconds - busy, 0.0)
    usable = device.weight_memory.capacity_bytes * (1.0 - device.efficiency.memory_reserve_fraction)
    return TrainingStep(
        seconds=seconds,
        breakdown=parts,
        micro_batches=m,
        hardware_flops_per_device=m * stage.hardware_flops,
        joules_per_device=joules,
        memory=memory_per_device(model, mapping, recipe),
        usable_bytes=usable,
        mapping=mapping,
    )


@attrs.frozen(kw_only=True)
class TrainingEstimate:
    """What a training run takes and costs (definitions in the module docstring)."""

    model: str
    backend: str
    devices: int
    mapping: TrainingMapping
    recipe: TrainingRecipe
    step: TrainingStep
    steps: float
    tokens: float
    tokens_per_s: float
    mfu: float
    hfu: float
    model_flops_per_token: float
    total_s: float
    device_hours: float
    usd: float | None
    usd_per_device_hour: float | None
    price_basis: str
    energy_mwh: float
    facility_mwh: float

    @property
    def step_s(self) -> float:
        return self.step.seconds

    @property
    def tokens_per_s_per_device(self) -> float:
        return self.tokens_per_s / self.devices

    @property
    def days(self) -> float:
        return self.total_s / 86400.0

    @property
    def fits(self) -> bool:
        return self.step.fits

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend,
            "devices": self.devices,
            "mapping": self.mapping.to_dict(),
            "recipe": self.recipe.to_dict(),
            "step_s": self.step_s,
            "breakdown_s": dict(self.step.breakdown),
            "micro_batches": self.step.micro_batches,
            "steps": self.steps,
            "tokens": self.tokens,
            "tokens_per_s": self.tokens_per_s,
            "tokens_per_s_per_device": self.tokens_per_s_per_device,
            "mfu": self.mfu,
            "hfu": self.hfu,
            "model_flops_per_token": self.model_flops_per_token,
            "total_s": self.total_s,
            "days": self.days,
            "device_hours": self.device_hours,
            "usd": self.usd,
            "usd_per_device_hour": self.usd_per_device_hour,
            "price_basis": self.price_basis,
            "energy_mwh": self.energy_mwh,
            "facility_mwh": self.facility_mwh,
            "memory_per_device_bytes": dict(self.step.memory),
            "usable_bytes_per_device": self.step.usable_bytes,
            "fits": self.fits,
        }


def _money(device: Device, economics: Economics, device_hours: float, mwh: float) -> tuple[Any, Any, str]:
    price = device.price
    if economics.usd_per_device_hour is not None:
        return device_hours * economics.usd_per_device_hour, economics.usd_per_device_hour, "override"
    capex = economics.capex_usd if economics.capex_usd is not None else None
    if capex is None and price is not None and price.usd_per_device_hour is None:
        capex = price.capex_usd
    if capex is not None:
        hourly = capex / (economics.amortization_years * 8760.0)
        energy = mwh * 1000.0 * economics.pue * economics.usd_per_kwh
        return device_hours * hourly + energy, hourly, "capex-estimate"
    if price is not None:
        return device_hours * price.usd_per_device_hour, price.usd_per_device_hour, "cloud"
    return None, None, "none"


def refuse_reason(device: Device) -> str:
    """Why ``device`` cannot train (empty when it can): the pack's ``training_note``."""
    return getattr(device, "training_note", "") or ""


def resolve(backend: str | Device | System, registry: Registry | None, tdp_w: float | None) -> tuple[Any, Device]:
    target, device = resolve_backend(backend, registry)
    reason = refuse_reason(device)
    if reason:
        raise ValidationError(f"backend: {device.id} does not train: {reason}")
    if tdp_w is not None:
        device = attrs.evolve(device, power=Power(tdp_w=tdp_w, idle_w=min(device.power.idle_w, 0.5 * tdp_w)))
    return target, device


def train(
    model: str | Model | dict,
    backend: str | Device | System,
    recipe: TrainingRecipe | dict,
    *,
    devices: int | None = None,
    mapping: TrainingMapping | dict | None = None,
    economics: Economics | None = None,
    tdp_w: float | None = None,
    registry: Registry | None = None,
) -> TrainingEstimate:
    """Time, cost, energy and MFU of training ``model`` on ``devices`` x ``backend``.

    ``recipe``: a :class:`TrainingRecipe` (or its dict). ``mapping``: a :class:`TrainingMapping`;
    without one the search (:func:`tokenfab.training.search.best_mapping`) picks the fastest
    mapping that fits. ``devices`` defaults to the mapping's, or a system's device count.
    ``economics`` overrides prices; ``tdp_w`` overrides board power.
    """
    model = load_model(model)
    recipe = recipe if isinstance(recipe, TrainingRecipe) else TrainingRecipe.from_dict(recipe)
    if tdp_w is not None:
        bounds.check_number("tdp_w", tdp_w, 0.0, MAX_WATTS, low_inclusive=False)
    economics = bounds.check_type("economics", economics, Economics, "a tokenfab.Economics")
    target, device = resolve(backend, registry, tdp_w)
    if isinstance(mapping, dict):
        mapping = TrainingMapping.from_dict(mapping)
    bounds.check_type("mapping", mapping, TrainingMapping, "a TrainingMapping or a dict")
    if devices is not None:
        devices = bounds.check_int("devices", devices, 1)
    if devices is None:
        devices = mapping.devices if mapping is not None else getattr(target, "device_count", None)
    if devices is None:
        raise ValidationError("devices: give the number of devices (or a mapping) for a single-device backend")
    if mapping is None:
        from .search import best_mapping

        mapping = best_mapping(model, device, recipe, devices)
    elif mapping.devices != devices:
        raise ValidationError(f"devices: must equal tp*cp*pp*dp = {mapping.devices} of the mapping, got {devices}")
    check_mapping(model, device, mapping, recipe)
    step = step_cost(model, device, mapping, recipe)
    if not step.fits:
        raise FitError(fit_message(model, device, step))
    return finish(model, target, device, step, recipe, economics or Economics())


def check_mapping(model: Model, device: Device, mapping: TrainingMapping, recipe: TrainingRecipe) -> None:
    """User errors a mapping can carry, each naming the field and the allowed range."""
    if mapping.tp > model.num_heads or model.num_heads % mapping.tp:
        raise ValidationError(f"tp: must divide the {model.num_heads} attention heads of {model.id}, got {mapping.tp}")
    if mapping.pp > model.num_layers:
        raise ValidationError(f"pp: must be <= the {model.num_layers} layers of {model.id}, got {mapping.pp}")
    if mapping.chunks > model.num_layers:  # Llama 3 405B runs pp 16 x 8 chunks on 126 layers: only a bound
        raise ValidationError(f"chunks: must be <= the {model.num_layers} layers of {model.id}, got {mapping.chunks}")
    if mapping.ep > 1 and not model.is_moe:
        raise ValidationError(f"ep: expert parallelism needs a mixture-of-experts model; {model.id} is dense")
    if model.is_moe and model.num_experts % mapping.ep:
        raise ValidationError(f"ep: must divide the {model.num_experts} experts of {model.id}, got {mapping.ep}")
    if mapping.dp * recipe.micro_batch > recipe.global_batch:
        most = recipe.global_batch // recipe.micro_batch
        raise ValidationError(
            f"dp: must be <= global_batch / micro_batch = {most} (one micro-batch per replica), got {mapping.dp}"
        )
    if recipe.seq_len % mapping.cp:
        raise ValidationError(f"cp: must divide seq_len {recipe.seq_len}, got {mapping.cp}")
    if mapping.devices > 1 and device.interconnect.scale_up is None and device.interconnect.scale_out is None:
        raise ValidationError(f"devices: {device.id} has no device-to-device link, so devices must be 1")


def fit_message(model: Model, device: Device, step: TrainingStep) -> str:
    mem = step.memory
    parts = ", ".join(f"{k} {mem[k] / 1e9:.1f}" for k in ("weights", "gradients", "optimizer", "activations"))
    m = step.mapping
    return (
        f"{model.id} does not fit on {device.id} with tp={m.tp} cp={m.cp} pp={m.pp} dp={m.dp} ep={m.ep} "
        f"zero={m.zero}: needs {mem['total'] / 1e9:.1f} GB per device ({parts} GB) of "
        f"{step.usable_bytes / 1e9:.1f} GB usable; raise zero, pp or tp, recompute, or give more devices"
    )


def finish(
    model: Model, target: Any, device: Device, step: TrainingStep, recipe: TrainingRecipe, economics: Economics
) -> TrainingEstimate:
    mapping = step.mapping
    devices = mapping.devices
    tokens_per_s = recipe.tokens_per_step / step.seconds
    flops_token = model_flops_per_token(model, recipe.seq_len, finetune=recipe.finetune, lora_rank=recipe.lora_rank)
    peak = device.peak("bf16" if "bf16" in device.peak_flops_per_s else "fp16")
    total_s = recipe.total_steps * step.seconds / recipe.goodput
    device_hours = devices * total_s / 3600.0
    mwh = step.joules_per_device * devices * recipe.total_steps / recipe.goodput / 3.6e9
    usd, hourly, basis = _money(device, economics, device_hours, mwh)
    return TrainingEstimate(
        model=model.id,
        backend=target.id,
        devices=devices,
        mapping=mapping,
        recipe=recipe,
        step=step,
        steps=recipe.total_steps,
        tokens=recipe.total_tokens,
        tokens_per_s=tokens_per_s,
        mfu=flops_token * tokens_per_s / (devices * peak),
        hfu=step.hardware_flops_per_device / step.seconds / peak,
        model_flops_per_token=flops_token,
        total_s=total_s,
        device_hours=device_hours,
        usd=usd,
        usd_per_device_hour=hourly,
        price_basis=basis,
        energy_mwh=mwh,
        facility_mwh=mwh * economics.pue,
    )
