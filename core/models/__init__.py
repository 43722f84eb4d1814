"""Models: descriptions (:mod:`.description`), the built-in catalog (:mod:`.catalog`) and
lowering to op tables (:mod:`.lowering`).

``tokenfab.models`` was one module before the stage split (DESIGN section 6); every name it had
(``Model``, ``load_model``, ...) is still read from here, forwarded on first use to
:mod:`.description`, so that ``import tokenfab.models.catalog`` stays light. Patch
``tokenfab.models.description``, not this package, to change what the core sees.
"""

import sys
import types

from .._forward import forward_to

__getattr__ = forward_to(__name__, "description")


class _CatalogPackage(types.ModuleType):
    """This package's module type. ``tokenfab.models()`` is public API (DESIGN section 3: the
    sorted ids of the catalog and of pack models), but importing this package rebinds
    ``tokenfab.models`` to it; calling the package therefore answers what the function does."""

    def __call__(self) -> list[str]:
        from .catalog import all_models

        return sorted(all_models())


sys.modules[__name__].__class__ = _CatalogPackage
