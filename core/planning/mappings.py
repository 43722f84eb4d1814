"""Mapping search: the feasible ways to lay a model over a backend's devices, ranked.

A *shape* is ``tp x pp x ep x dp`` (see :mod:`tokenfab.deployment`). Candidates are drawn from
the model and the system:

* ``tp``: divisors of the attention heads and powers of two (heads are padded to ``ceil(heads / tp)``
  when a power of two does not divide them; serving stacks refuse other uneven splits), at most
  the heads and at most the scale-up domain (``Link.domain_size`` of the device's scale-up fabric: NVLink domain,
  TPU slice, Groq's C2C fabric; 1 for a device without one, e.g. a CS-3 wafer);
* ``ep`` (MoE models only): divisors of the experts;
* ``pp``: 1 .. layers (a stage holds whole layers, ``ceil(layers / pp)`` of them);
* ``dp``: replicas sharing the batch, at most the batch (an idle replica serves nobody).

A pack's ``tokenfab_default_mapping`` hook may *seed* a candidate (its ``tp``/``pp``) and
*restrict* the search (``max_tp``, ``max_ep``, ``max_pp`` keys); its candidates go through the
same fit check as every other.

Fit: weights, the steady-state KV cache of ``ceil(batch / dp)`` sequences and the step workspace
must fit every memory level of a device (:meth:`tokenfab.engine.Plan.fits`). Fit per device
falls monotonically as ``pp`` grows (each stage holds fewer layers), so the fewest stages that
fit a ``(tp, ep, dp)`` is found by bisection.

Defaults (``tokenfab.estimate`` without a mapping):

* ``devices`` given (or a :class:`~tokenfab.System`, whose ``device_count`` is the default): the
  best shape with exactly that many devices;
* nothing given: the fewest devices ``N`` any shape fits in, then the best shape of ``N``.

Objectives (at the workload, from :func:`tokenfab.estimate` of each fitting shape):

* ``latency``: end-to-end latency ``TTFT + (O - 1) * TPOT`` (lower is better);
* ``throughput``: output tokens/s per device (higher);
* ``cost``: $ per million output tokens (lower; tokens/s per device where the device has no price);
* ``energy``: joules per output token (lower).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ..cost.fastpath import memoised
from ..deployment import Deployment, Workload, as_deployment
from ..errors import FitError, ValidationError
from ..hardware.protocol import System
from ..models.lowering import ParallelMapping


def streaming_fallback(builder: Any) -> Any:
    from ..cost.engine import streaming_fallback as fallback

    return fallback(builder)


#: objective -> (Estimate field, larger is better)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "latency": ("e2e_latency_s", False),
    "throughput": ("tokens_per_s_per_device", True),
    "cost": ("usd_per_mtok", False),
    "energy": ("joules_per_token", False),
}
_POWERS_OF_TWO = tuple(2**k for k in range(13))


@attrs.frozen
class Shape:
    """One candidate mapping: a replica of ``tp * pp * ep`` devices, ``dp`` times."""

    tp: int
    pp: int
    ep: int
    dp: int

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.ep * self.dp

    @property
    def mapping(self) -> ParallelMapping:
        return ParallelMapping(tp=self.tp, pp=self.pp, ep=self.ep)

    def label(self) -> str:
        parts = [f"tp{self.tp}", *(f"{k}{v}" for k, v in (("pp", self.pp), ("ep", self.ep), ("dp", self.dp)) if v > 1)]
        return f"{self.devices} ({' '.join(parts)})"


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValidationError(f"objective: must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    return objective


def scale_up_domain(device: Any) -> int:
    """Devices one tensor-parallel group may span: the scale-up fabric's domain (1 without one)."""
    link = device.interconnect.scale_up
    return link.domain_size if link is not None else 1


