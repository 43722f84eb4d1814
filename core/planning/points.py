"""Two honest operating points per backend, for ``tokenfab compare``.

Batch 1 alone says what one user on an otherwise idle machine costs, which nobody pays. So
``compare`` shows, per backend:

* **interactive**: the cheapest deployment with TTFT <= 1 s and >= 50 tokens/s per user
  (TPOT <= 20 ms, faster than people read, the speed chat services aim at);
* **throughput**: the cheapest with TTFT <= 5 s and >= 10 tokens/s per user (TPOT <= 100 ms,
  batch jobs and agents that do not stream to a person).

Both come from the planner's batch search on the backend's candidate mappings (or the mapping
and precision the user fixed). A backend that cannot reach a point's per-user speed even at
batch 1 shows its batch-1 row with ``meets = False``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..cost.engine import make_plan
from ..deployment import check_deployment_fields
from ..economics import Economics
from ..errors import FitError, TokenfabError
from ..hardware.registry import Registry, default_registry
from ..models.description import load_model
from ..serving.steady import _backend_ids
from .planner import Demand, _Batches, _candidates, _Context, _objective_key, _scaled_row
from .slo import SLO

POINTS = {
    "interactive": SLO(ttft_s=1.0, tpot_s=1 / 50),
    "throughput": SLO(ttft_s=5.0, tpot_s=1 / 10),
}


def operating_points(
    model: Any,
    workload: Any,
    backends: Iterable[str] | str = "all",
    *,
    fixed: dict | None = None,
    economics: Economics | None = None,
    registry: Registry | None = None,
) -> list[dict]:
    """One row per backend and point (see module docstring): the plan row's fields plus ``point``,
    ``meets`` and ``error``. ``fixed``: devices/tp/pp/ep/weights the user gave (``None`` = search)."""
    registry = registry or default_registry()
    model = load_model(model)
    fixed = {k: v for k, v in (fixed or {}).items() if v is not None}
    check_deployment_fields(fixed)  # tp=-1 is the user's error, not a row per backend
    rows = []
    for backend_id in _backend_ids(backends, registry):
        for point, slo in POINTS.items():
            ctx = _Context(
                model=model,
                demand=Demand.of(workload),
                slo=slo,
                objective="cost",
                economics=economics or Economics(),
                registry=registry,
                max_devices=None,
            )
            try:
                rows.append({"point": point, **_best(ctx, backend_id, fixed)})
            except FitError as exc:
                rows.append({"point": point, "backend": backend_id, "fits": False, "meets": False, "error": str(exc)})
            except TokenfabError as exc:
                rows.append({"point": point, "backend": backend_id, "fits": None, "meets": False, "error": str(exc)})
    return rows


def _best(ctx: _Context, backend_id: str, fixed: dict) -> dict:
    weights = fixed.get("weights")
    mappings = _fixed_mapping(ctx, backend_id, fixed) if _has_mapping(fixed) else None
    found, slowest, errors = [], [], []
    for precision in [weights] if weights else ["bf16", "fp8"]:
        try:
            candidates = mappings or _candidates(ctx, backend_id, precision)
        except TokenfabError as exc:
            errors.append(exc)
            continue
        for mapping in candidates:
            tried = _Batches(ctx, backend_id, mapping, precision, None)
            first = tried.at(1)
            if isinstance(first, Exception):
                errors.append(first)
                continue
            if not ctx.slo.met(first.ttft_s, first.tpot_s):
                slowest.append(_scaled_row(ctx, tried, 1, "misses the point's speed"))
                continue
            batch, binding = tried.largest()
            found.append(_scaled_row(ctx, tried, batch, binding))
    rows = [r for r in found if r is not None]
    if rows:
        best = min(rows, key=lambda r: _objective_key(r, "cost"))
        return {**best.to_dict(), "fits": True, "meets": True, "error": None}
    if slowest:
        fastest = min((r for r in slowest if r is not None), key=lambda r: r.tpot_s)
        return {**fastest.to_dict(), "fits": True, "meets": False, "error": None}
    fit_errors = [e for e in errors if isinstance(e, FitError)]
    raise (fit_errors or errors or [FitError(f"{ctx.model.id} fits no candidate deployment on {backend_id}")])[0]


def _has_mapping(fixed: dict) -> bool:
    return any(k in fixed for k in ("devices", "tp", "pp", "ep"))


def _fixed_mapping(ctx: _Context, backend_id: str, fixed: dict) -> list[dict[str, int]]:
    """The one replica mapping the user's devices/tp/pp/ep resolve to."""
    d = ctx.demand
    plan = make_plan(
        ctx.model,
        backend_id,
        batch=1,
        kv_tokens=d.input_tokens + d.output_tokens,
        step_tokens=1,
        registry=ctx.registry,
        **{k: v for k, v in fixed.items() if k in ("tp", "pp", "ep", "weights")},
        devices=fixed.get("devices"),
    )
    m = plan.mapping
    return [{"devices": m.tp * m.pp * m.ep, "tp": m.tp, "pp": m.pp, "ep": m.ep}]
