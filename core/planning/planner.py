"""The deployment planner: the cheapest (or fewest-device, lowest-energy, lowest-latency) way to
serve a model under a latency SLO, across backends.

Search space, per backend: weight precisions x parallel mappings (the fewest devices that hold
the model, wider tensor splits, more pipeline stages, expert-parallel splits of MoE models) x
batch per replica (x speculative decoding when the workload carries a draft). Data-parallel
replicas are then added to carry a request rate or a target total tokens/s.

Batch search. For one mapping, the largest batch per replica that meets the SLO is what
minimises $/Mtok, devices and J/token (throughput grows with batch while memory allows), so the
planner bisects over a geometric batch grid (ratio sqrt 2, see :data:`BATCH_GRID`):

1. memory: one vectorised fit check over the whole grid gives the largest batch that fits;
2. TPOT lower bound: one vectorised kernel call of pure decode steps over the grid (a real step
   also carries prompt chunks, so it is never faster) drops batches that cannot meet the TPOT limit;
3. bisection with full :func:`tokenfab.estimate` calls (about log2 of the grid, 5 calls) finds
   the largest batch whose TTFT and TPOT meet the limits.

Every returned row is computed by :func:`tokenfab.estimate` with the arguments in ``row.replay``,
so ``tokenfab estimate`` (or the API) reproduces its numbers exactly.

Under a request rate, each candidate's replica count is ``ceil(rate * output_tokens /
tokens_per_s_per_replica)``; the best candidates are then simulated (:mod:`.simulate`) and given
more replicas until the SLO holds at its percentile.

Which constraint binds: the reason the batch could not grow one grid step further (``tpot``,
``ttft``, ``memory``, ``batch-limit``), or ``rate`` when the replicas were added for load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

from ..bounds import MAX_COUNT, check_int, check_number, check_type
from ..cost.engine import run_plan
from ..deployment import Deployment, Speculative, Workload
from ..economics import Economics
from ..errors import FitError, TokenfabError, ValidationError
from ..hardware.protocol import PRECISION_BITS
from ..hardware.registry import Registry, default_registry
from ..io.metrics import METRICS
from ..models.description import Model, load_model
from ..serving.steady import Estimate, _backend_ids, _kv_tokens, estimate
from .slo import SLO

#: Batch sizes per replica the planner considers: 1 .. 16384 in steps of sqrt(2).
BATCH_GRID = np.unique(np.round(2.0 ** np.arange(0.0, 14.01, 0.5)).astype(int))
OBJECTIVES = ("cost", "devices", "energy", "latency")
DEFAULT_PRECISIONS = ("bf16", "fp8")
#: Relative step at which the batch bisection stops (the batch found is within 3% of the largest).
BATCH_PRECISION = 0.03
#: Candidates verified by simulation under a rate (best first by the steady-state objective).
SIMULATED_CANDIDATES = 6
#: Requests simulated per candidate, and replica increases tried, under a rate.
LOAD_REQUESTS = 600
LOAD_TRIES = 6


@attrs.frozen(kw_only=True)
class Demand:
    """What must be served: request shape, and optionally a request rate (requests/s) or a total
    output rate (tokens/s); ``speculative`` adds speculative decoding as a search option."""

    input_tokens: int
    output_tokens: int
    rate: float | None = None
    tokens_per_s: float | None = None
    speculative: Speculative | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("input_tokens", "output_tokens"):
            check_int(name, getattr(self, name), 1)
        for name in ("rate", "tokens_per_s"):
            if getattr(self, name) is not None:
                check_number(name, getattr(self, name), 0.0, MAX_COUNT, low_inclusive=False)
        if self.rate is not None and self.tokens_per_s is not None:
            raise ValidationError("workload: give a request rate or a target tokens/s, not both")

    @classmethod
    def of(cls, workload: Any) -> Demand:
        """From a :class:`Demand`, a ``tokenfab.Workload`` or a dict with the same names."""
        if isinstance(workload, Demand):
            return workload
        if not isinstance(workload, dict) and not hasattr(workload, "input_tokens"):
            raise ValidationError(
                f"workload: expected a tokenfab.Workload or a dict of input_tokens, output_tokens, ..., "
                f"got {type(workload).__name__}",
                field="workload",
            )
        get = workload.get if isinstance(workload, dict) else lambda k, d=None: getattr(workload, k, d)
        spec = get("speculative")
        if isinstance(spec, dict):
            spec = Speculative(**spec)
        return cls(
            input_tokens=get("input_tokens"),
            output_tokens=get("output_tokens"),
            rate=get("rate"),
            tokens_per_s=get("tokens_per_s"),
            speculative=spec,
        )

    def to_dict(self) -> dict[str, Any]:
        spec = self.speculative
        return {
            "input_tokens": int(self.input_tokens),
            "output_tokens": int(self.output_tokens),
            "rate": self.rate,
            "tokens_per_s": self.tokens_per_s,
            "speculative": None
            if spec is None
            else {
                "draft": spec.draft if isinstance(spec.draft, str) else str(spec.draft),
                "tokens": spec.tokens,
                "acceptance": spec.acceptance,
            },
        }


@attrs.frozen(kw_only=True)
class PlanRow:
    """One deployment that meets the SLO, with the numbers that rank it.

    ``usd_per_mtok`` charges the deployment's whole cost (prefill included) to output tokens
    only; ``usd_per_mtok_in_out`` spreads it over input plus output tokens (see
    :mod:`tokenfab.io.metrics`)."""

    backend: str
    devices: int
    tp: int
    pp: int
    ep: int
    replicas: int
    weights: str
    activations: str
    kv: str
    speculative: bool
    batch_per_replica: int
    batch: int
    usd_per_mtok: float | None
    usd_per_mtok_in_out: float | None
    price_basis: str
    tokens_per_s: float
    tokens_per_s_per_user: float
    tokens_per_s_per_device: float
    ttft_s: float
    tpot_s: float
    e2e_latency_s: float
    joules_per_token: float
    binding: str
    model: str
    deployment: Deployment = attrs.field(repr=False)  # resolved: estimate(model, deployment, workload) replays
    workload: Workload = attrs.field(repr=False)
    simulated: dict | None = None
    estimate: Estimate = attrs.field(repr=False, eq=False)

    @property
    def command(self) -> str:
        """The ``tokenfab estimate`` command line that reproduces this row."""
        d, w = self.deployment, self.workload
        parts = [f"tokenfab estimate --model {self.model} --backend {d.backend} --batch {w.batch}"]
        parts.append(f"--input {w.input_tokens} --output {w.output_tokens} --devices {d.devices}")
        parts.append(f"--tp {d.tp} --pp {d.pp}" + (f" --ep {d.ep}" if d.ep > 1 else ""))
        parts.append(f"--weights {d.weights} --activations {d.activations} --kv {d.kv}")
        spec = w.speculative
        if spec is not None:
            draft = spec.to_dict()["draft"]
            parts.append(f"--draft {draft} --draft-tokens {spec.tokens} --acceptance {spec.acceptance}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        skip = ("estimate", "deployment", "workload")
        out = {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.name not in skip}
        out["deployment"] = self.deployment.to_dict()
        out["workload"] = self.workload.to_dict()
        out["command"] = self.command
        return out


@attrs.frozen(kw_only=True)
class PlanResult:
    """Deployments meeting the SLO, best first by ``objective``; when there are none,
    ``diagnosis`` says which limit fails and by how much."""

    model: str
    demand: Demand
    slo: SLO
    objective: str
    rows: tuple[PlanRow, ...]
    diagnosis: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def best(self) -> PlanRow | None:
        return self.rows[0] if self.rows else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "workload": self.demand.to_dict(),
            "slo": self.slo.to_dict(),
            "objective": self.objective,
            "metrics": {key: METRICS[key][2] for key in ("usd_per_mtok", "usd_per_mtok_in_out")},
            "rows": [row.to_dict() for row in self.rows],
            "diagnosis": list(self.diagnosis),
            "skipped": list(self.skipped),
        }


@attrs.frozen(kw_only=True)
class _Context:
    model: Model
    demand: Demand
    slo: SLO
    objective: str
    economics: Economics
    registry: Registry
    max_devices: int | None


def plan(
    model: Any,
    workload: Any,
    *,
    slo: SLO | dict | None = None,
    backends: Iterable[str] | str | None = None,
    objective: str = "cost",
    precisions: Iterable[str] | None = None,
    max_devices: int | None = None,
    economics: Economics | None = None,
    registry: Registry | None = None,
) -> PlanResult:
    """Deployments of ``model`` that serve ``workload`` within ``slo``, best first by ``objective``
    (``cost``: $/Mtok output; ``devices``; ``energy``: J/token; ``latency``: end-to-end latency).

    ``workload``: a dict, ``tokenfab.Workload`` or :class:`Demand` with ``input_tokens``,
    ``output_tokens`` and optionally ``rate`` (requests/s), ``tokens_per_s`` (total output) and
    ``speculative``. ``backends``: ids, ``"a,b"`` or ``None``/``"all"`` for every installed one.
    ``precisions``: weight precisions to try (default bf16 and fp8)."""
    if objective not in OBJECTIVES:
        raise ValidationError(f"objective: must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    registry = registry or default_registry()
    slo = SLO.of(slo)
    ctx = _Context(
        model=model if isinstance(model, Model) else load_model(model),
        demand=Demand.of(workload),
        slo=slo,
        objective=objective,
        economics=check_type("economics", economics, Economics, "a tokenfab.Economics") or Economics(),
        registry=registry,
        max_devices=None if max_devices is None else check_int("max_devices", max_devices, 1),
    )
    check_context(ctx)
    weights = _precision_list(precisions)
    ids = _backend_ids("all" if backends is None else backends, registry)
    rows, failures, skipped = [], [], []
    for backend_id in ids:
        for precision in weights:
            for spec in (None, ctx.demand.speculative) if ctx.demand.speculative else (None,):
                found, failed, why = _search_backend(ctx, backend_id, precision, spec)
                rows += found
                failures += failed
                skipped += why
    rows.sort(key=lambda row: _objective_key(row, objective))
    if ctx.demand.rate is not None:
        rows = _verify_under_load(ctx, rows)
    diagnosis = () if rows else tuple(_diagnose(ctx, failures, skipped))
    return PlanResult(
        model=ctx.model.id,
        demand=ctx.demand,
        slo=slo,
        objective=objective,
        rows=tuple(rows),
        diagnosis=diagnosis,
        skipped=tuple(skipped),
    )


def check_context(ctx: _Context) -> None:
    """The request (input + output tokens) within the model's context: bad input, never an empty answer."""
    if ctx.demand.input_tokens + ctx.demand.output_tokens > ctx.model.max_context:
        raise ValidationError(
            f"input_tokens + output_tokens: must be <= the {ctx.model.max_context}-token context of "
            f"{ctx.model.id}, got {ctx.demand.input_tokens + ctx.demand.output_tokens}"
        )