def _divisors(n: int) -> list[int]:
    """Divisors of ``n`` in ascending order, by trial division up to sqrt(n) (1e12 devices: 1e6 steps)."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return small + [n // d for d in reversed(small) if d * d != n]


def tp_options(model: Any, device: Any, limits: dict) -> list[int]:
    cap = min(model.num_heads, scale_up_domain(device), int(limits.get("max_tp", model.num_heads)))
    options = {1, *(p for p in _POWERS_OF_TWO if p <= cap), *(d for d in _divisors(model.num_heads) if d <= cap)}
    return sorted(options)


def ep_options(model: Any, limits: dict) -> list[int]:
    if not model.is_moe:
        return [1]
    cap = int(limits.get("max_ep", model.num_experts))
    return [d for d in _divisors(model.num_experts) if d <= cap]


def pp_limit(model: Any, limits: dict) -> int:
    return max(1, min(model.num_layers, int(limits.get("max_pp", model.num_layers))))


def dp_options(batch: int, devices: int | None = None) -> list[int]:
    if devices is not None:
        return [d for d in _divisors(devices) if d <= batch]
    return sorted({1, *(p for p in _POWERS_OF_TWO if p <= batch)})


@attrs.frozen(kw_only=True)
class Sizing:
    """The scenario a shape must hold: ``size(dp) -> (batch per replica, KV tokens per sequence,
    tokens per step)``."""

    size: Callable[[int], tuple[float, float, float]]

    def fits(self, plan: Any, dp: int) -> bool:
        b, kv, t = self.size(dp)
        return plan.fits_one(float(b), float(kv), float(t))

    def fit_reason(self, plan: Any, dp: int) -> str:
        b, kv, t = self.size(dp)
        return str(plan.fit_error(b, kv, t))


def _plan(builder: Any, shape: Shape) -> tuple[Any | None, str]:
    """The plan of ``shape``, or ``None`` and why the shape is invalid for this model and device
    (other errors, such as a memory level the device lacks, concern every shape and propagate).
    Kept in the builder's store when no scenario changes it (:meth:`PlanBuilder.scenario_free`)."""
    if not builder.scenario_free():
        return _build(builder, shape)
    key = ("shape", shape)
    hit = builder._built.get(key)
    if hit is None:
        hit = builder._built[key] = _build(builder, shape)
    return hit


def _build(builder: Any, shape: Shape) -> tuple[Any | None, str]:
    mapping = shape.mapping
    reason = builder.invalid(mapping)
    if reason:
        return None, reason
    return builder.build(mapping, shape.dp), ""


def fewest_stages(builder: Any, sizing: Sizing, tp: int, ep: int, dp: int, max_pp: int) -> int | None:
    """The fewest pipeline stages at which ``tp x ep`` replicas (``dp`` of them) fit, by bisection."""
    plan, _ = _plan(builder, Shape(tp, max_pp, ep, dp))
    if plan is None or not sizing.fits(plan, dp):
        return None
    low, high = 0, max_pp  # fits at high, not known at low
    while high - low > 1:
        mid = (low + high) // 2
        plan, _ = _plan(builder, Shape(tp, mid, ep, dp))
        low, high = (low, mid) if plan is not None and sizing.fits(plan, dp) else (mid, high)
    return high


def shapes_of(model: Any, device: Any, devices: int, batch: int, limits: dict) -> list[Shape]:
    """Every shape with exactly ``devices`` devices."""
    out = []
    max_pp = pp_limit(model, limits)
    for dp in dp_options(batch, devices):
        for ep in ep_options(model, limits):
            for tp in tp_options(model, device, limits):
                pp, rest = divmod(devices, tp * ep * dp)
                if not rest and 1 <= pp <= max_pp:
                    out.append(Shape(tp, pp, ep, dp))
    return out


def fewest_devices(builder: Any, sizing: Sizing, batch: int, limits: dict) -> tuple[int, list[Shape]]:
    """(fewest devices any shape fits in, the fewest-device shape of each ``(tp, ep, dp)``)."""
    model, device = builder.model, builder.device
    found = []
    for dp in dp_options(batch):
        for ep in ep_options(model, limits):
            for tp in tp_options(model, device, limits):
                pp = fewest_stages(builder, sizing, tp, ep, dp, pp_limit(model, limits))
                if pp is not None:
                    found.append(Shape(tp, pp, ep, dp))
    if not found:
        return 0, []
    return min(s.devices for s in found), found


