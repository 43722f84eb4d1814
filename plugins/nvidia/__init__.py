"""NVIDIA pack: A100, H100 SXM, H200, B200, GB200 (per GPU) and the GB200 NVL72 rack."""

from tokenfab import hookimpl

from .devices import DEVICES, SYSTEMS


@hookimpl
def tokenfab_devices():
    return [*DEVICES, *SYSTEMS]
