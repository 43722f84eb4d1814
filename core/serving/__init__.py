"""Serving: steady-state estimates and comparisons (:mod:`.steady`) and sweeps over grids of
scenarios (:mod:`.sweeps`).

``tokenfab.serving`` was one module before the stage split (DESIGN section 6); every name it had
(``estimate``, ``compare``, ``Estimate``, ``METRICS``, ...) is still read from here, forwarded on
first use to :mod:`.steady`. Patch ``tokenfab.serving.steady``, not this package, to change what
the core sees.
"""

from .._forward import forward_to

__getattr__ = forward_to(__name__, "steady")
