"""Replay published results and score tokenfab's predictions against them.

The points ship in ``points.json`` beside this module. Each point names its source, a quote, the
conditions it was measured under (model, backend, devices, mapping, precisions, input and output
tokens, batch, and ``speculative`` = ``{draft, tokens, acceptance}`` where the source states
speculative decoding), the metric and its value, and a ``role``:

* ``calibration``: a constant of a pack was chosen with this point in view (``calibrates`` says which);
* ``check``: no constant was chosen with it. A point is never both.

Scores, per point and per group (overall, role, vendor, metric, kind)::

    ratio       = predicted / published
    |error|     = |ratio - 1|
    within 25%  : |ratio - 1| <= 0.25
    within 2x   : 0.5 <= ratio <= 2

A point that cannot be estimated (backend not installed, does not fit, unknown model) becomes a
row with its error and is left out of the scores; it never aborts the run. Predictors are
registered per ``kind`` (``inference`` replays :func:`tokenfab.estimate`); a point of a kind with
no predictor is reported as such, so training points can ship before their predictor does.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

import attrs

from ..errors import TokenfabError, UnknownIdError, ValidationError

ROLES = ("calibration", "check")
WITHIN_25 = 0.25
WITHIN_2X = 2.0
Predictor = Callable[[Mapping[str, Any], Any], tuple[float, dict[str, Any]]]
PREDICTORS: dict[str, Predictor] = {}


def register_predictor(kind: str, predictor: Predictor) -> None:
    """Register ``predictor(point, registry) -> (value, details)`` for points of ``kind``."""
    PREDICTORS[kind] = predictor


def load_points(path: str | None = None) -> list[dict[str, Any]]:
    """The shipped points (or those of the JSON file at ``path``), checked for the fields every point needs."""
    if path is None:
        text = resources.files("tokenfab.validation").joinpath("points.json").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    points = json.loads(text)["points"]
    seen: set[str] = set()
    for point in points:
        _check_point(point, seen)
    return points


def _check_point(point: Mapping[str, Any], seen: set[str]) -> None:
    pid = point.get("id", "?")
    for field in ("id", "kind", "role", "vendor", "metric", "value", "source", "quote", "conditions"):
        if field not in point:
            raise ValidationError(f"validation point {pid!r}: missing field {field!r}")
    if point["role"] not in ROLES:
        allowed = ", ".join(ROLES)
        raise ValidationError(f"validation point {pid!r}: role must be one of {allowed}, got {point['role']!r}")
    if not float(point["value"]) > 0:
        raise ValidationError(f"validation point {pid!r}: value must be > 0, got {point['value']!r}")
    if pid in seen:
        raise ValidationError(f"validation point {pid!r}: id appears twice")
    seen.add(pid)


@attrs.frozen(kw_only=True)
class PointResult:
    """One published point with tokenfab's prediction, or the reason there is none."""

    point: Mapping[str, Any]
    predicted: float | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.predicted is None else self.predicted / float(self.point["value"])

    @property
    def abs_error(self) -> float | None:
        return None if self.ratio is None else abs(self.ratio - 1.0)

    def to_dict(self) -> dict[str, Any]:
        keys = ("id", "kind", "role", "vendor", "backend", "model", "metric", "value", "source")
        out = {k: self.point.get(k) for k in keys}
        out.update(predicted=self.predicted, ratio=self.ratio, abs_error=self.abs_error, error=self.error)
        out.update(self.details)
        return out


@attrs.frozen(kw_only=True)
class Summary:
    """Scores of a group of points (those with a prediction)."""

    group: str
    points: int
    scored: int
    median_abs_error: float | None
    within_25: float | None
    within_2x: float | None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def summarise(group: str, results: Iterable[PointResult]) -> Summary:
    """median |error|, share within 25% and share within 2x of the results that have a prediction."""
    results = list(results)
    ratios = [r.ratio for r in results if r.ratio is not None]
    if not ratios:
        empty = dict(median_abs_error=None, within_25=None, within_2x=None)
        return Summary(group=group, points=len(results), scored=0, **empty)
    return Summary(
        group=group,
        points=len(results),
        scored=len(ratios),
        median_abs_error=statistics.median(abs(x - 1.0) for x in ratios),
        within_25=sum(abs(x - 1.0) <= WITHIN_25 for x in ratios) / len(ratios),
        within_2x=sum(1.0 / WITHIN_2X <= x <= WITHIN_2X for x in ratios) / len(ratios),
    )


