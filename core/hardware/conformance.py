"""Conformance kit for hardware packs: run it from a pack's own test suite.

    # tests/test_conformance.py of a pack
    import my_pack
    from tokenfab.conformance import assert_pack_conforms

    def test_my_pack_conforms():
        assert_pack_conforms(my_pack)

:func:`check_device` returns a list of problems (empty when the device passes); each names the
device, the field and the value. Checks: protocol types; plausible ranges in SI units (a
TFLOPS figure typed without its 1e12 is caught); a source for every figure; ordering
invariants (narrower formats are not slower than wider ones; memory levels innermost first get
larger and not faster); and behaviour: a small model decodes, and more bandwidth never makes a
decode step slower.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .protocol import Device, System

# Ranges per device, SI units: wide enough for any chip from an edge NPU to a wafer.
RANGES = {
    "peak_flops_per_s": (1e11, 1e18),
    "capacity_bytes": (1e5, 1e16),  # up to external weight stores (Cerebras MemoryX: 1.2 PB)
    "bytes_per_s": (1e9, 1e17),
    "link_bytes_per_s": (1e8, 1e15),
    "tdp_w": (1.0, 1e5),
}
# Each pair (narrow, wide): the narrow format's peak must be >= the wide one's when both exist.
PRECISION_ORDER = [
    ("fp16", "fp32"),
    ("bf16", "fp32"),
    ("fp8", "bf16"),
    ("fp6", "bf16"),
    ("fp4", "fp8"),
    ("int8", "bf16"),
    ("int4", "int8"),
    ("tf32", "fp32"),
]


def _has_source(sources: Mapping[str, str], path: str) -> bool:
    """A figure is sourced when its path, or a prefix of it (``memory.hbm`` covers
    ``memory.hbm.bytes_per_s``), has a non-empty citation."""
    parts = path.split(".")
    return any(sources.get(".".join(parts[:i]), "").strip() for i in range(len(parts), 0, -1))


def _in_range(problems: list[str], owner: str, field: str, value: float, kind: str) -> None:
    low, high = RANGES[kind]
    if not low <= value <= high:
        problems.append(
            f"{owner}: {field} = {value:g} is outside the plausible range [{low:g}, {high:g}] "
            f"(SI units: FLOP/s, bytes, bytes/s, W)"
        )


def check_device(item: Any, *, behaviour: bool = True) -> list[str]:
    """Every problem with one registered item (a :class:`Device` or :class:`System`)."""
    if isinstance(item, System):
        problems = [f"System {item.id!r}: {p}" for p in check_device(item.device, behaviour=behaviour)]
        if not item.sources.get("device_count", "").strip():
            problems.append(f"System {item.id!r}: no source for 'device_count'")
        return problems
    if not isinstance(item, Device):
        return [f"expected a tokenfab Device or System, got {type(item).__name__}: {item!r:.80}"]
    owner, problems, src = f"Device {item.id!r}", [], item.sources
    for name, rate in item.peak_flops_per_s.items():
        _in_range(problems, owner, f"peak_flops_per_s[{name!r}]", rate, "peak_flops_per_s")
        if not _has_source(src, f"peak.{name}"):
            problems.append(f"{owner}: no source for 'peak.{name}'")
    for narrow, wide in PRECISION_ORDER:
        peaks = item.peak_flops_per_s
        if narrow in peaks and wide in peaks and peaks[narrow] < peaks[wide]:
            problems.append(f"{owner}: peak {narrow} ({peaks[narrow]:g}) is below peak {wide} ({peaks[wide]:g})")
    for level in item.memory:
        _in_range(problems, owner, f"memory {level.name!r} capacity_bytes", level.capacity_bytes, "capacity_bytes")
        _in_range(problems, owner, f"memory {level.name!r} bytes_per_s", level.bytes_per_s, "bytes_per_s")
        for field in ("capacity_bytes", "bytes_per_s"):
            if not _has_source(src, f"memory.{level.name}.{field}"):
                problems.append(f"{owner}: no source for 'memory.{level.name}.{field}'")
    for inner, outer in zip(item.memory, item.memory[1:], strict=False):
        if outer.capacity_bytes < inner.capacity_bytes:
            problems.append(
                f"{owner}: memory level {outer.name!r} is smaller than the inner level {inner.name!r} "
                f"(levels are ordered innermost first)"
            )
        if outer.bytes_per_s > inner.bytes_per_s:
            problems.append(
                f"{owner}: memory level {outer.name!r} is faster than the inner level {inner.name!r} "
                f"(levels are ordered innermost first)"
            )
    for role in ("scale_up", "scale_out"):
        link = getattr(item.interconnect, role)
        if link is not None:
            _in_range(problems, owner, f"interconnect.{role}.bytes_per_s", link.bytes_per_s, "link_bytes_per_s")
            if not _has_source(src, f"interconnect.{role}"):
                problems.append(f"{owner}: no source for 'interconnect.{role}'")
    _in_range(problems, owner, "power.tdp_w", item.power.tdp_w, "tdp_w")
    for field in ("tdp_w", "idle_w") + (("host_w",) if item.power.host_w > 0 else ()):
        if not _has_source(src, f"power.{field}"):
            problems.append(f"{owner}: no source for 'power.{field}'")
    if item.price is not None and not _has_source(src, "price"):
        problems.append(f"{owner}: no source for 'price'")
    if behaviour and not problems:
        problems += _behaviour(item)
    return problems


def _behaviour(device: Device) -> list[str]:
    from ..cost.engine import decode_step
    from ..errors import TokenfabError

    owner = f"Device {device.id!r}"
    try:
        base = decode_step("llama-3.2-1b", device, batch=4, context=512)
    except TokenfabError as exc:
        return [f"{owner}: cannot decode llama-3.2-1b at batch 4: {exc}"]
    faster = attrs.evolve(device, memory=[attrs.evolve(lv, bytes_per_s=lv.bytes_per_s * 2) for lv in device.memory])
    mapping = base.plan.mapping
    quick = decode_step(
        "llama-3.2-1b", faster, batch=4, context=512, devices=base.devices, tp=mapping.tp, pp=mapping.pp
    )
    if not quick.seconds <= base.seconds * (1 + 1e-9):
        return [
            f"{owner}: doubling memory bandwidth made a decode step slower ({base.seconds:g} s -> {quick.seconds:g} s)"
        ]
    if not 0 < base.seconds < 10:
        return [f"{owner}: a llama-3.2-1b decode step takes {base.seconds:g} s, outside (0, 10) s"]
    return []


def _problem(reason: str):
    from .registry import Problem

    return Problem("pack", reason)


def check_pack(pack: Any, *, behaviour: bool = True) -> list[str]:
    """Every problem with a pack (a module or object with ``@hookimpl`` functions)."""
    from ..models.description import load_model
    from .registry import build_registry, collect_models

    registry = build_registry([pack], entry_points=False)
    for model_id, config in collect_models(registry).items():  # tokenfab_models must give loadable configs
        try:
            load_model(config)
        except Exception as exc:
            registry.problems.append(_problem(f"tokenfab_models: model {model_id!r}: {exc}"))
    problems = [str(p) for p in registry.problems]
    if not registry.backends:
        problems.append("the pack registers no devices (tokenfab_devices returned nothing)")
    for item in registry.backends.values():
        problems += check_device(item, behaviour=behaviour)
    return problems


def assert_pack_conforms(pack: Any, *, behaviour: bool = True) -> None:
    """Raise ``AssertionError`` listing every problem with ``pack``."""
    problems = check_pack(pack, behaviour=behaviour)
    assert not problems, "pack does not conform:\n  " + "\n  ".join(problems)


def assert_devices_conform(items: Iterable[Any], *, behaviour: bool = True) -> None:
    problems = [p for item in items for p in check_device(item, behaviour=behaviour)]
    assert not problems, "devices do not conform:\n  " + "\n  ".join(problems)