def _precision_list(precisions: Iterable[str] | str | None) -> list[str]:
    """Weight precisions to try: names from the fixed vocabulary (a typo is an error, not an empty plan)."""
    if precisions is None:
        return list(DEFAULT_PRECISIONS)
    if isinstance(precisions, str):
        precisions = precisions.split(",")
    if not all(isinstance(p, str) for p in precisions):
        raise ValidationError(f"precisions: expected names such as bf16,fp8, got {precisions!r:.60}")
    out = [p.strip() for p in precisions if p.strip()]
    if not out:
        raise ValidationError("precisions: give at least one weight precision, e.g. bf16,fp8")
    for name in out:
        if name not in PRECISION_BITS:
            raise ValidationError(f"precisions: {name!r} is not a precision (one of {', '.join(PRECISION_BITS)})")
    return out


def _objective_key(row: PlanRow, objective: str) -> tuple:
    cost = row.usd_per_mtok if row.simulated is None else row.simulated["usd_per_mtok_at_rate"]
    cost = math.inf if cost is None else cost
    if objective == "devices":
        return (row.devices, cost, row.tpot_s)
    if objective == "energy":
        return (row.joules_per_token, cost)
    if objective == "latency":
        return (row.e2e_latency_s, cost)
    return (cost, row.devices, row.tpot_s)


