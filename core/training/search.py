"""Mapping search for training: the fastest mapping that fits, by enumeration.

Candidates (every combination, for ``devices`` devices):

* ``tp``: :func:`tokenfab.planning.mappings.tp_options` (the serving search's options, within the
  scale-up domain) that divide the attention heads;
* ``cp`` 1, or 2, 4, 8, 16 for sequences of 16k tokens and more;
* ``pp`` in 1, 2, 4, 8, 16, 32 (at most the layers), scheduled 1F1B, or interleaved with
  ``v = 2, 4`` chunks when the layers split that finely;
* ``ep``: :func:`tokenfab.planning.mappings.ep_options` (divisors of the experts; 1 for a dense
  model) that divide ``dp * cp``;
* ``zero`` 1 (distributed optimizer) or 3 (FSDP);
* ``dp = devices / (tp * cp * pp)``, which must be whole and give at least one micro-batch.

The recipe's micro-batch size, recompute policy and precision are kept as given. Ranked by
step time; ties go to the simpler mapping (fewer model-parallel devices).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import FitError, ValidationError
from ..hardware.protocol import Device
from ..models.description import Model
from ..planning.mappings import ep_options, tp_options
from .config import TrainingMapping, TrainingRecipe


def candidates(model: Model, device: Device, recipe: TrainingRecipe, devices: int) -> Iterator[TrainingMapping]:
    """Every candidate mapping of ``devices`` (module docstring)."""
    # the serving search's tensor-parallel options (head divisors and powers of two within the scale-up
    # domain); training keeps the even splits only (Megatron refuses padded heads)
    tps = [t for t in tp_options(model, device, {}) if t <= devices and model.num_heads % t == 0]
    cps = [c for c in (1, 2, 4, 8, 16) if c == 1 or (recipe.seq_len >= 16384 and recipe.seq_len % c == 0)]
    pps = [p for p in (1, 2, 4, 8, 16, 32) if p <= model.num_layers]
    for tp in tps:
        for cp in cps:
            for pp in pps:
                if devices % (tp * cp * pp):
                    continue
                dp = devices // (tp * cp * pp)
                if recipe.global_batch < dp * recipe.micro_batch:
                    continue
                yield from _variants(model, tp, cp, pp, dp)


def _variants(model: Model, tp: int, cp: int, pp: int, dp: int) -> Iterator[TrainingMapping]:
    eps = [e for e in ep_options(model, {}) if (dp * cp) % e == 0]
    schedules = [("1f1b", 1)]
    if pp > 1:
        layers_per_stage = model.num_layers // pp
        schedules += [("interleaved", v) for v in (2, 4) if layers_per_stage >= v]
    for ep in eps:
        for zero in (1, 3):
            for schedule, chunks in schedules:
                yield TrainingMapping(tp=tp, cp=cp, pp=pp, dp=dp, ep=ep, zero=zero, schedule=schedule, chunks=chunks)


def ranked(model: Model, device: Device, recipe: TrainingRecipe, devices: int) -> list:
    """Feasible candidates' steps, fastest first."""
    from .api import step_cost

    steps = []
    for mapping in candidates(model, device, recipe, devices):
        try:
            step = step_cost(model, device, mapping, recipe)
        except ValidationError:
            continue
        if step.fits:
            steps.append(step)
    steps.sort(key=lambda s: (s.seconds, s.mapping.tp * s.mapping.pp * s.mapping.cp))
    return steps


def best_mapping(model: Model, device: Device, recipe: TrainingRecipe, devices: int) -> TrainingMapping:
    """The fastest candidate that fits; :class:`FitError` naming the smallest need otherwise."""
    steps = ranked(model, device, recipe, devices)
    if steps:
        return steps[0].mapping
    raise FitError(
        f"{model.id} does not fit on {devices} x {device.id} under any mapping the search tries "
        f"(tp <= scale-up domain, pp <= 32, zero 1 or 3, recompute {recipe.recompute}); give more devices, "
        f"full recompute or a smaller micro_batch"
    )
