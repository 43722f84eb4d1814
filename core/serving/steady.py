"""Serving estimates: continuous batching in steady state, and comparisons across backends.

For a replica serving ``B`` concurrent sequences of ``I`` input and ``O`` output tokens
(one replica is ``tp * pp`` devices; ``devices / (tp * pp)`` replicas share the batch):

* ``ttft_s`` = prefill of one sequence of ``I`` tokens;
* decode step times are evaluated (one kernel call) at 16 evenly spaced contexts between
  ``I`` and ``I + O``; their mean is ``step``;
* while a sequence generates, the other ``B - 1`` sequences' prefills stall the batch once
  each: ``tpot_s = step + (B - 1) * ttft / (O - 1)``;
* ``e2e_latency_s = ttft + (O - 1) * tpot``; a cycle of ``B`` requests lasts ``e2e``;
* ``tokens_per_s`` (output tokens, all replicas) ``= replicas * B * O / e2e``;
  ``tokens_per_s_per_user = 1 / tpot``;
* ``joules_per_token = (B * E_prefill + (O - 1) * E_step) / (B * O)`` per replica;
* ``usd_per_mtok`` from :mod:`tokenfab.economics`.

Mixed batches with chunked prefill (``chunked_prefill=True``, the default, as vLLM V1, SGLang
and TensorRT-LLM schedule): each attention group's mixed step carries
``c = max(b I / (O - 1), min(I, budget))`` prompt tokens beside its ``b = B / ep`` decode tokens
(``budget`` = ``prefill_chunk_tokens``, 8192), sharing the weight reads; ``f`` of the steps are
mixed (see :func:`_chunked_prefill` for ``ttft`` with pipelined chunks and a partial last chunk)::

    tpot_s  = (1 - f) * t_decode + f * t_mixed
    tokens_per_s = replicas * B / tpot_s

``chunked_prefill=False`` is the older scheduler: each prompt is a step of its own that stalls
the batch, ``tpot_s = t_decode + (B - 1) * ttft / (O - 1)``.

Speculative decoding (``speculative=Speculative(draft, tokens=g, acceptance=a)``): a cycle runs
``g`` draft decode steps and one target step verifying ``g + 1`` tokens per sequence, and yields
``(1 - a^(g+1)) / (1 - a)`` tokens per sequence on average (Leviathan et al., 2023), so
``tpot = (g * t_draft + t_verify) / E[tokens]``; the verify step's LM head scores all ``g + 1``
positions. The draft is another model on the same devices,
or ``"mtp"``: the target's own multi-token-prediction layers (DeepSeek-V3).

Host time per engine step (``Workload.host_s_per_sequence`` = ``h``, 0 by default; sourced figures
per serving stack in :data:`HOST_S_PER_SEQUENCE`): the host's per-request work overlaps the device's
next step, so every decode and mixed step lasts ``max(t_device, (B / ep) * h)`` (:func:`host_paced`).
Speculative decoding's draft-and-verify cycles are not host-paced yet (docs/modelling.md section 8).

Memory fit: weights, the KV cache the scheduler reserves and the step workspace must fit every
device. By default (``Workload.kv_reservation="completion"``, TensorRT-LLM's
``GUARANTEED_NO_EVICT``) each of the ``B`` sequences of a replica reserves its whole
``I + O`` tokens when admitted; with ``"current"`` (vLLM) the staggered steady state holds
``B * I + O * (B + 1) / 2`` tokens. Either way the KV *reads* of a decode step are those of the
tokens actually cached (the 16 contexts above).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any, NamedTuple

import attrs
import numpy as np

from .. import bounds
from ..cost.engine import Part, StepCost, _int_field, explicit_mapping, make_plan, run_plan
from ..deployment import Deployment, Speculative, Workload, as_deployment, as_workload, check_deployment_fields
from ..economics import Economics, host_joules_per_token, list_price, usd_per_mtok
from ..errors import FitError, NonFiniteError, TokenfabError, UnsupportedPrecisionError, ValidationError
from ..hardware.registry import Registry, default_registry
from ..models.description import load_model

DECODE_SAMPLES = 16
#: Where the decode samples sit in the output, as fractions: (i + 1/2) / DECODE_SAMPLES.
_SAMPLE_POINTS = (np.arange(DECODE_SAMPLES) + 0.5) / DECODE_SAMPLES
_SAMPLE_POINTS.flags.writeable = False
METRICS = {  # name -> True when larger is better
    "tokens_per_s": True,
    "tokens_per_s_per_user": True,
    "tokens_per_s_per_device": True,
    "usd_per_mtok": False,
    "joules_per_token": False,
    "ttft_s": False,
    "tpot_s": False,
    "e2e_latency_s": False,
}


@attrs.frozen(kw_only=True)
class Estimate:
    """A serving estimate. Times in seconds, energy in joules, money in US dollars."""

    model: str
    backend: str
    devices: int
    tp: int
    pp: int
    ep: int
    replicas: int
    batch: int
    input_tokens: int
    output_tokens: int
    weights: str
    activations: str
    kv: str
    attention: str
    ttft_s: float
    tpot_s: float
    e2e_latency_s: float
    tokens_per_s: float
    tokens_per_s_per_user: float
    tokens_per_s_per_device: float
    memory_per_device_bytes: float
    memory_capacity_per_device_bytes: float
    fits: bool
    joules_per_token: float  # accelerators' energy plus host_joules_per_token
    host_joules_per_token: float  # host CPUs, NICs, switches: devices * Power.host_w / tokens_per_s
    usd_per_mtok: float | None  # None: no price for this device (give one with Economics)
    usd_per_device_hour: float | None
    price_basis: str  # cloud | capex-estimate | override | none (tokenfab.economics)
    price_source: str
    list_usd_per_mtok: float | None  # vendor's public token price of the same requests, per M output tokens
    list_price: dict | None  # basis list-price-per-token: input/output $/Mtok, source, date
    prefill_bound: str
    decode_bound: str
    chunked_prefill: bool
    speculative_tokens_per_step: float
    placement: str  # where weights and KV cache live; says when weights stream from external memory
    prefill: StepCost = attrs.field(repr=False)
    decode: StepCost = attrs.field(repr=False)
    deployment: Deployment = attrs.field(repr=False)  # resolved: replays this estimate
    workload: Workload = attrs.field(repr=False)

    @property
    def usd_per_mtok_in_out(self) -> float | None:
        """Dollars per million tokens counting input and output tokens alike:
        ``usd_per_mtok * O / (I + O)`` (``usd_per_mtok`` counts output tokens only)."""
        if self.usd_per_mtok is None:
            return None
        return self.usd_per_mtok * self.output_tokens / (self.input_tokens + self.output_tokens)

    def __attrs_post_init__(self) -> None:
        """No estimate holds inf or NaN: a non-finite figure is a :class:`NonFiniteError` naming it.
        The plain number fields are checked first; the whole :meth:`to_dict` is walked (and the
        first bad field named) only when one of them, or anything nested, may not be finite."""
        numbers = [getattr(self, name) for name in _float_fields()] + [self.usd_per_mtok_in_out]
        plain = self.workload.speculative is None and not self.list_price  # nothing nested holds a float
        if plain and all(v is None or math.isfinite(v) for v in numbers):
            return
        bounds.check_finite(self.to_dict(), "estimate")

    def to_dict(self, *, breakdown: bool = False) -> dict[str, Any]:
        nested = ("prefill", "decode", "deployment", "workload")
        out = {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.name not in nested}
        out["deployment"] = self.deployment.to_dict()
        out["workload"] = self.workload.to_dict()
        out["usd_per_mtok_in_out"] = self.usd_per_mtok_in_out
        if breakdown:
            out["prefill_breakdown"] = [op.to_dict() for op in self.prefill.breakdown]
            mid = DECODE_SAMPLES // 2
            out["decode_breakdown"] = [
                {k: (v[mid] if isinstance(v, list) else v) for k, v in op.to_dict().items()}
                for op in self.decode.breakdown
            ]
        return out

    def to_pandas(self):
        """This estimate as a one-row pandas DataFrame (needs ``tokenfab[pandas]``)."""
        from ..io.frames import records_to_pandas

        return records_to_pandas([self.to_dict()])

    def to_arrow(self):
        """This estimate as a one-row pyarrow Table (needs ``tokenfab[arrow]``)."""
        from ..io.frames import records_to_arrow

        return records_to_arrow([self.to_dict()])


@functools.cache
def _default_economics() -> Economics:
    """``Economics()`` (frozen), built once."""
    return Economics()


@functools.cache
def _float_fields() -> tuple[str, ...]:
    """The :class:`Estimate` fields that hold a number that could come out non-finite."""
    return tuple(f.name for f in attrs.fields(Estimate) if f.type in ("float", "float | None"))


def estimate(
    model: Any,
    backend: Any = None,
    workload: Workload | None = None,
    *,
    deployment: Deployment | None = None,
    batch: int | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    devices: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    dp: int | None = None,
    weights: str | None = None,
    activations: str | None = None,
    kv: str | None = None,
    attention: str | None = None,
    chunked_prefill: bool = True,
    prefill_chunk_tokens: int = 8192,
    speculative: Speculative | None = None,
    kv_reservation: str | None = None,
    objective: str = "throughput",
    economics: Economics | None = None,
    registry: Registry | None = None,
) -> Estimate:
    """Steady-state serving estimate (see module docstring for the formulas).

    Without a mapping (no ``tp``/``pp``/``ep``), the mapping search picks the best one for
    ``objective`` (``latency``, ``throughput``, ``cost``, ``energy``) at the given device count,
    or at the fewest devices that fit (:func:`tokenfab.mappings`).

    ``backend`` is an id or a :class:`Deployment` (or pass ``deployment=``); ``workload`` a
    :class:`Workload`. The keyword forms (``batch``, ``input_tokens``, ``devices``, ``tp``,
    ``weights`` ...) fill or override their fields. The result carries the resolved deployment
    and the workload, so ``estimate(model, result.deployment, result.workload)`` replays it.

    Raises :class:`FitError` when weights and KV cache of ``batch`` sequences at
    ``input_tokens + output_tokens`` context do not fit the devices' memory.
    """
    if isinstance(backend, Workload):
        backend, workload = None, backend
    mapping = dict(devices=devices, tp=tp, pp=pp, ep=ep, dp=dp)
    precisions = dict(weights=weights, activations=activations, kv=kv, attention=attention)
    dep = as_deployment(backend, deployment, **mapping, **precisions)
    wl = as_workload(
        workload,
        batch=batch,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        speculative=speculative,
        kv_reservation=kv_reservation,
    )
    batch, inp, out, speculative = wl.batch, wl.input_tokens, wl.output_tokens, wl.speculative
    economics = bounds.check_type("economics", economics, Economics, "a tokenfab.Economics") or _default_economics()
    chunked_prefill = bounds.check_flag("chunked_prefill", chunked_prefill)
    target = backend if backend is not None and not isinstance(backend, Deployment) else None
    if explicit_mapping(dep) is None:  # the mapping search picks it (tokenfab.planning.mappings)
        from ..planning.mappings import mappings

        scheduler = dict(chunked_prefill=chunked_prefill, prefill_chunk_tokens=prefill_chunk_tokens)
        options = dict(registry=registry, economics=economics, **scheduler)
        return mappings(model, target, wl, objective=objective, deployment=dep, **options).best.estimate
    plan = make_plan(
        model,
        target,
        batch=batch,
        kv_tokens=_kv_tokens(batch, inp, out, wl.kv_reservation),
        step_tokens=1,
        deployment=dep,
        registry=registry,
    )
    scheduler = Scheduler(chunked_prefill=chunked_prefill, prefill_chunk_tokens=prefill_chunk_tokens)
    return serve(plan, wl, scheduler, economics, registry)


@attrs.frozen
class Scheduler:
    """How the serving engine batches prompts with decode steps (see the module docstring)."""

    chunked_prefill: bool = True
    prefill_chunk_tokens: int = 8192


def serve(plan, wl: Workload, scheduler: Scheduler, economics: Economics, registry: Registry | None) -> Estimate:
    """The :class:`Estimate` of ``wl`` on a resolved ``plan`` (what :func:`estimate` returns once
    the plan is chosen; the mapping search calls it with each candidate's plan)."""
    batch, inp, out, speculative = wl.batch, wl.input_tokens, wl.output_tokens, wl.speculative
    chunked_prefill, prefill_chunk_tokens = scheduler.chunked_prefill, scheduler.prefill_chunk_tokens
    B = math.ceil(batch / plan.replicas)
    kv_tokens = _kv_tokens(B, inp, out, wl.kv_reservation)
    if inp + out > plan.model.max_context:
        raise ValidationError(
            f"input_tokens + output_tokens: must be <= the {plan.model.max_context}-token context "
            f"of {plan.model.id}, got {inp + out}"
        )
    if not plan.fits_one(float(B), float(kv_tokens), 1.0):
        raise plan.fit_error(B, kv_tokens, 1)
    pre = _run(plan, "prefill", 1, inp, 0)
    contexts = np.floor(inp + _SAMPLE_POINTS * max(out - 1, 0))
    steps = out - 1
    spec_tokens, draft_devices = 1.0, 0
    if speculative is not None:
        dec, step, step_joules, spec_tokens, draft_devices = _speculative_step(
            plan, speculative, B, contexts, registry, wl
        )
    else:
        dec = _run(plan, "decode", B, 1, contexts)
        step, step_joules = host_paced(plan, dec, host_step_s(wl, B, plan.mapping.ep))
    mixed = chunked_prefill and steps and speculative is None
    if mixed:
        budget = _int_field("prefill_chunk_tokens", prefill_chunk_tokens, 1)
        decode = (step, step_joules, host_step_s(wl, B, plan.mapping.ep))
        ttft, tpot, joules = _chunked_prefill(plan, B, inp, steps, budget, contexts, decode)
        e2e = ttft + steps * tpot
        tokens_per_s = plan.replicas * B / tpot
    else:
        ttft = float(pre.seconds)
        tpot = step + ((B - 1) * ttft / steps if steps else 0.0)
        e2e = ttft + steps * tpot
        tokens_per_s = plan.replicas * B * out / e2e
        joules = (B * float(pre.joules) + steps * step_joules) / (B * out)
    if not all(math.isfinite(x) for x in (ttft, tpot, joules)):
        bounds.check_finite({"ttft_s": ttft, "tpot_s": tpot, "joules_per_token": joules}, "estimate")  # raises
    n_devices = plan.devices + draft_devices * plan.replicas  # an SRAM machine's draft has chips of its own
    host_joules = host_joules_per_token(plan.device, devices=n_devices, tokens_per_s=tokens_per_s)
    joules += host_joules
    cost = usd_per_mtok(plan.device, economics, devices=n_devices, tokens_per_s=tokens_per_s, joules_per_token=joules)
    listed = list_price(plan.device, plan.model.id, input_tokens=inp, output_tokens=out)
    used = plan.memory_one(float(B), float(kv_tokens), 1.0)
    levels = sorted(used)
    dec_bounds = np.asarray(dec.bound).ravel().tolist()  # not np.unique: it imports numpy.ma (~10 ms)
    return Estimate(
        model=plan.model.id,
        backend=plan.backend.id,
        devices=n_devices,
        tp=plan.mapping.tp,
        pp=plan.mapping.pp,
        ep=plan.mapping.ep,
        replicas=plan.replicas,
        batch=B * plan.replicas,
        input_tokens=inp,
        output_tokens=out,
        weights=plan.precisions.weights,
        activations=plan.precisions.activations,
        kv=plan.precisions.kv,
        attention=plan.precisions.attention,
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_latency_s=e2e,
        tokens_per_s=tokens_per_s,
        tokens_per_s_per_user=1.0 / tpot,
        tokens_per_s_per_device=tokens_per_s / n_devices,
        memory_per_device_bytes=float(sum(float(used[lv]) for lv in levels)),
        memory_capacity_per_device_bytes=float(sum(plan.device.level(lv).capacity_bytes for lv in levels)),
        fits=True,
        joules_per_token=joules,
        host_joules_per_token=host_joules,
        usd_per_mtok=cost.usd_per_mtok,
        usd_per_device_hour=cost.usd_per_device_hour,
        price_basis=cost.basis,
        price_source=cost.source,
        list_usd_per_mtok=None if listed is None else listed["usd_per_mtok"],
        list_price=listed,
        prefill_bound=str(pre.bound),
        decode_bound=str(max(sorted(set(dec_bounds)), key=dec_bounds.count)),  # most common, first by name
        chunked_prefill=bool(mixed),
        speculative_tokens_per_step=spec_tokens,
        placement=plan.placement_note + (f"; draft on {draft_devices} chips of its own" if draft_devices else ""),
        prefill=pre,
        decode=dec,
        deployment=plan.deployment,
        workload=wl,
    )


def _run(plan, phase: str, batch: Any, tokens: Any, context: Any, extra: Part | None = None) -> StepCost:
    """:func:`~tokenfab.engine.run_plan` (``check_fit=False``) through the fused C pass
    (:func:`tokenfab.fastpath.fused_step`, breakdown built on first access), or through the numpy
    reference when the C kernel is unavailable."""
    from ..cost.fastpath import fused_step

    cost = fused_step(plan, phase, batch, tokens, context, extra)
    return cost if cost is not None else run_plan(plan, phase, batch, tokens, context, check_fit=False, extra=extra)


def _mixed(plan, B: int, contexts: np.ndarray, part: Part) -> Any:
    """Seconds and joules (arrays over ``contexts``; all of the step that is used) of the decode
    steps of ``B`` sequences with the prompt chunk ``part`` mixed in: the fused C pass's totals, or
    :func:`~tokenfab.cost.engine.run_plan` without the C kernel."""
    from ..cost.fastpath import _chunk, fused_totals

    chunk, n = _chunk(part), contexts.size
    fused = None
    if chunk is not None:
        fused = fused_totals(plan, "decode", np.full(n, float(B)), np.ones(n), contexts, work=False, extra=chunk)
    if fused is None:
        return run_plan(plan, "decode", B, 1, contexts, check_fit=False, extra=part)
    return _StepTotals(seconds=fused["seconds"], joules=fused["joules"])


class _StepTotals(NamedTuple):
    seconds: np.ndarray
    joules: np.ndarray


def _mean(values: np.ndarray) -> float:
    """``float(np.mean(values))`` of a 1-D float64 array, bit for bit (numpy's mean is this
    pairwise sum over the count), without the dispatch of ``np.mean``."""
    return float(np.add.reduce(values, axis=None) / values.size)


def _prompt_part(ep: int, tokens: float, context: float, per_group: float = 1.0) -> Part:
    """A prompt chunk of ``tokens`` after ``context`` for each of ``per_group`` sequences in each of
    the ``ep`` attention groups (run_plan spreads it over the groups again)."""
    f64 = np.float64
    return Part(batch=f64(ep * per_group), tokens=f64(tokens), context=f64(context), sampled=False, prompt=True)


def _chunked_prefill(plan, B: int, inp: int, steps: int, budget: int, contexts, decode: tuple[float, float, float]):
    """(ttft, tpot, joules per token) with prompt chunks mixed into decode steps; ``decode`` is
    ``(t_decode, e_decode, host step seconds)`` (mixed steps are host-paced as decode steps are).

    Each attention group (``ep`` of them, each its own scheduler) serves ``b = B / ep`` sequences,
    whose prompts arrive at ``r = b I / (O - 1)`` tokens per step. A mixed step carries
    ``c = max(r, min(I, budget))`` prompt tokens beside the ``b`` decode tokens: the whole prompt when
    it fits the chunk budget, else budget-sized slices, and never fewer than the arrival rate (the
    scheduler's token budget is ``b + c``: vLLM and SGLang operators raise
    ``max_num_batched_tokens`` / ``chunked_prefill_size`` with the running batch, so decode never
    crowds prefill out). ``n = b I / c <= O - 1`` of every ``O - 1`` steps carry prompt tokens,
    ``f = n / (O - 1)``::

        tpot = (1 - f) t_decode + f t_mixed(c)
        ttft = (k - 1) t_mixed(c) / pp + (pp - 1) max(t_mixed(c), t_last) / pp + t_last / pp

    for a prompt cut into ``k = ceil(I / c)`` chunks whose last holds ``I - (k - 1) c`` tokens
    (``t_last`` is the mixed step carrying it): chunks stream through the ``pp`` stages one stage time
    apart, and the last chunk is charged by its own size.
    """
    ep, pp = plan.mapping.ep, plan.mapping.pp
    t_decode, e_decode, host = decode
    group = B / ep
    chunk = max(group * inp / steps, min(inp, budget))
    whole = chunk >= inp
    part = _prompt_part(ep, inp, 0.0, chunk / inp) if whole else _prompt_part(ep, chunk, (inp - chunk) / 2.0)
    t_mix, e_mix = host_paced(plan, _mixed(plan, B, contexts, part), host)
    pieces = 1 if whole else math.ceil(inp / chunk)
    t_last = t_mix
    if not whole and inp - (pieces - 1) * chunk < chunk:
        last = _prompt_part(ep, inp - (pieces - 1) * chunk, (pieces - 1) * chunk)
        t_last = host_paced(plan, _mixed(plan, B, contexts, last), host)[0]
    slowest = max(t_mix, t_last) if pieces > 1 else t_last
    ttft = (pieces - 1) * t_mix / pp + (pp - 1) * slowest / pp + t_last / pp
    f = group * inp / chunk / steps
    tpot = (1 - f) * t_decode + f * t_mix
    return ttft, tpot, ((1 - f) * e_decode + f * e_mix) / B


#: Host (CPU) seconds per running sequence per engine step, by serving stack (``Workload.host_s_per_sequence``).
#: ``tensorrt-llm-pytorch``: TensorRT-LLM's PyTorch executor updates every request from Python after
#: each step; TensorRT-LLM PR #16564 (github.com/NVIDIA/TensorRT-LLM/pull/16564, 2026-07-18) measured a
#: ~8.8 ms per-iteration host bubble on GB200 "dominated by" the per-request loop of
#: ``TorchSampler.update_requests`` over 256 requests: 8.8e-3 / 256 = 34 us per sequence-step.
#: The C++ executor (TensorRT engine backend) is not listed: no public per-request figure (0).
HOST_S_PER_SEQUENCE = {"tensorrt-llm-pytorch": 8.8e-3 / 256}


def host_step_s(workload: Workload, batch: int, schedulers: int) -> float:
    """Host seconds of one engine step: ``host_s_per_sequence * batch / schedulers``, each of the
    ``schedulers`` attention groups (``ep``) running its own scheduler over its share of the batch."""
    return workload.host_s_per_sequence * batch / schedulers


def host_paced(plan, cost: StepCost, host_s: float) -> tuple[float, float]:
    """(seconds, joules) of a step, mean over its contexts, when the host needs ``host_s`` per step.

    Serving stacks overlap the host's work for step ``n`` with the device's step ``n + 1``
    (TensorRT-LLM's overlap scheduler, on by default; SGLang's zero-overhead scheduler; vLLM V1), so a
    step lasts ``t = max(t_device, host_s)``; the devices idle for ``t - t_device`` at ``idle_w`` each::

        joules = joules_device + idle_w * devices_per_replica * (t - t_device)
    """
    device_s = np.asarray(cost.seconds, dtype=np.float64)
    if host_s <= 0.0:  # no host time: t = t_device and no idle wait (the same figures, fewer array ops)
        return _mean(device_s), _mean(np.asarray(cost.joules, dtype=np.float64))
    paced = np.maximum(device_s, host_s)
    idle = plan.device.power.idle_w * plan.mapping.devices * (paced - device_s)
    return _mean(paced), _mean(np.asarray(cost.joules) + idle)


def _speculative_step(plan, spec: Speculative, B: int, contexts: np.ndarray, registry, wl: Workload):
    """(verify StepCost, seconds per token-step, joules per token-step, tokens per cycle, extra
    devices per replica).

    The draft runs on the target's devices with the same tensor split (capped at its heads); its
    weights and KV cache must fit beside the target's. On an SRAM machine (weights in on-chip
    SRAM, Groq and Cerebras) whose chips the target fills, the draft gets chips of its own: the
    fewest that hold it (the mapping search), added to the deployment's device count; drafting and
    verifying still alternate, so the cycle time is unchanged."""
    target = plan.model
    draft = target.draft() if spec.draft == "mtp" else load_model(spec.draft)
    kv_tokens = _kv_tokens(B, wl.input_tokens, wl.output_tokens, wl.kv_reservation)
    precisions = {k: getattr(plan.precisions, k) for k in ("weights", "activations", "kv", "attention")}
    sizing = dict(batch=B, kv_tokens=float(np.max(contexts)) + 1, step_tokens=1, registry=registry)
    draft_plan = make_plan(draft, plan.device, tp=min(plan.mapping.tp, draft.num_heads), pp=1, **precisions, **sizing)
    extra_devices, problem = 0, _beside(plan, draft_plan, B, kv_tokens, spec.tokens)
    if problem and plan.device.weight_memory.kind == "sram":
        draft_plan = make_plan(draft, plan.device, **precisions, **sizing)
        extra_devices, problem = draft_plan.devices, None
    if problem:
        where = f"{plan.devices} x {plan.device.id}"
        raise FitError(f"{target.id} with draft {draft.id} does not fit on {where}: {problem}")
    drafted = _run(draft_plan, "decode", B, 1, contexts)
    verify = _run(plan, "decode", B, spec.tokens + 1, contexts)
    per_cycle = spec.tokens * np.asarray(drafted.seconds) + np.asarray(verify.seconds)
    energy = spec.tokens * np.asarray(drafted.joules) + np.asarray(verify.joules)
    gain = spec.expected_tokens
    return verify, float(np.mean(per_cycle)) / gain, float(np.mean(energy)) / gain, gain, extra_devices


def _beside(plan, draft_plan, B: int, kv_tokens: float, drafted: int) -> str | None:
    """Why the draft does not fit on the target's devices beside it (``None`` when it does)."""
    used = plan.memory_per_device(np.float64(B), np.float64(kv_tokens), np.float64(drafted + 1))
    for level, amount in draft_plan.memory_per_device(np.float64(B), np.float64(kv_tokens), np.float64(1)).items():
        used[level] = used.get(level, 0.0) + amount
        if float(used[level]) > plan.usable_bytes(level):
            return (
                f"{level} needs {float(used[level]) / 1e9:.1f} GB of {plan.usable_bytes(level) / 1e9:.1f} "
                f"GB usable per device"
            )
    return None


def max_batch(
    model: Any,
    backend: Any,
    *,
    input_tokens: int,
    output_tokens: int,
    limit: int = 65536,
    kv_reservation: str = "completion",
    **options: Any,
) -> int:
    """The largest batch whose weights and reserved KV cache fit (offline / max-rate serving);
    ``kv_reservation`` as in :class:`~tokenfab.deployment.Workload`."""
    Workload(input_tokens=input_tokens, output_tokens=output_tokens, kv_reservation=kv_reservation)

    def fits(batch: int) -> bool:
        try:
            plan = make_plan(
                model,
                backend,
                batch=batch,
                kv_tokens=_kv_tokens(batch, input_tokens, output_tokens, kv_reservation),
                step_tokens=1,
                **options,
            )
        except FitError:
            return False
        b = int(np.ceil(batch / plan.replicas))
        kv = _kv_tokens(b, input_tokens, output_tokens, kv_reservation)
        return bool(plan.fits(np.float64(b), np.float64(kv), np.float64(1)))

    if not fits(1):
        raise make_plan(
            model, backend, batch=1, kv_tokens=input_tokens + output_tokens, step_tokens=1, **options
        ).fit_error(1, input_tokens + output_tokens, 1)
    low, high = 1, 2
    while high <= limit and fits(high):
        low, high = high, high * 2
    high = min(high, limit + 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def _kv_tokens(batch: Any, inp: int, out: int, reservation: str = "completion") -> Any:
    """KV tokens a sequence holds for the fit check: its whole ``inp + out`` when the scheduler
    reserves to completion, else the staggered steady-state mean ``inp + out (B + 1) / (2 B)``
    (elementwise when ``batch`` is an array)."""
    if reservation == "completion":
        return float(inp + out)
    return inp + out * (batch + 1) / (2.0 * batch)


#: Row statuses of :func:`compare` and :func:`sweep`. ``does-not-fit`` and ``unsupported`` are
#: answers about the hardware; ``error`` means the row could not be computed (a pack failed, a
#: result came out non-finite): the CLI exits 1 when any row has it.
ROW_STATUSES = ("ok", "does-not-fit", "unsupported", "error")


def row_status(exc: BaseException) -> str:
    """The status of a row that raised ``exc`` (see :data:`ROW_STATUSES`)."""
    if isinstance(exc, FitError):
        return "does-not-fit"
    if isinstance(exc, UnsupportedPrecisionError) or (isinstance(exc, ValidationError) and _backend_specific(exc)):
        return "unsupported"
    return "error"


def row_error(exc: BaseException) -> str:
    """One line for a row's error; an unexpected exception is named as such."""
    if isinstance(exc, TokenfabError):
        return str(exc)
    return f"internal error ({type(exc).__name__}: {exc})"


@attrs.frozen(kw_only=True)
class ComparisonRow:
    backend: str
    estimate: Estimate | None
    error: str | None = None
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        if self.estimate is not None:
            return {"backend": self.backend, "error": None, **self.estimate.to_dict(), "status": self.status}
        return {"backend": self.backend, "fits": False, "error": self.error, "status": self.status}


@attrs.frozen(kw_only=True)
class Comparison:
    """Estimates for many backends on one scenario, best first by ``metric``; rows that could
    not be estimated (does not fit, unsupported precision) come last with their reason."""

    metric: str
    rows: tuple[ComparisonRow, ...]
    scenario: dict[str, Any] = attrs.field(factory=dict)

    @property
    def failed(self) -> bool:
        """Whether any row could not be computed (status ``error``)."""
        return any(row.status == "error" for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "rows": [row.to_dict() for row in self.rows]}

    def records(self) -> list[dict[str, Any]]:
        """One flat row per backend, the scenario (model, batch, input and output tokens) on every
        row, failed rows included with their ``error``."""
        return [{**self.scenario, **row.to_dict()} for row in self.rows]

    def to_pandas(self):
        """One row per backend, best first, failed rows with their ``error`` (needs ``tokenfab[pandas]``)."""
        from ..io.frames import records_to_pandas

        return records_to_pandas(self.records())

    def to_arrow(self):
        """One row per backend, as :meth:`to_pandas` (needs ``tokenfab[arrow]``)."""
        from ..io.frames import records_to_arrow

        return records_to_arrow(self.records())


def compare(
    model: Any,
    backends: Iterable[str] | str = "all",
    *,
    metric: str = "usd_per_mtok",
    batch: int = 1,
    input_tokens: int,
    output_tokens: int,
    registry: Registry | None = None,
    **options: Any,
) -> Comparison:
    """:func:`estimate` for each backend (``"all"`` = every discovered one), ranked by ``metric``
    (rows without a value for it, e.g. no sourced price, follow the ranked ones).

    Without ``devices`` each backend gets the fewest devices that hold the model.
    """
    if metric not in METRICS:
        raise ValidationError(f"metric: must be one of {', '.join(METRICS)}, got {metric!r}")
    registry = registry or default_registry()
    ids = _backend_ids(backends, registry)
    # Bad input is the user's (exit 2), not a row per backend: check it once, up front.
    _int_field("batch", batch, 1), _int_field("input_tokens", input_tokens, 1)
    _int_field("output_tokens", output_tokens, 1)
    check_deployment_fields(options)
    model = load_model(model)
    rows = []
    for backend_id in ids:
        try:
            est = estimate(
                model,
                backend_id,
                batch=batch,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                registry=registry,
                **options,
            )
            rows.append(ComparisonRow(backend=backend_id, estimate=est))
        except Exception as exc:  # noqa: BLE001 - one backend's failure is its row, never the whole run
            if isinstance(exc, ValidationError) and not _backend_specific(exc) and not isinstance(exc, NonFiniteError):
                raise
            rows.append(ComparisonRow(backend=backend_id, estimate=None, error=row_error(exc), status=row_status(exc)))
    larger = METRICS[metric]
    ranked = [r for r in rows if r.estimate and getattr(r.estimate, metric) is not None]
    ranked.sort(key=lambda r: getattr(r.estimate, metric), reverse=larger)
    unranked = [r for r in rows if r.estimate and getattr(r.estimate, metric) is None]
    scenario = {
        "model": model if isinstance(model, str) else getattr(model, "id", "custom"),
        "batch": batch,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }
    ordered = tuple(ranked + unranked + [r for r in rows if not r.estimate])
    return Comparison(metric=metric, rows=ordered, scenario=scenario)


def _backend_ids(backends: Iterable[str] | str, registry: Registry) -> list[str]:
    """Backend ids from ``"all"``, ``"a,b"`` or a list; unknown ids are user errors, not rows."""
    if isinstance(backends, str):
        backends = sorted(registry.backends) if backends == "all" else backends.split(",")
    if not all(isinstance(b, str) for b in backends):
        raise ValidationError("backends: expected backend ids (strings), 'all', or 'a,b'")
    ids = [b.strip() for b in backends if b.strip()]
    if not ids:
        raise ValidationError("backends: give at least one backend id or 'all'")
    for backend_id in ids:
        registry.get(backend_id)
    return ids


def _backend_specific(exc: Exception) -> bool:
    """Errors that concern one backend (precision it lacks, tp beyond its links) become rows."""
    text = str(exc)
    return text.startswith(("Device ", "tp:", "pp:")) or "no peak rate" in text


def sweep(*args: Any, **kwargs: Any) -> Any:
    """:func:`tokenfab.sweeps.sweep` (kept here for code that imports it from this module)."""
    from .sweeps import sweep as _sweep

    return _sweep(*args, **kwargs)