def mapping_hook_asked(builder: Any) -> bool:
    """Whether any pack's ``tokenfab_default_mapping`` is asked about the builder's backend
    (:func:`tokenfab.guard.asked`), worked out once per builder store."""
    asked = builder._built.get(("mapping hook asked",))
    if asked is None:
        from ..hardware import guard

        asked = bool(guard.asked(builder.registry, "tokenfab_default_mapping", builder.backend))
        builder._built[("mapping hook asked",)] = asked
    return asked


def hook_limits(builder: Any, total_kv_bytes: float) -> tuple[dict, Shape | None]:
    """The pack's ``tokenfab_default_mapping`` answer: restrictions and a seed shape (or none).
    :func:`candidate_shapes` calls it only when a pack is asked (:func:`mapping_hook_asked`)."""
    from ..cost.engine import _bytes
    from ..hardware import guard

    model, prec = builder.model, builder.precisions
    hooked = guard.call_first(
        builder.registry,
        "tokenfab_default_mapping",
        guard.mapping_check,
        model=model,
        backend=builder.backend,
        weights_bytes=model.params * _bytes(prec.weights),
        kv_bytes=total_kv_bytes,
    )
    if not hooked:
        return {}, None
    limits = {k: int(v) for k, v in hooked.items() if k in ("max_tp", "max_ep", "max_pp")}
    seed = None
    if "tp" in hooked or "pp" in hooked:
        tp, pp, ep = int(hooked.get("tp", 1)), int(hooked.get("pp", 1)), int(hooked.get("ep", 1))
        seed = Shape(tp, pp, ep, max(int(hooked.get("devices", tp * pp * ep)) // (tp * pp * ep), 1))
    return limits, seed


def candidate_shapes(builder: Any, sizing: Sizing, batch: int, devices: int | None) -> tuple[int, list[Shape], str]:
    """(device count chosen, shapes to rank at that count, how the count was chosen)."""
    limits, seed = {}, None
    if mapping_hook_asked(builder):  # the whole-model KV bytes are the hook's argument
        from ..cost.engine import _bytes

        b, kv, _ = sizing.size(1)
        total_kv = builder.model.kv_elements_per_token() * _bytes(builder.precisions.kv) * b * kv
        limits, seed = hook_limits(builder, total_kv)
    if devices is None and isinstance(builder.backend, System):
        devices = builder.backend.device_count
        why = f"the {builder.backend.id} system's {devices} devices"
    elif devices is not None:
        why = f"the {devices} devices asked for"
    else:
        devices, _found = fewest_devices(builder, sizing, batch, limits)
        if not devices:
            return 0, [], "no shape fits"
        why = f"the fewest devices that fit ({devices})"
    key = ("shapes", devices, batch, tuple(sorted(limits.items())) if limits else ())  # per model and device
    shapes = builder._built.get(key)
    if shapes is None:
        shapes = builder._built[key] = tuple(shapes_of(builder.model, builder.device, devices, batch, limits))
    shapes = list(shapes)
    if seed is not None and seed.devices == devices and seed not in shapes:
        shapes.append(seed)
    return devices, shapes, why


def feasible(
    builder: Any, sizing: Sizing, shapes: Iterable[Shape], explain: bool = True
) -> tuple[list[tuple[Shape, Any]], dict, list]:
    """(fitting shapes with their plans, {shape: why it does not fit or is invalid}, the valid
    shapes that do not fit, with their plans). Without ``explain`` the reason a shape does not
    fit is left empty (writing it works out the memory again: a caller that only ranks skips it)."""
    fitting, rejected, unfit = [], {}, []
    sizes: dict[int, tuple] = {}  # dp -> the scenario (few distinct dp among the shapes)
    for shape in shapes:
        plan, reason = _plan(builder, shape)
        if plan is None:
            rejected[shape] = reason
            continue
        size = sizes.get(shape.dp)
        if size is None:
            b, kv, t = sizing.size(shape.dp)
            size = sizes[shape.dp] = (float(b), float(kv), float(t))
        if not plan.fits_one(*size):  # Sizing.fits
            rejected[shape] = sizing.fit_reason(plan, shape.dp) if explain else ""
            unfit.append((shape, plan))
        else:
            fitting.append((shape, plan))
    return fitting, rejected, unfit


# -- ranking at a workload -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Candidate:
    """One mapping of the search: its resolved deployment, whether it fits, its objective value
    (``None`` when it does not fit) and, for every candidate but the best, why it lost."""

    shape: Shape
    deployment: Deployment | None
    fits: bool
    value: float | None
    reason: str
    estimate: Any = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": self.shape.devices,
            "tp": self.shape.tp,
            "pp": self.shape.pp,
            "ep": self.shape.ep,
            "dp": self.shape.dp,
            "fits": self.fits,
            "value": self.value,
            "reason": self.reason,
            "deployment": self.deployment.to_dict() if self.deployment is not None else None,
        }


@attrs.frozen(kw_only=True)
class MappingSearch:
    """Ranked mappings of ``model`` on ``backend`` at ``workload``: ``candidates[0]`` is the best."""

    model: str
    backend: str
    objective: str
    metric: str
    devices: int
    chosen_by: str
    workload: Workload
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend,
            "objective": self.objective,
            "metric": self.metric,
            "devices": self.devices,
            "chosen_by": self.chosen_by,
            "workload": self.workload.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
        }


