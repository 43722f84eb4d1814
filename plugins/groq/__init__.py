"""Groq pack: the SRAM-only LPU. A model runs only on enough chips to hold its weights and KV
cache in SRAM; the pack picks the chip count and the mapping (tensor-split over the 8
all-to-all chips of a GroqNode, layers pipelined over nodes)."""

from __future__ import annotations

import math

from tokenfab import hookimpl

from .devices import DEVICES

#: This pack's placement and mapping hooks answer only about its own backends (``groq:*``): the
#: core does not ask them about others (a hook is a pure function of its arguments, see CONTRIBUTING.md).
TOKENFAB_HOOK_PREFIXES = ("groq",)

NODE_CHIPS = 8  # chips joined all-to-all in a GroqNode [tnp_groq2020]


def chips_needed(device, weights_bytes: float, kv_bytes: float) -> int:
    """Fewest chips whose usable SRAM holds weights plus KV cache:
    ``ceil((weights + kv) / (capacity * (1 - reserve)))``."""
    usable = device.weight_memory.capacity_bytes * (1.0 - device.efficiency.memory_reserve_fraction)
    return max(1, math.ceil((weights_bytes + kv_bytes) / usable))


def groq_mapping(model, device, weights_bytes: float, kv_bytes: float) -> dict[str, int]:
    """Tensor-split within a node (tp = 8, or fewer chips for tiny models), layers pipelined over
    ``pp = ceil(chips / tp)`` stages; the core adds stages if per-chip rounding leaves one short."""
    chips = chips_needed(device, weights_bytes, kv_bytes)
    tp = min(NODE_CHIPS, chips, model.num_heads)
    pp = min(math.ceil(chips / tp), model.num_layers)
    return {"devices": tp * pp, "tp": tp, "pp": pp}


@hookimpl
def tokenfab_devices():
    return list(DEVICES)


@hookimpl
def tokenfab_default_mapping(model, backend, weights_bytes, kv_bytes):
    device = getattr(backend, "device", backend)
    if not device.id.startswith("groq:"):
        return None
    return groq_mapping(model, device, weights_bytes, kv_bytes)
