"""Training points for ``tokenfab validate``: public results, the model's prediction, and the
rule of thumb it has to beat.

Each point (``points.json``, with its source and a quote) names a model, a backend, the devices,
the recipe and, when published, the mapping (``null``: the search picks one). Metrics:
``tokens_per_s_per_device``, ``device_hours``, ``mfu`` and ``model_tflops_per_device``; the last
two are compared in the publisher's FLOP convention (``megatron``: attention counted over the
full ``s x s`` score matrix, ``12 * layers * d * s`` per token for multi-head attention).

Rule of thumb: ``6 * active_params`` FLOPs per token at 40% of the device's dense peak in the
run's precision. ``error = predicted / published - 1``.
"""

from __future__ import annotations

import json
import statistics
from importlib import resources
from typing import Any

import attrs

from ..errors import TokenfabError
from ..models import Model, load_model
from .api import train
from .config import TrainingMapping, TrainingRecipe
from .flops import attention_flops_per_pair

RULE_OF_THUMB_FRACTION = 0.40


def load_points() -> tuple[dict[str, Model], list[dict[str, Any]]]:
    data = json.loads(resources.files(__package__).joinpath("points.json").read_text(encoding="utf-8"))
    models = {key: Model(**fields) for key, fields in data["models"].items()}
    return models, data["points"]


def _convention_flops(model: Model, seq_len: int, flops: float, convention: str | None) -> float:
    """Model FLOPs per token in the publisher's convention (module docstring)."""
    if convention != "megatron":
        return flops
    extra = 3.0 * attention_flops_per_pair(model) * model.num_layers * (seq_len - (seq_len + 1) / 2.0)
    return flops + extra


def _predicted(point: dict[str, Any], estimate, model: Model) -> float:
    metric = point["metric"]
    if metric == "tokens_per_s_per_device":
        return estimate.tokens_per_s_per_device
    if metric == "device_hours":
        return estimate.device_hours
    flops = _convention_flops(
        model, point["recipe"]["seq_len"], estimate.model_flops_per_token, point.get("convention")
    )
    tflops = flops * estimate.tokens_per_s_per_device / 1e12
    if metric == "model_tflops_per_device":
        return tflops
    return tflops * 1e12 / estimate_peak(estimate)


def estimate_peak(estimate) -> float:
    from ..registry import default_registry

    device = getattr(default_registry().get(estimate.backend), "device", None) or default_registry().get(
        estimate.backend
    )
    return device.peak("bf16" if "bf16" in device.peak_flops_per_s else "fp16")


def rule_of_thumb(point: dict[str, Any], model: Model) -> float:
    """The point's metric from ``6 N`` FLOPs per token at 40% of the peak."""
    from ..registry import default_registry

    backend = default_registry().get(point["backend"])
    device = getattr(backend, "device", backend)
    recipe = point["recipe"]
    peak = device.peak(recipe.get("precision", "bf16"))
    tokens_per_s = RULE_OF_THUMB_FRACTION * peak / (6.0 * model.active_params)
    metric = point["metric"]
    if metric == "tokens_per_s_per_device":
        return tokens_per_s
    if metric == "device_hours":
        return recipe["tokens"] / tokens_per_s / 3600.0
    if metric == "mfu":
        return RULE_OF_THUMB_FRACTION
    flops = _convention_flops(model, recipe["seq_len"], 6.0 * model.active_params, point.get("convention"))
    return flops * tokens_per_s / 1e12


@attrs.frozen(kw_only=True)
class TrainingCheck:
    """One point: published value, tokenfab's prediction and the rule of thumb's, with errors."""

    id: str
    role: str
    metric: str
    published: float
    predicted: float | None
    rule_of_thumb: float
    source: str
    quote: str
    error: str = ""

    @property
    def model_error(self) -> float | None:
        return None if self.predicted is None else self.predicted / self.published - 1.0

    @property
    def rule_error(self) -> float:
        return self.rule_of_thumb / self.published - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "model_error": self.model_error, "rule_error": self.rule_error}


def check_point(point: dict[str, Any], models: dict[str, Model]) -> TrainingCheck:
    model = models.get(point["model"]) or load_model(point["model"])
    base = dict(
        id=point["id"],
        role=point["role"],
        metric=point["metric"],
        published=float(point["value"]),
        rule_of_thumb=rule_of_thumb(point, model),
        source=point["source"],
        quote=point["quote"],
    )
    try:
        mapping = TrainingMapping.from_dict(point["mapping"]) if point.get("mapping") else None
        estimate = train(
            model,
            point["backend"],
            TrainingRecipe.from_dict(point["recipe"]),
            devices=point["devices"],
            mapping=mapping,
        )
    except TokenfabError as exc:  # a row error, never an abort
        return TrainingCheck(predicted=None, error=str(exc), **base)
    return TrainingCheck(predicted=_predicted(point, estimate, model), **base)


def validate_training() -> list[TrainingCheck]:
    """Every training point, in file order."""
    models, points = load_points()
    return [check_point(point, models) for point in points]


def summary(checks: list[TrainingCheck]) -> dict[str, Any]:
    """Median |error| of the model and of the rule of thumb, by role and overall."""

    def med(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    out: dict[str, Any] = {}
    for role in ("calibration", "check", "all"):
        rows = [c for c in checks if role in ("all", c.role) and c.predicted is not None]
        out[role] = {
            "points": len(rows),
            "median_abs_error": med([abs(c.model_error) for c in rows]),
            "rule_of_thumb_median_abs_error": med([abs(c.rule_error) for c in rows]),
        }
    out["failed"] = [c.id for c in checks if c.predicted is None]
    return out