# -- search over one backend ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Failure:
    """Why one candidate missed: its batch-1 estimate and the limits it exceeded (ratios)."""

    estimate: Estimate
    violations: dict


def _search_backend(ctx: _Context, backend_id: str, weights: str, spec: Speculative | None):
    """(rows, failures, skipped reasons) for one backend at one weight precision.

    Candidates come in order of growing replica size; once two sizes in a row that meet the SLO
    do not improve on the best found, larger ones are not tried (the objective is U-shaped in
    the tensor split: wider splits only pay while they buy batch or per-user speed)."""
    try:
        mappings = _candidates(ctx, backend_id, weights)
    except TokenfabError as exc:
        return [], [], [f"{backend_id} {weights}: {exc}"]
    failures, skipped = [], []
    best, stale = None, 0
    for size in sorted({m["devices"] for m in mappings}):
        found = []
        for mapping in (m for m in mappings if m["devices"] == size):
            row = _search_mapping(ctx, _Batches(ctx, backend_id, mapping, weights, spec), failures, skipped)
            found += [] if row is None else [row]
        if not found:
            continue
        top = min(found, key=lambda r: _objective_key(r, ctx.objective))
        if best is None or _objective_key(top, ctx.objective) < _objective_key(best, ctx.objective):
            best, stale = top, 0
        else:
            stale += 1
            if stale >= 2:
                break
    return ([best] if best is not None else []), failures, skipped


