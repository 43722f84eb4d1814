"""AMD pack: Instinct MI250X, MI300X, MI325X, MI355X in 8-GPU Infinity Fabric nodes."""

from tokenfab import hookimpl

from .devices import DEVICES


@hookimpl
def tokenfab_devices():
    return list(DEVICES)