@attrs.frozen(kw_only=True)
class ValidationReport:
    """Predicted vs published for every selected point, with scores per group."""

    rows: tuple[PointResult, ...]

    def summary(self, by: str | None = None) -> list[Summary]:
        """One :class:`Summary` for all rows (``by=None``) or one per value of ``by``
        (``role``, ``vendor``, ``metric``, ``kind``), in sorted order."""
        if by is None:
            return [summarise("all", self.rows)]
        keys = sorted({str(r.point.get(by)) for r in self.rows})
        return [summarise(key, (r for r in self.rows if str(r.point.get(by)) == key)) for key in keys]

    def to_dict(self) -> dict[str, Any]:
        groups = {by: [s.to_dict() for s in self.summary(by)] for by in ("role", "vendor", "metric", "kind")}
        return {"summary": self.summary()[0].to_dict(), "by": groups, "rows": [r.to_dict() for r in self.rows]}


def validate(
    vendor: str | None = None,
    role: str | None = None,
    *,
    kind: str | None = None,
    points: Iterable[Mapping[str, Any]] | None = None,
    registry: Any = None,
) -> ValidationReport:
    """Predict every selected point and compare it with its published value.

    ``vendor`` (case-insensitive) and ``role`` (``calibration``, ``check``, or ``None``/``"all"``)
    select points; ``points`` replaces the shipped set.
    """
    if role not in (None, "all", *ROLES):
        raise ValidationError(f"role: must be one of calibration, check, all, got {role!r}")
    selected = list(load_points() if points is None else _checked_points(points))
    if vendor is not None:
        _check_known("vendor", str(vendor).lower(), {str(p.get("vendor", "")).lower() for p in selected})
        selected = [p for p in selected if str(p.get("vendor", "")).lower() == str(vendor).lower()]
    if role not in (None, "all"):
        selected = [p for p in selected if p["role"] == role]
    if kind is not None:
        _check_known("kind", kind, {p["kind"] for p in selected})
        selected = [p for p in selected if p["kind"] == kind]
    return ValidationReport(rows=tuple(_predict(p, registry) for p in selected))


def _checked_points(points: Any) -> list:
    """User-given points: mappings with at least ``id``, ``kind`` and ``role`` (a KeyError is not an answer)."""
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Iterable):
        raise ValidationError(f"points: expected a list of point mappings, got {type(points).__name__}", field="points")
    out = list(points)
    for index, point in enumerate(out):
        missing = [k for k in ("id", "kind", "role") if not isinstance(point, Mapping) or k not in point]
        if missing:
            raise ValidationError(
                f"points[{index}]: needs keys id, kind and role, missing {missing[0]!r}", field="points"
            )
    return out


def _check_known(field: str, value: Any, known: set[str]) -> None:
    """A filter that matches no point is a typo to report, not an empty table."""
    if value not in known:
        listing = ", ".join(sorted(k for k in known if k))
        raise ValidationError(f"{field}: no point has {field} {value!r} (known: {listing})", field=field)


def _predict(point: Mapping[str, Any], registry: Any) -> PointResult:
    predictor = PREDICTORS.get(point["kind"])
    if predictor is None:
        return PointResult(point=point, error=f"no predictor for kind {point['kind']!r}")
    try:
        value, details = predictor(point, registry)
    except TokenfabError as exc:
        return PointResult(point=point, error=str(exc))
    return PointResult(point=point, predicted=float(value), details=details)


