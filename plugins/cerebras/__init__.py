"""Cerebras pack: wafer-scale systems. Weights sit in on-wafer SRAM when they fit across one or
several wafers (layers pipelined across systems); when the user gives fewer systems than that,
weights stream from MemoryX over the system's 150 GB/s I/O."""

from __future__ import annotations

import math

from tokenfab import hookimpl

from .devices import DEVICES


def _usable_sram(device) -> float:
    return device.level("sram").capacity_bytes * (1.0 - device.efficiency.memory_reserve_fraction)


@hookimpl
def tokenfab_devices():
    return list(DEVICES)


@hookimpl
def tokenfab_default_mapping(model, backend, weights_bytes, kv_bytes):
    """Fewest wafers whose SRAM holds weights and KV: ``ceil((w + kv) / usable)``, one pipeline
    stage each (no tensor split across systems)."""
    device = getattr(backend, "device", backend)
    if not device.id.startswith("cerebras:"):
        return None
    wafers = min(max(1, math.ceil((weights_bytes + kv_bytes) / _usable_sram(device))), model.num_layers)
    return {"devices": wafers, "tp": 1, "pp": wafers}


@hookimpl
def tokenfab_placement(model, device, weights_bytes, kv_bytes, activation_bytes):
    """SRAM for everything that fits a wafer; otherwise weights stream from MemoryX (and the KV
    cache joins them when it does not fit either)."""
    if not device.id.startswith("cerebras:"):
        return None
    usable = _usable_sram(device)
    if weights_bytes + kv_bytes + activation_bytes <= usable:
        return {"weights": "sram", "kv": "sram"}
    if kv_bytes + activation_bytes <= usable:
        return {"weights": "memoryx", "kv": "sram"}
    return {"weights": "memoryx", "kv": "memoryx"}
