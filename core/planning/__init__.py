"""Planning: mapping search, deployment planner, Pareto fronts, load simulation.

``from tokenfab.planning import SLO, plan, pareto, simulate`` (also on the top-level package).
Names are imported on first use: the engine imports :mod:`.stages` from this package, and the
planner imports the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Pareto": "pareto",
    "pareto": "pareto",
    "PlanResult": "planner",
    "PlanRow": "planner",
    "plan": "planner",
    "replay": "planner",
    "Simulation": "simulate",
    "Trace": "simulate",
    "simulate": "simulate",
    "SLO": "slo",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tokenfab.planning' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