def predict_inference(point: Mapping[str, Any], registry: Any) -> tuple[float, dict[str, Any]]:
    """Replay an inference point with :func:`tokenfab.estimate`; ``batch`` ``"max"`` or ``"max:N"`` is
    the largest batch that fits (capped at N), as for a benchmark fed at an unbounded rate."""
    from ..deployment import Workload
    from ..hardware.registry import default_registry
    from ..serving.steady import estimate, max_batch

    registry = registry or default_registry()
    cond = point["conditions"]
    options: dict[str, Any] = {"registry": registry}
    options.update({k: cond[k] for k in ("devices",) if k in cond})
    options.update({k: v for k, v in cond.get("mapping", {}).items() if k in ("tp", "pp", "ep")})
    options.update({k: v for k, v in cond.get("precisions", {}).items() if k in ("weights", "activations", "kv")})
    try:
        registry.get(point["backend"])
    except UnknownIdError as exc:  # reported on the row, never a crash
        raise ValidationError(f"no backend {point['backend']!r} installed (no pack provides it): {exc}") from exc
    inp, out, batch = cond["input_tokens"], cond["output_tokens"], cond["batch"]
    options["kv_reservation"] = cond.get("kv_reservation", "completion")  # the serving stack's admission policy
    if isinstance(batch, str):
        if not batch.startswith("max"):
            raise ValidationError(f"validation point {point['id']!r}: batch must be an integer, 'max' or 'max:N'")
        cap = int(batch[4:]) if batch.startswith("max:") else 65536
        batch = max_batch(point["model"], point["backend"], input_tokens=inp, output_tokens=out, limit=cap, **options)
    options["speculative"] = _speculative(point)
    host = host_s_per_sequence(point, options.get("tp", 1))
    wl = Workload(input_tokens=inp, output_tokens=out, batch=batch, host_s_per_sequence=host)
    est = estimate(point["model"], point["backend"], wl, **options)
    metric = point["metric"]
    if not hasattr(est, metric):
        raise ValidationError(f"validation point {point['id']!r}: metric {metric!r} is not an estimate field")
    details = {"predicted_batch": est.batch, "devices": est.devices, "mapping": f"tp{est.tp} pp{est.pp} ep{est.ep}"}
    return float(getattr(est, metric)), details


def serving_stack(point: Mapping[str, Any]) -> str | None:
    """The serving stack a point was measured on: ``conditions.serving_stack``, else read from its
    ``software`` ("TensorRT-LLM ... PyTorch backend" -> ``tensorrt-llm-pytorch``), else ``None``."""
    stack = point["conditions"].get("serving_stack")
    if stack is not None:
        return stack
    software = str(point.get("software", ""))
    return "tensorrt-llm-pytorch" if "TensorRT-LLM" in software and "PyTorch backend" in software else None


def host_s_per_sequence(point: Mapping[str, Any], tp: int) -> float:
    """Host seconds per sequence-step of the point's stack (:data:`tokenfab.serving.HOST_S_PER_SEQUENCE`,
    0 for a stack without a figure), divided by ``tp`` for a mixture-of-experts model on TensorRT-LLM's
    PyTorch backend: its published MoE recipe sets ``enable_attention_dp: true``, so each of the ``tp``
    ranks schedules its own share of the batch, a layout the replay's ``tp`` mapping does not express."""
    from ..models import load_model
    from ..serving.steady import HOST_S_PER_SEQUENCE

    stack = serving_stack(point)
    if stack is None:
        return 0.0
    if stack not in HOST_S_PER_SEQUENCE:
        known = ", ".join(sorted(HOST_S_PER_SEQUENCE))
        raise ValidationError(f"validation point {point['id']!r}: serving_stack must be one of {known}, got {stack!r}")
    moe = stack == "tensorrt-llm-pytorch" and load_model(point["model"]).num_experts > 0
    return HOST_S_PER_SEQUENCE[stack] / (tp if moe else 1)


def _speculative(point: Mapping[str, Any]) -> Any:
    """The point's speculative decoding, from ``conditions.speculative`` = ``{"draft": model id,
    "tokens": g, "acceptance": a}`` (each token accepted with probability ``a``: an assumption the
    point states and sources, never fitted to it), or ``None`` for plain decoding."""
    from ..deployment import Speculative

    spec = point["conditions"].get("speculative")
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or set(spec) - {"draft", "tokens", "acceptance"} or "draft" not in spec:
        raise ValidationError(
            f"validation point {point['id']!r}: conditions.speculative must be "
            f"{{draft, tokens, acceptance}}, got {spec!r}"
        )
    return Speculative(**spec)


register_predictor("inference", predict_inference)


def _register_training() -> None:
    """Training points are replayed by :func:`tokenfab.training.validation.predict_training`."""
    from ..training.validation import predict_training

    register_predictor("training", predict_training)


_register_training()
