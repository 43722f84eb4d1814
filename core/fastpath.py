"""Totals-only step costs: what sweeps and planners need per scenario, without the breakdown.

:func:`step_totals` returns, per scenario, the step's seconds, the replica's joules, the bound
as a small integer code (index into :data:`tokenfab.kernel.BOUND_NAMES`), memory per device and
whether it fits: the same numbers as :func:`tokenfab.engine.run_plan`, which also builds the
per-operator breakdown.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np


@attrs.frozen
class Totals:
    """1-D arrays, one entry per scenario."""

    seconds: np.ndarray
    joules: np.ndarray
    bound_code: np.ndarray  # int8: 0 compute, 1 memory, 2 communication, 3 overhead
    memory_per_device_bytes: np.ndarray
    fits: np.ndarray


def step_totals(plan: Any, phase: str, batch: np.ndarray, tokens: np.ndarray, context: np.ndarray) -> Totals:
    """Totals of ``plan`` for the scenarios ``batch`` (one replica's) x ``tokens`` x ``context``."""
    from .engine import run_plan
    from .kernel import BOUND_NAMES

    cost = run_plan(plan, phase, batch, tokens, context, check_fit=False)
    names = np.atleast_1d(cost.bound).ravel()
    codes = np.zeros(names.shape, dtype=np.int8)
    for code, name in enumerate(BOUND_NAMES):
        codes[names == name] = code
    return Totals(
        seconds=np.atleast_1d(cost.seconds).ravel().astype(np.float64),
        joules=np.atleast_1d(cost.joules).ravel().astype(np.float64),
        bound_code=codes,
        memory_per_device_bytes=np.atleast_1d(cost.memory_per_device_bytes).ravel().astype(np.float64),
        fits=np.atleast_1d(cost.fits).ravel().astype(bool),
    )