def _search_mapping(ctx: _Context, tried: _Batches, failures: list, skipped: list) -> PlanRow | None:
    """The row of one mapping at its best batch, or None (recording why in ``failures``/``skipped``)."""
    first, m = tried.at(1), tried.mapping
    if isinstance(first, Exception):
        skipped.append(f"{tried.backend_id} {tried.weights} tp{m['tp']} pp{m['pp']} ep{m['ep']}: {first}")
        return None
    violations = ctx.slo.violations(first.ttft_s, first.tpot_s)
    if violations:
        failures.append(_Failure(estimate=first, violations=violations))
        return None
    batch, binding = (1, "latency objective: batch 1") if ctx.objective == "latency" else tried.largest()
    row = _scaled_row(ctx, tried, batch, binding)
    if row is None:
        skipped.append(f"{tried.backend_id} {tried.weights}: needs more than {ctx.max_devices} devices for the load")
    return row


def _candidates(ctx: _Context, backend_id: str, weights: str) -> list[dict[str, int]]:
    from .candidates import candidate_mappings

    d = ctx.demand
    found = candidate_mappings(
        ctx.model, backend_id, weights, d.input_tokens + d.output_tokens, ctx.registry, ctx.max_devices
    )
    if not found:
        raise ValidationError(f"max_devices: one replica needs more than {ctx.max_devices} devices")
    return found


