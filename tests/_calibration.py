"""Shared by the calibration tests: the shipped device with efficiency figures changed, in a
registry of its own, and the sum of squared log errors of calibration points replayed on it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import attrs
import tokenfab
from tokenfab.registry import build_registry


def trial_registry(backend: str, trial_id: str, **efficiency):
    """A registry holding only ``backend``'s device, renamed ``trial_id``, with ``efficiency`` fields changed."""
    device = tokenfab.get_backend(backend)
    trial = attrs.evolve(device, id=trial_id, efficiency=attrs.evolve(device.efficiency, **efficiency))

    class Trial:
        @tokenfab.hookimpl
        def tokenfab_devices(self):
            return [trial]

    return build_registry([Trial()], entry_points=False)


def points_log_error(points: Iterable[dict], predict: Callable, registry, trial_id: str) -> float:
    """sum(log(predicted / published)^2) over validation ``points`` replayed on ``trial_id`` with
    ``predict(point, registry) -> (predicted, ...)`` (validate's predict_inference or predict_training)."""
    total = 0.0
    for point in points:
        predicted = predict({**point, "backend": trial_id}, registry)[0]
        total += math.log(predicted / point["value"]) ** 2
    return total
