"""AWS pack: Trainium (Trn1), Trainium2 (and the Trn2 UltraServer), Trainium3, Inferentia2.
NeuronLink joins chips in 2D tori (Trn1, Trn2), rings (Inf2) or a switched fabric (Trn3)."""

from tokenfab import hookimpl

from .devices import DEVICES, SYSTEMS


@hookimpl
def tokenfab_devices():
    return [*DEVICES, *SYSTEMS]
