"""Planning: mapping search, deployment planner, Pareto fronts, load simulation.

``from tokenfab.planning import SLO, plan, pareto, simulate`` (also on the top-level package).
"""

from __future__ import annotations

from .pareto import Pareto, pareto
from .planner import PlanResult, PlanRow, plan, replay
from .simulate import Simulation, Trace, simulate
from .slo import SLO

__all__ = ["SLO", "Pareto", "PlanResult", "PlanRow", "Simulation", "Trace", "pareto", "plan", "replay", "simulate"]
