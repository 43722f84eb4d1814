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
import sys
import types
from typing import TYPE_CHECKING, Any


def _find_attrs(fullname: str, path: object = None, target: object = None) -> Any:
    """``find_spec`` of a finder first on ``sys.meta_path``: when attrs loads ``attr._make``, hand
    it to :mod:`tokenfab._attrs_cache` (attrs' generated methods of our classes, compiled once)."""
    if fullname != "attr._make":
        return None
    from ._attrs_cache import find_spec

    return find_spec(fullname, path, target)


if "attr._make" in sys.modules:  # attrs came first: patch it now
    from ._attrs_cache import install

    install()
elif not any(getattr(finder, "tokenfab_attrs", False) for finder in sys.meta_path):
    sys.meta_path.insert(0, types.SimpleNamespace(find_spec=_find_attrs, tokenfab_attrs=True))

#: Modules that moved into stage subpackages (DESIGN section 6, docs/architecture.md): old name ->
#: subpackage. ``import tokenfab.engine`` still works and gives the very module
#: ``tokenfab.cost.engine`` (one object: patching either patches what the core runs).
_MOVED = {
    "conformance": "hardware",
    "declarative": "hardware",
    "discovery": "hardware",
    "guard": "hardware",
    "hookspecs": "hardware",
    "protocol": "hardware",
    "registry": "hardware",
    "sources": "hardware",
    "catalog": "models",
    "lowering": "models",
    "collectives": "cost",
    "engine": "cost",
    "fastpath": "cost",
    "kernel": "cost",
    "scalar": "cost",
    "sweeps": "serving",
}


# A finder and loader at the end of sys.meta_path that answers only `tokenfab.<old name>`: its
# loader hands back the module imported under its new name (nothing runs twice), then gives it back
# its own __spec__ (the import system sets the alias spec on it in between). A namespace of three
# functions, not a class, and no docstrings: `import tokenfab` stays as cheap as before the split.
def _find_moved(fullname: str, path: object = None, target: object = None) -> Any:
    package, _, name = fullname.rpartition(".")
    if package != __name__ or name not in _MOVED:
        return None
    from importlib.machinery import ModuleSpec

    return ModuleSpec(fullname, _moved_modules)


def _import_moved(spec: Any) -> Any:
    package, _, name = spec.name.rpartition(".")
    module = importlib.import_module(f"{package}.{_MOVED[name]}.{name}")
    spec.loader_state = module.__spec__
    return module


def _ran_already(module: Any) -> None:
    module.__spec__ = module.__spec__.loader_state


_moved_modules = types.SimpleNamespace(
    find_spec=_find_moved, create_module=_import_moved, exec_module=_ran_already, tokenfab_moved=True
)
if not any(getattr(finder, "tokenfab_moved", False) for finder in sys.meta_path):
    sys.meta_path.append(_moved_modules)

#: Public name -> module that defines it. Imported on first use (module ``__getattr__``), so that
#: ``import tokenfab`` costs almost nothing beyond Python itself; see docs/performance.md.
_LAZY = {
    "Deployment": "deployment",
    "Workload": "deployment",
    "mappings": "planning.mappings",
    "MappingSearch": "planning.mappings",
    "OpCost": "cost.engine",
    "StepCost": "cost.engine",
    "decode_step": "cost.engine",
    "prefill": "cost.engine",
    "FitError": "errors",
    "NonFiniteError": "errors",
    "PackError": "errors",
    "TokenfabError": "errors",
    "UnknownIdError": "errors",
    "UnsupportedPrecisionError": "errors",
    "ValidationError": "errors",
    "HOOKSPEC_VERSION": "hardware.hookspecs",
    "hookimpl": "hardware.hookspecs",
    "Model": "models.description",
    "load_model": "models.description",
    "PRECISION_BITS": "hardware.protocol",
    "Device": "hardware.protocol",
    "Efficiency": "hardware.protocol",
    "Interconnect": "hardware.protocol",
    "Link": "hardware.protocol",
    "MemoryLevel": "hardware.protocol",
    "Power": "hardware.protocol",
    "Precision": "hardware.protocol",
    "Price": "hardware.protocol",
    "System": "hardware.protocol",
    "TokenPrice": "hardware.protocol",
    "Estimate": "serving.steady",
    "Speculative": "serving.steady",
    "compare": "serving.steady",
    "estimate": "serving.steady",
    "sweep": "serving.sweeps",
    "SweepResult": "serving.sweeps",
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
    from .cost.engine import OpCost, StepCost, decode_step, prefill
    from .deployment import Deployment, Workload
    from .errors import (
        FitError,
        NonFiniteError,
        PackError,
        TokenfabError,
        UnknownIdError,
        UnsupportedPrecisionError,
        ValidationError,
    )
    from .hardware.hookspecs import HOOKSPEC_VERSION, hookimpl
    from .hardware.protocol import (
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
    from .models.description import Model, load_model
    from .planning.mappings import MappingSearch, mappings
    from .planning.pareto import pareto
    from .planning.planner import plan
    from .planning.simulate import simulate
    from .planning.slo import SLO
    from .serving.steady import Estimate, Speculative, compare, estimate
    from .serving.sweeps import SweepResult, sweep
    from .training.api import TrainingEstimate, train
    from .training.config import TrainingMapping, TrainingRecipe
    from .validation import validate


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name in this namespace."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES or name in _MOVED:
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
    from .hardware.registry import default_registry

    return sorted(default_registry().backends)


def get_backend(backend_id: str) -> Device | System:  # noqa: F821 (lazy names)
    """The :class:`Device` or :class:`System` registered under ``backend_id`` (e.g. ``nvidia:h100-sxm``)."""
    from .hardware.registry import default_registry

    return default_registry().get(backend_id)


def models() -> list[str]:
    """Ids of the built-in catalog and of models contributed by packs, sorted."""
    from .models.catalog import all_models

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