class _Batches:
    """Estimates of one mapping over :data:`BATCH_GRID`, computed on demand and cached."""

    def __init__(self, ctx: _Context, backend_id: str, mapping: dict, weights: str, spec: Speculative | None):
        self.ctx, self.backend_id, self.mapping, self.weights, self.spec = ctx, backend_id, mapping, weights, spec
        self.cache: dict[int, Estimate | Exception] = {}

    def kwargs(self, replicas: int = 1) -> dict[str, Any]:
        m = self.mapping
        return {
            "devices": m["devices"] * replicas,
            "tp": m["tp"],
            "pp": m["pp"],
            "ep": m["ep"],
            "weights": self.weights,
            "speculative": self.spec,
        }

    def run(self, batch: int, replicas: int = 1) -> Estimate:
        d = self.ctx.demand
        return estimate(
            self.ctx.model,
            self.backend_id,
            batch=batch * replicas,
            input_tokens=d.input_tokens,
            output_tokens=d.output_tokens,
            economics=self.ctx.economics,
            registry=self.ctx.registry,
            **self.kwargs(replicas),
        )

    def at(self, batch: int) -> Estimate | Exception:
        """The estimate at ``batch`` sequences per replica (or the error it raised)."""
        if batch not in self.cache:
            try:
                self.cache[batch] = self.run(batch)
            except TokenfabError as exc:
                self.cache[batch] = exc
        return self.cache[batch]

    def ok(self, batch: int) -> bool:
        est = self.at(batch)
        return not isinstance(est, Exception) and self.ctx.slo.met(est.ttft_s, est.tpot_s)

    def upper_index(self) -> tuple[int, int]:
        """(largest grid index that fits memory, largest that can meet the TPOT limit), from one
        vectorised fit check and one kernel call of pure decode steps (a lower bound on TPOT)."""
        d = self.ctx.demand
        plan = self.at(1).decode.plan
        grid = BATCH_GRID.astype(np.float64)
        kv = np.broadcast_to(_kv_tokens(grid, d.input_tokens, d.output_tokens), grid.shape)
        fits = plan.fits(grid, kv, np.ones_like(grid))
        memory = int(np.max(np.nonzero(fits)[0])) if np.any(fits) else 0
        limit = self.ctx.slo.tpot_s
        if limit is None or self.spec is not None:
            return memory, memory
        mid = d.input_tokens + d.output_tokens / 2.0
        seconds = np.atleast_1d(run_plan(plan, "decode", grid[: memory + 1], 1, mid, check_fit=False).seconds)
        fast = np.nonzero(seconds <= limit)[0]
        return memory, int(fast.max()) if fast.size else 0

    def largest(self) -> tuple[int, str]:
        """(the largest batch meeting the SLO, to within :data:`BATCH_PRECISION`, and the
        constraint that stops it): bisection over the grid, then over the integers between."""
        memory, top = self.upper_index()
        grid = [int(b) for b in BATCH_GRID]
        if self.ok(grid[top]):
            low, high = top, top + 1
        else:
            low, high = 0, top
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if self.ok(grid[mid]) else (low, mid)
        if high >= len(grid):
            return grid[low], "batch-limit"
        low_b, high_b = grid[low], grid[high]
        while high_b - low_b > 1 and high_b > low_b * (1.0 + BATCH_PRECISION):
            mid = (low_b + high_b) // 2
            low_b, high_b = (mid, high_b) if self.ok(mid) else (low_b, mid)
        return low_b, self.binding(high_b)

    def binding(self, failed: int) -> str:
        """Why ``failed`` sequences per replica miss: memory, or the limits they exceed."""
        nxt = self.at(failed)
        if isinstance(nxt, FitError):
            return "memory"
        if isinstance(nxt, Exception):
            return "error"
        found = self.ctx.slo.violations(nxt.ttft_s, nxt.tpot_s)
        return "+".join(sorted(found)) if found else "memory"


def _replicas_for_load(ctx: _Context, est: Estimate) -> int:
    d = ctx.demand
    target = d.tokens_per_s if d.tokens_per_s is not None else (d.rate * d.output_tokens if d.rate else None)
    return 1 if target is None else max(1, math.ceil(target / est.tokens_per_s * (1.0 - 1e-12)))


def _scaled_row(ctx: _Context, tried: _Batches, batch: int, binding: str, replicas: int | None = None):
    """The row for ``batch`` sequences per replica, with enough replicas for the load; None when
    that needs more than ``max_devices``."""
    est = tried.at(batch)
    replicas = replicas or _replicas_for_load(ctx, est)
    if ctx.max_devices is not None and replicas * tried.mapping["devices"] > ctx.max_devices:
        return None
    if replicas > 1:
        binding = "rate"
    final = tried.run(batch, replicas) if replicas > 1 else est
    return _row(ctx, final, batch, binding)


def _row(ctx: _Context, est: Estimate, batch: int, binding: str, simulated: dict | None = None) -> PlanRow:
    usd = est.usd_per_mtok
    return PlanRow(
        backend=est.backend,
        devices=est.devices,
        tp=est.tp,
        pp=est.pp,
        ep=est.ep,
        replicas=est.replicas,
        weights=est.weights,
        activations=est.activations,
        kv=est.kv,
        speculative=est.workload.speculative is not None,
        batch_per_replica=batch,
        batch=est.batch,
        usd_per_mtok=usd,
        usd_per_mtok_in_out=est.usd_per_mtok_in_out,
        price_basis=est.price_basis,
        tokens_per_s=est.tokens_per_s,
        tokens_per_s_per_user=est.tokens_per_s_per_user,
        tokens_per_s_per_device=est.tokens_per_s_per_device,
        ttft_s=est.ttft_s,
        tpot_s=est.tpot_s,
        e2e_latency_s=est.e2e_latency_s,
        joules_per_token=est.joules_per_token,
        binding=binding,
        model=ctx.model.id,
        deployment=est.deployment,
        workload=est.workload,
        simulated=simulated,
        estimate=est,
    )


