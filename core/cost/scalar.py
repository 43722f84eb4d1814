"""One scenario without array machinery: :func:`tokenfab.decode_step` and :func:`tokenfab.prefill`
with scalar ``batch``, ``tokens`` and ``context``.

The array path validates, broadcasts and reshapes its inputs and outputs, each a numpy call
that costs microseconds even for one element; for a single scenario that bookkeeping costs more
than the step itself. This path checks the three numbers as numbers, looks the plan up in the
plan cache (lowering, placement and mapping are resolved once per model, backend and
deployment), runs the same fused C pass (:func:`tokenfab.fastpath.step_totals`) on one
scenario and returns plain Python numbers: the values are those of the array path for the same
scenario (tests hold them equal).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import attrs
import numpy as np

from .. import bounds
from ..deployment import Workload
from .engine import Plan, StepCost, breakdown_of, make_plan
from .fastpath import fused_one, step_totals
from .kernel import BOUND_NAMES


def is_scalar(value: Any) -> bool:
    """Whether ``value`` is one number (a Python or numpy scalar; not an array) or ``None``.
    A bool passes here and fails the same check the array path makes, with the same message."""
    return value is None or isinstance(value, numbers.Real)


def scalar_step(
    phase: str, model: Any, backend: Any, workload: Any, scenario: tuple[Any, Any, Any], options: dict[str, Any]
) -> Any:
    """The :class:`~tokenfab.engine.StepCost` of one scenario ``(batch, tokens, context)``;
    ``options``: ``deployment``, ``check_fit``, ``breakdown``, ``registry`` and deployment fields."""
    batch, tokens, context = scenario
    b = float(bounds.check_int("batch", 1 if batch is None else batch, 1))
    t = float(bounds.check_int("tokens", 1 if tokens is None else tokens, 1))
    c = float(bounds.check_int("context", 0 if context is None else context, 0))
    options = dict(options)
    check_fit, lazy = options.pop("check_fit", True), options.pop("breakdown", True)
    plan = make_plan(model, backend, batch=b, kv_tokens=c + t, step_tokens=t, **options)
    if workload is None:  # the scenario the plan is sized for, as a workload
        inp, out = (c + t, 1) if phase == "prefill" else (max(c, 1), t)
        workload = _workload(int(b), int(inp), int(out))
    if c + t > plan.model.max_context:
        bounds.check_context(plan.model, c, t)  # raises, naming the limit
    replica = float(math.ceil(b / plan.replicas))  # one replica's share of the batch
    seconds, joules, code, memory, fits = one_scenario(plan, phase, replica, t, c)
    if check_fit and not fits:
        raise plan.fit_error(replica, c + t, t)
    if not (math.isfinite(seconds) and math.isfinite(joules)):
        bounds.check_finite({"seconds": seconds, "joules": joules}, "step cost")  # raises, naming the field
    return StepCost(
        phase=phase,
        seconds=seconds,
        joules=joules,
        bound=BOUND_NAMES[code],
        breakdown=functools.partial(breakdown_of, plan, phase, replica, t, c) if lazy else (),
        devices=plan.mapping.devices,
        batch=replica,
        tokens=t,
        context=c,
        memory_per_device_bytes=memory,
        fits=fits,
        plan=plan,
        workload=workload,
    )


_WORKLOAD_FIELDS = tuple(field.name for field in attrs.fields(Workload))
_DEFAULT_WORKLOAD = Workload(input_tokens=1, output_tokens=1)


def _workload(batch: int, input_tokens: int, output_tokens: int) -> Workload:
    """``Workload(batch=..., input_tokens=..., output_tokens=...)`` of integers already checked
    (:func:`tokenfab.bounds.check_int`): a copy of a checked default with the three set, without
    running its validators again; through the constructor when a count is out of its range, so
    that the error is the one the constructor raises."""
    if not all(1 <= value <= bounds.MAX_COUNT for value in (batch, input_tokens, output_tokens)):
        return Workload(batch=batch, input_tokens=input_tokens, output_tokens=output_tokens)
    new = object.__new__(Workload)
    for name in _WORKLOAD_FIELDS:
        object.__setattr__(new, name, getattr(_DEFAULT_WORKLOAD, name))
    object.__setattr__(new, "batch", batch)
    object.__setattr__(new, "input_tokens", input_tokens)
    object.__setattr__(new, "output_tokens", output_tokens)
    return new


def one_scenario(plan: Plan, phase: str, batch: float, tokens: float, context: float) -> tuple:
    """(seconds, joules, bound code, memory per device, fits) of one scenario as plain Python
    numbers: the fused C pass (:func:`tokenfab.fastpath.fused_one`) with memory and fit worked out
    in plain floats (:meth:`Plan.memory_fit_one`, the same sums as :meth:`Plan.memory_per_device`),
    or :func:`tokenfab.fastpath.step_totals` (the numpy reference) without the C kernel."""
    one = fused_one(plan, phase, batch, tokens, context)
    if one is None:  # no C kernel: the numpy reference
        totals = step_totals(plan, phase, np.array([batch]), np.array([tokens]), np.array([context]))
        one = (totals.seconds[0], totals.joules[0], totals.bound_code[0])
        memory, fits = totals.memory_per_device_bytes[0], totals.fits[0]
    else:
        memory, fits = plan.memory_fit_one(batch, context + tokens, tokens)
    return float(one[0]), float(one[1]), int(one[2]), float(memory), bool(fits)
