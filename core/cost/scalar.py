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

import numpy as np

from .. import bounds
from ..deployment import Workload
from .engine import Plan, StepCost, breakdown_of, make_plan
from .fastpath import Totals, fused_one, step_totals
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
        workload = Workload(batch=int(b), input_tokens=int(inp), output_tokens=int(out))
    if c + t > plan.model.max_context:
        bounds.check_context(plan.model, c, t)  # raises, naming the limit
    replica = float(math.ceil(b / plan.replicas))  # one replica's share of the batch
    totals = one_scenario_totals(plan, phase, replica, t, c)
    fits = bool(totals.fits[0])
    if check_fit and not fits:
        raise plan.fit_error(replica, c + t, t)
    seconds, joules = float(totals.seconds[0]), float(totals.joules[0])
    bounds.check_finite({"seconds": seconds, "joules": joules}, "step cost")
    return StepCost(
        phase=phase,
        seconds=seconds,
        joules=joules,
        bound=BOUND_NAMES[int(totals.bound_code[0])],
        breakdown=functools.partial(breakdown_of, plan, phase, replica, t, c) if lazy else (),
        devices=plan.mapping.devices,
        batch=replica,
        tokens=t,
        context=c,
        memory_per_device_bytes=float(totals.memory_per_device_bytes[0]),
        fits=fits,
        plan=plan,
        workload=workload,
    )


def one_scenario_totals(plan: Plan, phase: str, batch: float, tokens: float, context: float) -> Totals:
    """:func:`tokenfab.fastpath.step_totals` of one scenario, with memory and fit worked out once
    in plain floats (:meth:`Plan.memory_one`, the same sums as :meth:`Plan.memory_per_device`)."""
    one = fused_one(plan, phase, batch, tokens, context)
    if one is None:  # no C kernel: the numpy reference
        return step_totals(plan, phase, np.array([batch]), np.array([tokens]), np.array([context]))
    memory, fits = plan.memory_fit_one(batch, context + tokens, tokens)
    return Totals(
        seconds=np.array([one[0]]),
        joules=np.array([one[1]]),
        bound_code=np.array([one[2]], dtype=np.int8),
        memory_per_device_bytes=np.array([float(memory)]),
        fits=np.array([fits]),
    )