def _verify_under_load(ctx: _Context, rows: list[PlanRow]) -> list[PlanRow]:
    """Simulate the best :data:`SIMULATED_CANDIDATES` rows at the request rate, adding replicas
    (x1.25 each try) until the SLO holds at its percentile; rows that never do are dropped."""
    out = []
    for row in [r for r in rows if not r.speculative][:SIMULATED_CANDIDATES]:
        verified = _loaded_row(ctx, row)
        if verified is not None:
            out.append(verified)
    out.sort(key=lambda r: _objective_key(r, ctx.objective))
    return out


def _loaded_row(ctx: _Context, row: PlanRow) -> PlanRow | None:
    from ..economics import usd_per_mtok
    from .simulate import simulate

    d, unit, replicas = ctx.demand, row.devices // row.replicas, row.replicas
    for _ in range(LOAD_TRIES):
        if ctx.max_devices is not None and unit * replicas > ctx.max_devices:
            return None
        deployment = row.deployment.evolve(devices=unit * replicas, dp=replicas)
        workload = row.workload.evolve(batch=row.batch_per_replica * replicas, rate=d.rate)
        sim = simulate(ctx.model, deployment, workload, slo=ctx.slo, requests=LOAD_REQUESTS, registry=ctx.registry)
        ttft, tpot = (sim.percentile(m, ctx.slo.percentile) for m in ("ttft_s", "tpot_s"))
        if ctx.slo.met(ttft, tpot):
            est = estimate(
                ctx.model, deployment, workload.evolve(rate=None), economics=ctx.economics, registry=ctx.registry
            )
            offered = d.rate * d.output_tokens
            at_rate = usd_per_mtok(
                est.prefill.plan.device,
                ctx.economics,
                devices=est.devices,
                tokens_per_s=offered,
                joules_per_token=est.joules_per_token,
            ).usd_per_mtok
            summary = {**sim.to_dict(), "usd_per_mtok_at_rate": at_rate}
            binding = "rate" if replicas > 1 else row.binding
            return _row(ctx, est, row.batch_per_replica, binding, simulated=summary)
        replicas = max(replicas + 1, math.ceil(replicas * 1.25))
    return None


def replay(row: PlanRow, *, economics: Economics | None = None, registry: Registry | None = None) -> Estimate:
    """Re-run :func:`tokenfab.estimate` on a plan row's resolved deployment and workload."""
    return estimate(row.model, row.deployment, row.workload, economics=economics, registry=registry)


def _diagnose(ctx: _Context, failures: list[_Failure], skipped: list[str]) -> list[str]:
    """Which limit fails and by how much: for each limit, the best any candidate reached at batch 1."""
    if not failures:
        reason = "no backend can hold the model" if not skipped else "no candidate could be estimated"
        return [f"no deployment found: {reason}" + (f" ({len(skipped)} candidates skipped, see 'skipped')")]
    out = []
    for attr, unit in (("ttft_s", "TTFT"), ("tpot_s", "TPOT")):
        bound = getattr(ctx.slo, attr)
        if bound is None:
            continue
        best = min(failures, key=lambda f: getattr(f.estimate, attr)).estimate
        value = getattr(best, attr)
        if value > bound:
            out.append(
                f"{unit}: the fastest candidate reaches {value * 1e3:.3g} ms ({best.backend}, {best.devices} devices, "
                f"{best.weights}, batch 1) against the {bound * 1e3:.3g} ms limit: {value / bound:.2f}x over"
            )
    if not out:
        best = min(failures, key=lambda f: max(f.violations.values()))
        worst = ", ".join(f"{k} {v:.2f}x over" for k, v in sorted(best.violations.items()))
        out.append(
            f"each limit is met somewhere, never both at once; closest: {best.estimate.backend} "
            f"({best.estimate.devices} devices, {best.estimate.weights}): {worst}"
        )
    return out
