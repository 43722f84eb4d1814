"""Testing support for pack authors: the conformance suite as a pytest plugin.

``pytest --tokenfab-pack NAME`` runs it against an installed pack; a pack's own tests subclass
:class:`PackConformance` (see :mod:`tokenfab.testing.plugin`). ``tokenfab plugins --check NAME``
runs the same checks (:mod:`tokenfab.testing.checks`) from the command line.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PackConformance"]


def __getattr__(name: str) -> Any:  # the suite imports pytest: load it only when asked for
    if name == "PackConformance":
        from .suite import PackConformance

        return PackConformance
    raise AttributeError(name)
