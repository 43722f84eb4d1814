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

from .deployment import Deployment, Workload
from .engine import OpCost, StepCost, decode_step, prefill
from .errors import FitError, TokenfabError, UnknownIdError, UnsupportedPrecisionError, ValidationError
from .hookspecs import HOOKSPEC_VERSION, hookimpl
from .models import Model, load_model
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
)

__version__ = "0.1.0"


def backends() -> list[str]:
    """Ids of every device and system the installed packs provide, sorted."""
    from .registry import default_registry

    return sorted(default_registry().backends)


def get_backend(backend_id: str) -> Device | System:
    """The :class:`Device` or :class:`System` registered under ``backend_id`` (e.g. ``nvidia:h100-sxm``)."""
    from .registry import default_registry

    return default_registry().get(backend_id)


def models() -> list[str]:
    """Ids of the built-in catalog and of models contributed by packs, sorted."""
    from .catalog import all_models

    return sorted(all_models())


from . import conformance, economics, registry  # noqa: E402
from .serving import Estimate, Speculative, compare, estimate, sweep  # noqa: E402  (needs the names above)

__all__ = [
    "HOOKSPEC_VERSION",
    "PRECISION_BITS",
    "Deployment",
    "Device",
    "Efficiency",
    "Estimate",
    "FitError",
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
    "TokenfabError",
    "UnknownIdError",
    "UnsupportedPrecisionError",
    "ValidationError",
    "Workload",
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
]
