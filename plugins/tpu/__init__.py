"""Google TPU pack: v5e, v5p, v6e (Trillium), TPU7x (Ironwood). Chips join over ICI in 2D or 3D
tori; collectives pay per-dimension ring steps (tokenfab.collectives)."""

from tokenfab import hookimpl

from .devices import DEVICES, SYSTEMS


@hookimpl
def tokenfab_devices():
    return [*DEVICES, *SYSTEMS]
