"""Parallel mappings the planner tries for one backend, model and weight precision.

Starting from the fewest devices that hold the model at batch 1 (the engine's default mapping,
or the pack's ``tokenfab_default_mapping`` for SRAM machines), the candidates are:

* the default ``(tp, pp)``;
* wider tensor splits ``2 tp``, ``4 tp`` ... up to the scale-up domain (more memory for KV
  cache, faster steps) while the heads divide;
* ``2 pp`` pipeline stages when the default already pipelines (SRAM machines: more chips hold
  more KV cache);
* for mixture-of-experts models, expert-parallel splits ``tp' x ep`` of the same device counts
  (``ep`` a power of two dividing the experts), attention running data-parallel over ``ep``.

Each candidate is a dict of ``devices, tp, pp, ep`` for one replica; capped by ``max_devices``.
"""

from __future__ import annotations

from typing import Any

from ..cost.engine import make_plan
from ..hardware.registry import Registry
from ..models.description import Model


def candidate_mappings(
    model: Model, backend_id: str, weights: str, kv_tokens: float, registry: Registry, max_devices: int | None
) -> list[dict[str, int]]:
    """Replica mappings to search (see module docstring); raises the engine's error when the
    model fits nowhere on this backend at this precision."""
    base = make_plan(model, backend_id, batch=1, kv_tokens=kv_tokens, step_tokens=1, weights=weights, registry=registry)
    device = base.device
    scale_up = device.interconnect.scale_up
    domain = scale_up.domain_size if scale_up is not None else 1
    tp0, pp0 = base.mapping.tp, base.mapping.pp
    out: list[dict[str, int]] = [_mapping(tp0, pp0, 1)]
    tp = tp0 * 2
    while tp <= domain and model.num_heads % tp == 0 and device.interconnect.link_for(tp) is not None:
        out.append(_mapping(tp, pp0, 1))
        tp *= 2
    if pp0 > 1 and 2 * pp0 <= model.num_layers:
        out.append(_mapping(tp0, 2 * pp0, 1))
    if model.is_moe:
        out += _expert_splits(model, device, {m["tp"] for m in out if m["pp"] == pp0}, pp0, domain)
    unique = {tuple(sorted(m.items())): m for m in out}
    return [m for m in unique.values() if max_devices is None or m["devices"] <= max_devices]


def _expert_splits(model: Model, device: Any, widths: set[int], pp: int, domain: int) -> list[dict[str, int]]:
    out = []
    for width in sorted(widths):
        ep = 2
        while ep <= width and ep <= model.num_experts:
            tp = width // ep
            if width % ep == 0 and model.num_experts % ep == 0 and model.num_heads % tp == 0 and width <= domain:
                out.append(_mapping(tp, pp, ep))
            ep *= 2
    return out


def _mapping(tp: int, pp: int, ep: int) -> dict[str, int]:
    return {"devices": tp * pp * ep, "tp": tp, "pp": pp, "ep": ep}
