"""Module ``__getattr__`` for ``tokenfab.models`` and ``tokenfab.serving``, each one module before
the stage split (DESIGN section 6): their old names are read from the module that holds them now."""

from __future__ import annotations

import importlib
from typing import Any


def forward_to(package: str, module: str) -> Any:
    """Module ``__getattr__`` for ``tokenfab.models`` and ``tokenfab.serving``, one module each before
    the split: every old name (private ones included) is read from ``package.module`` on first use,
    and ``__all__`` (for ``import *``) is that module's public names."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name != "__all__":
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = importlib.import_module(f"{package}.{module}")  # not `from . import`: that asks this hook again
        if name == "__all__":
            return [key for key in vars(target) if not key.startswith("_")]
        try:
            return getattr(target, name)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

    return __getattr__
