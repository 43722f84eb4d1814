"""tokenfab: what a token costs, and how fast it comes, on each AI chip.

Python API (contract in DESIGN section 3)::

    import tokenfab
    tokenfab.backends()                      # ids of every discovered device and system
    step = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=8, context=2048)
    step.seconds, step.bound, step.breakdown
    est = tokenfab.estimate("llama-3.1-70b", "nvidia:h200", batch=32, input_tokens=1000, output_tokens=500)
    est.to_dict()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _attrs_cache

_attrs_cache.install()  # attrs' generated methods of our classes, compiled once (see its docstring)

#: Public name -> module that defines it. Imported on first use (module ``__getattr__``), so that
#: ``import tokenfab`` costs almost nothing beyond Python itself; see docs/performance.md.
_LAZY = {
    "Deployment": "deployment",
    "Workload": "deployment",
    "mappings": "planning.mappings",
    "MappingSearch": "planning.mappings",
    "OpCost": "engine",
    "StepCost": "engine",
    "decode_step": "engine",
    "prefill": "engine",
    "FitError": "errors",
    "NonFiniteError": "errors",
    "PackError": "errors",
    "TokenfabError": "errors",
    "UnknownIdError": "errors",
    "UnsupportedPrecisionError": "errors",
    "ValidationError": "errors",
    "HOOKSPEC_VERSION": "hookspecs",
    "hookimpl": "hookspecs",
    "Model": "models",
    "load_model": "models",
    "PRECISION_BITS": "protocol",
    "Device": "protocol",
    "Efficiency": "protocol",
    "Interconnect": "protocol",
    "Link": "protocol",
    "MemoryLevel": "protocol",
    "Power": "protocol",
    "Precision": "protocol",
    "Price": "protocol",
    "System": "protocol",
    "TokenPrice": "protocol",
    "Estimate": "serving",
    "Speculative": "serving",
    "compare": "serving",
    "estimate": "serving",
    "sweep": "sweeps",
    "SweepResult": "sweeps",
    "train": "training.api",
    "TrainingEstimate": "training.api",
    "TrainingMapping": "training.config",
    "TrainingRecipe": "training.config",
    "validate": "validation",
    "plan": "planning.planner",
    "pareto": "planning.pareto",
    "simulate": "planning.simulate",
    "SLO": "planning.slo",
}
#: Submodules reachable as attributes (``tokenfab.registry``) without an explicit import.
_SUBMODULES = ("conformance", "economics", "registry", "sweeps")

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .deployment import Deployment, Workload
    from .engine import OpCost, StepCost, decode_step, prefill
    from .errors import (
        FitError,
        NonFiniteError,
        PackError,
        TokenfabError,
        UnknownIdError,
        UnsupportedPrecisionError,
        ValidationError,
    )
    from .hookspecs import HOOKSPEC_VERSION, hookimpl
    from .models import Model, load_model
    from .planning.mappings import MappingSearch, mappings
    from .planning.pareto import pareto
    from .planning.planner import plan
    from .planning.simulate import simulate
    from .planning.slo import SLO
    from .protocol import (
        PRECISION_BITS,
        Device,
        Efficiency,
        Interconnect,
        Link,
        MemoryLevel,
        Power,
        Precision,
        Price,
        System,
        TokenPrice,
    )
    from .serving import Estimate, Speculative, compare, estimate
    from .sweeps import SweepResult, sweep
    from .training.api import TrainingEstimate, train
    from .training.config import TrainingMapping, TrainingRecipe
    from .validation import validate


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name in this namespace."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'tokenfab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"


def backends() -> list[str]:
    """Ids of every device and system the installed packs provide, sorted."""
    from .registry import default_registry

    return sorted(default_registry().backends)


def get_backend(backend_id: str) -> Device | System:  # noqa: F821 (lazy names)
    """The :class:`Device` or :class:`System` registered under ``backend_id`` (e.g. ``nvidia:h100-sxm``)."""
    from .registry import default_registry

    return default_registry().get(backend_id)


def models() -> list[str]:
    """Ids of the built-in catalog and of models contributed by packs, sorted."""
    from .catalog import all_models

    return sorted(all_models())


__all__ = [
    "HOOKSPEC_VERSION",
    "PRECISION_BITS",
    "Deployment",
    "Device",
    "Efficiency",
    "Estimate",
    "FitError",
    "NonFiniteError",
    "PackError",
    "Interconnect",
    "Link",
    "MemoryLevel",
    "Model",
    "OpCost",
    "Power",
    "Precision",
    "Price",
    "StepCost",
    "System",
    "TokenPrice",
    "TokenfabError",
    "UnknownIdError",
    "UnsupportedPrecisionError",
    "ValidationError",
    "Workload",
    "MappingSearch",
    "mappings",
    "backends",
    "compare",
    "decode_step",
    "estimate",
    "get_backend",
    "hookimpl",
    "load_model",
    "models",
    "prefill",
    "conformance",
    "economics",
    "registry",
    "Speculative",
    "sweep",
    "sweeps",
    "SweepResult",
    "train",
    "TrainingEstimate",
    "TrainingMapping",
    "TrainingRecipe",
    "validate",
    "plan",
    "pareto",
    "simulate",
    "SLO",
]