def _metric(est: Any, objective: str) -> tuple[str, float, bool]:
    field, larger = OBJECTIVES[objective]
    value = getattr(est, field)
    if value is None:  # no price: rank by tokens/s per device, which orders cost on one backend
        field, larger = OBJECTIVES["throughput"]
        value = getattr(est, field)
    return field, float(value), larger


def _gap(value: float, best: float, larger: bool, field: str) -> str:
    ratio = best / value if larger else value / best
    if ratio <= 1:
        return f"ties at {value:.4g}"
    return f"{field} {value:.4g} vs {best:.4g} for the best ({ratio:.2f}x worse)"


def rank(
    model: Any,
    fitting: list[tuple[Shape, Any]],
    rejected: dict,
    workload: Workload,
    objective: str,
    estimate_options: dict,
) -> tuple[str, list[Candidate]]:
    """Estimate each fitting shape at ``workload`` and order by the objective."""
    cost = _serving(model, workload, estimate_options)
    scored = []
    for shape, plan in fitting:
        try:
            est = cost(plan)
        except FitError as exc:
            rejected[shape] = str(exc)
            continue
        field, value, larger = _metric(est, objective)
        scored.append((shape, est, field, value, larger))
    if not scored:
        return OBJECTIVES[objective][0], [_rejected(s, r) for s, r in rejected.items()]
    field, larger = scored[0][2], scored[0][4]
    scored.sort(key=lambda row: (-row[3] if larger else row[3], row[1].e2e_latency_s, row[0].pp, row[0].dp))
    best = scored[0][3]
    out = [
        Candidate(
            shape=shape,
            deployment=est.deployment,
            fits=True,
            value=value,
            reason="best" if i == 0 else _gap(value, best, larger, field),
            estimate=est,
        )
        for i, (shape, est, _, value, _) in enumerate(scored)
    ]
    return field, out + [_rejected(s, r) for s, r in rejected.items()]


def _serving(model: Any, workload: Workload, options: dict) -> Callable[[Any], Any]:
    """``plan -> Estimate`` at ``workload``: :func:`tokenfab.serving.serve` on the candidate's own plan
    (the search already resolved it: the same plan ``estimate(model, deployment=plan.deployment)``
    would build, without building it again), or :func:`~tokenfab.serving.estimate` with options
    ``serve`` does not take."""
    from ..serving.steady import Scheduler, _default_economics, estimate, serve

    known = {"registry", "economics", "chunked_prefill", "prefill_chunk_tokens"}
    if not set(options) <= known:
        return lambda plan: estimate(model, plan.backend, workload, deployment=plan.deployment, **options)
    scheduler = Scheduler(**{k: v for k, v in options.items() if k in ("chunked_prefill", "prefill_chunk_tokens")})
    economics = options.get("economics") or _default_economics()
    return lambda plan: serve(plan, workload, scheduler, economics, options.get("registry"))


def _rejected(shape: Shape, reason: str) -> Candidate:
    return Candidate(shape=shape, deployment=None, fits=False, value=None, reason=reason)


