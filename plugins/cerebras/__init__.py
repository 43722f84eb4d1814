"""Cerebras pack: wafer-scale systems. Weights and KV cache sit in on-wafer SRAM across as many
wafers as that takes (layers pipelined across systems: the core's default placement and mapping
search). MemoryX weight streaming over the system's 150 GB/s I/O is a mode a deployment asks for
(``weights_memory="memoryx"``), or the core's stated fallback when on-wafer SRAM cannot hold the
model at the device count given."""

from __future__ import annotations

import math

from tokenfab import hookimpl

from .devices import DEVICES

#: This pack's placement and mapping hooks answer only about its own backends (``cerebras:*``): the
#: core does not ask them about others (a hook is a pure function of its arguments, see CONTRIBUTING.md).
TOKENFAB_HOOK_PREFIXES = ("cerebras",)


def _usable_sram(device) -> float:
    return device.level("sram").capacity_bytes * (1.0 - device.efficiency.memory_reserve_fraction)


@hookimpl
def tokenfab_devices():
    return list(DEVICES)


@hookimpl
def tokenfab_default_mapping(model, backend, weights_bytes, kv_bytes):
    """A seed for the mapping search: the fewest wafers whose SRAM holds weights and KV,
    ``ceil((w + kv) / usable)``, one pipeline stage each (no tensor split across systems). The
    search checks its fit (whole-layer stages may need one more) like any other candidate."""
    device = getattr(backend, "device", backend)
    if not device.id.startswith("cerebras:"):
        return None
    wafers = min(max(1, math.ceil((weights_bytes + kv_bytes) / _usable_sram(device))), model.num_layers)
    return {"devices": wafers, "tp": 1, "pp": wafers}
