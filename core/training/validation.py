"""Training points of ``tokenfab validate`` (kind ``training``): the predictor, and the rule of
thumb the model has to beat.

A training point's ``conditions`` give the devices, the recipe (:class:`TrainingRecipe` fields)
and, when published, the mapping (``null``: the search picks one). Metrics:
``tokens_per_s_per_device``, ``device_hours``, ``mfu`` and ``model_tflops_per_device``; the last
two in the publisher's FLOP convention (``convention: megatron``: attention over the full
``s x s`` score matrix, ``12 * layers * d * s`` per token for multi-head attention; otherwise
tokenfab's causal count). Models the catalog lacks (MPT, GPT-3) are defined in
``reference_models.json``.

Rule of thumb: ``6 * active_params`` FLOPs per token at 40% of the device's dense peak in the
run's precision; each row carries its prediction (``rule_of_thumb``) beside tokenfab's.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..errors import ValidationError
from ..models.description import Model, load_model
from .api import train
from .config import TrainingMapping, TrainingRecipe
from .flops import attention_flops_per_pair

RULE_OF_THUMB_FRACTION = 0.40
METRICS = ("tokens_per_s_per_device", "device_hours", "mfu", "model_tflops_per_device")


@cache
def reference_models() -> dict[str, Model]:
    text = resources.files(__package__).joinpath("reference_models.json").read_text(encoding="utf-8")
    return {key: Model(**fields) for key, fields in json.loads(text)["models"].items()}


def point_model(point: Mapping[str, Any]) -> Model:
    return reference_models().get(point["model"]) or load_model(point["model"])


def _convention_flops(model: Model, seq_len: int, flops: float, convention: str | None) -> float:
    """Model FLOPs per token in the publisher's convention (module docstring)."""
    if convention != "megatron":
        return flops
    return flops + 3.0 * attention_flops_per_pair(model) * model.num_layers * (seq_len - (seq_len + 1) / 2.0)


def _device(backend: str, registry: Any):
    from ..hardware.registry import default_registry

    target = (registry or default_registry()).get(backend)
    return getattr(target, "device", target)


def _metric(metric: str, model: Model, cond: Mapping[str, Any], tokens_per_s: float, flops: float, peak: float):
    """``metric`` from tokens/s per device and model FLOPs per token (tokenfab's causal count)."""
    recipe = cond["recipe"]
    if metric == "tokens_per_s_per_device":
        return tokens_per_s
    if metric == "device_hours":
        tokens = recipe.get("tokens") or recipe["steps"] * recipe["seq_len"] * recipe["global_batch"]
        return tokens / tokens_per_s / 3600.0 / recipe.get("goodput", 1.0)
    tflops = _convention_flops(model, recipe["seq_len"], flops, cond.get("convention")) * tokens_per_s / 1e12
    return tflops if metric == "model_tflops_per_device" else tflops * 1e12 / peak


def rule_of_thumb(point: Mapping[str, Any], registry: Any = None) -> float:
    """The point's metric from ``6 N`` FLOPs per token at 40% of the peak (module docstring)."""
    model, cond = point_model(point), point["conditions"]
    device = _device(point["backend"], registry)
    peak = device.peak(cond["recipe"].get("precision", "bf16"))
    tokens_per_s = RULE_OF_THUMB_FRACTION * peak / (6.0 * model.active_params)
    bf16 = device.peak("bf16" if "bf16" in device.peak_flops_per_s else "fp16")
    value = _metric(point["metric"], model, cond, tokens_per_s, 6.0 * model.active_params, bf16)
    if point["metric"] == "device_hours":  # the rule knows no goodput
        value *= cond["recipe"].get("goodput", 1.0)
    return value


def predict_training(point: Mapping[str, Any], registry: Any = None) -> tuple[float, dict[str, Any]]:
    """Replay a training point with :func:`tokenfab.train`."""
    if point["metric"] not in METRICS:
        raise ValidationError(f"validation point {point['id']!r}: metric must be one of {', '.join(METRICS)}")
    model, cond = point_model(point), point["conditions"]
    mapping = TrainingMapping.from_dict(cond["mapping"]) if cond.get("mapping") else None
    recipe = TrainingRecipe.from_dict(dict(cond["recipe"]))
    est = train(model, point["backend"], recipe, devices=cond["devices"], mapping=mapping, registry=registry)
    device = _device(point["backend"], registry)
    bf16 = device.peak("bf16" if "bf16" in device.peak_flops_per_s else "fp16")
    if point["metric"] == "device_hours":
        value = est.device_hours
    else:
        value = _metric(point["metric"], model, cond, est.tokens_per_s_per_device, est.model_flops_per_token, bf16)
    m = est.mapping
    rule = rule_of_thumb(point, registry)
    details = {
        "mapping": f"tp{m.tp} cp{m.cp} pp{m.pp} dp{m.dp} ep{m.ep} zero{m.zero} {m.schedule}",
        "mfu": est.mfu,
        "rule_of_thumb": rule,
        "rule_of_thumb_abs_error": abs(rule / float(point["value"]) - 1.0),
    }
    return float(value), details


def training_summary(rows) -> dict[str, Any]:
    """Median |error| of tokenfab and of the rule of thumb over the scored training rows, by role."""
    out: dict[str, Any] = {}
    for role in ("calibration", "check", "all"):
        scored = [r for r in rows if r.predicted is not None and role in ("all", r.point["role"])]
        out[role] = {
            "scored": len(scored),
            "median_abs_error": statistics.median(r.abs_error for r in scored) if scored else None,
            "rule_of_thumb_median_abs_error": (
                statistics.median(r.details["rule_of_thumb_abs_error"] for r in scored) if scored else None
            ),
        }
    out["not_estimated"] = [r.point["id"] for r in rows if r.predicted is None]
    return out
