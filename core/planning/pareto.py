"""Throughput against interactivity: the Pareto front of each backend.

For each backend, every candidate mapping (:mod:`.candidates`) and weight precision is estimated
at batch 1, 2, 4, ... up to the largest batch that fits memory (one vectorised fit check per
mapping). Each estimate is a point ``(tokens/s per user, tokens/s per device)`` (or ``$/Mtok``);
a point is on the backend's front when no other point of that backend is at least as good on
both axes and better on one. Those are the curves vendors and InferenceMAX draw: how much
throughput per device a chip gives at each speed per user.

Every point is a :func:`tokenfab.estimate` result and carries its resolved deployment and
workload, so ``tokenfab estimate`` replays it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

from ..bounds import check_int, check_type
from ..economics import Economics
from ..errors import TokenfabError, ValidationError
from ..hardware.registry import Registry, default_registry
from ..models.description import Model, load_model
from ..serving.steady import _backend_ids
from .planner import BATCH_GRID, Demand, _Batches, _candidates, _Context, _precision_list, check_context
from .slo import SLO

#: y-axis metrics: name -> True when larger is better
PARETO_METRICS = {"tokens_per_s_per_device": True, "usd_per_mtok": False}
DEFAULT_PARETO_PRECISIONS = ("fp8",)
_KEYS = (
    "backend",
    "devices",
    "tp",
    "pp",
    "ep",
    "replicas",
    "weights",
    "activations",
    "kv",
    "batch",
    "tokens_per_s_per_user",
    "tokens_per_s_per_device",
    "tokens_per_s",
    "usd_per_mtok",
    "usd_per_mtok_in_out",
    "price_basis",
    "ttft_s",
    "tpot_s",
    "joules_per_token",
)


@attrs.frozen(kw_only=True)
class Pareto:
    """``rows``: each backend's front, ordered by backend then tokens/s per user (one dict per
    point, with its ``deployment`` and ``workload`` for replay); ``points``: every point estimated."""

    model: str
    metric: str
    input_tokens: int
    output_tokens: int
    rows: tuple[dict, ...]
    points: tuple[dict, ...] = attrs.field(repr=False)
    skipped: tuple[str, ...] = ()

    def series(self) -> dict[str, dict[str, list[float]]]:
        """``{backend: {"x": tokens/s per user, "y": metric}}`` of the fronts (what plots draw)."""
        out: dict[str, dict[str, list[float]]] = {}
        for row in self.rows:
            line = out.setdefault(row["backend"], {"x": [], "y": []})
            line["x"].append(row["tokens_per_s_per_user"])
            line["y"].append(row[self.metric])
        return out

    def to_dict(self, *, points: bool = False) -> dict[str, Any]:
        out = {
            "model": self.model,
            "metric": self.metric,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "rows": list(self.rows),
            "skipped": list(self.skipped),
        }
        if points:
            out["points"] = list(self.points)
        return out


def pareto(
    model: Any,
    workload: Any,
    *,
    backends: Iterable[str] | str | None = None,
    metric: str = "tokens_per_s_per_device",
    precisions: Iterable[str] | str | None = None,
    max_devices: int | None = None,
    economics: Economics | None = None,
    registry: Registry | None = None,
) -> Pareto:
    """Each backend's front of ``metric`` (``tokens_per_s_per_device`` or ``usd_per_mtok``) against
    tokens/s per user for ``workload`` (input and output tokens). Precisions default to fp8 weights."""
    if metric not in PARETO_METRICS:
        raise ValidationError(f"metric: must be one of {', '.join(PARETO_METRICS)}, got {metric!r}")
    registry = registry or default_registry()
    ctx = _Context(
        model=model if isinstance(model, Model) else load_model(model),
        demand=Demand.of(workload),
        slo=SLO(),
        objective="cost",
        economics=check_type("economics", economics, Economics, "a tokenfab.Economics") or Economics(),
        registry=registry,
        max_devices=None if max_devices is None else check_int("max_devices", max_devices, 1),
    )
    check_context(ctx)
    weights = _precision_list(precisions if precisions is not None else DEFAULT_PARETO_PRECISIONS)
    rows, points, skipped = [], [], []
    for backend_id in _backend_ids("all" if backends is None else backends, registry):
        mine = []
        for precision in weights:
            found, why = _backend_points(ctx, backend_id, precision)
            mine += found
            skipped += why
        usable = [p for p in mine if p[metric] is not None]
        if mine and not usable:
            skipped.append(f"{backend_id}: no sourced price, so no $/Mtok (give --usd-per-device-hour)")
        points += mine
        rows += front(usable, metric)
    d = ctx.demand
    return Pareto(
        model=ctx.model.id,
        metric=metric,
        input_tokens=d.input_tokens,
        output_tokens=d.output_tokens,
        rows=tuple(rows),
        points=tuple(points),
        skipped=tuple(skipped),
    )


def _backend_points(ctx: _Context, backend_id: str, weights: str) -> tuple[list[dict], list[str]]:
    """Points of every candidate mapping at batch 1, 2, 4 ... up to the largest that fits memory."""
    try:
        mappings = _candidates(ctx, backend_id, weights)
    except TokenfabError as exc:
        return [], [f"{backend_id} {weights}: {exc}"]
    points: list[dict] = []
    for mapping in mappings:
        tried = _Batches(ctx, backend_id, mapping, weights, None)
        if isinstance(tried.at(1), Exception):
            continue
        memory, _ = tried.upper_index()
        for batch in (int(b) for b in 2 ** np.arange(0, 15) if b <= BATCH_GRID[memory]):
            est = tried.at(batch)
            if isinstance(est, Exception):
                break
            points.append(_point(est))
    return points, []


def _point(est: Any) -> dict:
    record = {key: getattr(est, key) for key in _KEYS}
    record["vendor"] = est.backend.split(":")[0]
    record["deployment"] = est.deployment.to_dict()
    record["workload"] = est.workload.to_dict()
    return record


def front(points: list[dict], metric: str) -> list[dict]:
    """The non-dominated ``points`` (larger tokens/s per user, better ``metric``), by tokens/s per user."""
    sign = 1.0 if PARETO_METRICS[metric] else -1.0
    ordered = sorted(points, key=lambda p: (-p["tokens_per_s_per_user"], -sign * p[metric]))
    kept, best = [], -np.inf
    for point in ordered:
        if sign * point[metric] > best:
            kept.append(point)
            best = sign * point[metric]
    return sorted(kept, key=lambda p: p["tokens_per_s_per_user"])
