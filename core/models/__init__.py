"""Models: descriptions (:mod:`.description`), the built-in catalog (:mod:`.catalog`) and
lowering to op tables (:mod:`.lowering`).

``tokenfab.models`` was one module before the stage split (DESIGN section 6); every name it had
(``Model``, ``load_model``, ...) is still read from here, forwarded on first use to
:mod:`.description`, so that ``import tokenfab.models.catalog`` stays light. Patch
``tokenfab.models.description``, not this package, to change what the core sees.
"""

from .._forward import forward_to

__getattr__ = forward_to(__name__, "description")