#: Searches kept by :func:`mappings` (least recently used dropped first): ``estimate`` without a
#: mapping runs the search, so a loop of scalar estimates pays for it once per distinct question.
SEARCH_CACHE_SIZE = 256
_searches: OrderedDict = OrderedDict()


@memoised(_searches, SEARCH_CACHE_SIZE)
def mappings(
    model: Any,
    backend: Any,
    workload: Workload,
    *,
    objective: str = "throughput",
    devices: int | None = None,
    deployment: Deployment | None = None,
    registry: Any = None,
    **estimate_options: Any,
) -> MappingSearch:
    """Ranked feasible mappings of ``model`` on ``backend`` for ``workload`` (see module docstring).

    ``deployment`` fixes precisions and placement (its mapping fields are ignored: they are what
    is searched); ``estimate_options`` (``economics``, ``chunked_prefill`` ...) go to each estimate.
    Raises :class:`FitError` when no mapping fits.
    """
    check_objective(objective)
    if not isinstance(workload, Workload):
        raise ValidationError(f"workload: expected a tokenfab.Workload, got {type(workload).__name__}")
    dep = as_deployment(backend, deployment, devices=devices)
    dep = attrs.evolve(dep, tp=None, pp=None, ep=None, dp=None, attention_dp=None)
    builder = search_builder(model, backend, dep, workload, registry)
    sizing = workload_sizing(workload)
    count, shapes, why = candidate_shapes(builder, sizing, workload.batch, dep.devices)
    fitting, rejected, _ = feasible(builder, sizing, shapes)
    fallback = streaming_fallback(builder) if not fitting else None
    if fallback is not None:  # on-device memory cannot hold it at any size allowed: stream weights
        external = builder.device.external_memory.name
        count, shapes, why = candidate_shapes(fallback, sizing, workload.batch, dep.devices)
        why += f"; weights stream from {external}: on-device memory cannot hold them at any mapping searched"
        fitting, rejected, _ = feasible(fallback, sizing, shapes)
    if not fitting:
        raise no_fit_error(builder, count, rejected)
    options = {"registry": registry, **estimate_options}
    metric, ranked = rank(builder.model, fitting, rejected, workload, objective, options)
    if not ranked or not ranked[0].fits:
        raise no_fit_error(builder, count, rejected)
    return MappingSearch(
        model=builder.model.id,
        backend=builder.backend.id,
        objective=objective,
        metric=metric,
        devices=count,
        chosen_by=why,
        workload=workload,
        candidates=tuple(ranked),
    )


def no_fit_error(builder: Any, count: int, rejected: dict) -> FitError:
    where = f"{count} x {builder.device.id}" if count else f"any number of {builder.device.id}"
    detail = next(iter(rejected.values()), "")
    return FitError(f"{builder.model.id} fits no mapping on {where}" + (f": {detail}" if detail else ""))


def workload_sizing(workload: Workload) -> Sizing:
    """A serving workload's fit scenario: the reserved KV of ``ceil(batch / dp)`` sequences."""
    from ..serving.steady import _kv_tokens

    def size(dp: int) -> tuple[float, float, float]:
        b = math.ceil(workload.batch / dp)
        return b, _kv_tokens(b, workload.input_tokens, workload.output_tokens, workload.kv_reservation), 1.0

    return Sizing(size=size)


def search_builder(model: Any, backend: Any, deployment: Deployment, workload: Workload, registry: Any) -> Any:
    """The :class:`~tokenfab.engine.PlanBuilder` of a search (precisions and placement fixed)."""
    from ..cost.engine import plan_builder
    from ..serving.steady import _kv_tokens

    kv = _kv_tokens(workload.batch, workload.input_tokens, workload.output_tokens, workload.kv_reservation)
    return plan_builder(model, backend, deployment, batch=workload.batch, kv_tokens=kv, registry=registry)


def best_deployment(
    model: Any, backend: Any, deployment: Deployment, workload: Workload, objective: str, **options: Any
) -> Deployment:
    """The resolved deployment of the best mapping (what ``estimate`` uses when none is given)."""
    search = mappings(model, backend, workload, objective=objective, deployment=deployment, **options)
    return search.best.deployment


__all__ = ["OBJECTIVES", "Candidate", "MappingSearch", "Shape", "best_deployment", "mappings"]
