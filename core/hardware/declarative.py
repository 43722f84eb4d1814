"""Declarative packs: devices as TOML data files, no code.

A pack ships ``*.toml`` files in an importable package and names that package under the
``tokenfab.data`` entry-point group::

    [project.entry-points."tokenfab.data"]
    sambanova = "tokenfab_sambanova"      # a package folder holding sn40l.toml

or a user points ``TOKENFAB_DEVICE_PATH`` (``os.pathsep``-separated folders) at TOML files.
Every file goes through the same validation as a code pack; errors name the file, the device
and the field. File format (units may be written as strings, e.g. ``"3.7 TB/s"``)::

    [[device]]
    id = "intel:gaudi3"
    vendor = "Intel"
    name = "Gaudi 3"
    year = 2024
    peak_flops_per_s = { bf16 = "1835 TFLOPS", fp8 = "1835 TFLOPS" }
    power = { tdp_w = 900, idle_w = 100 }
    price = { usd_per_device_hour = 4.0, provider = "...", date = "2026-01" }
    efficiency = { gemm_max_default = 0.6 }
    sources = { "peak.bf16" = "https://...", ... }
    [[device.memory]]
    name = "hbm"
    kind = "hbm"
    capacity_bytes = "128 GB"
    bytes_per_s = "3.7 TB/s"
    [device.interconnect.scale_up]
    technology = "RoCE 24x200GbE"
    bytes_per_s = "600 GB/s"
    topology = "fully_connected"
    domain_size = 8
"""

from __future__ import annotations

import importlib
import os
import pathlib
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import TokenfabError, ValidationError
from . import discovery
from .protocol import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA_GROUP, PATH_VARIABLE = discovery.DATA_GROUP, discovery.PATH_VARIABLE
data_sources = discovery.data_sources
_DEVICE_KEYS = {
    "id",
    "vendor",
    "name",
    "year",
    "peak_flops_per_s",
    "memory",
    "interconnect",
    "power",
    "price",
    "efficiency",
    "sources",
    "notes",
    "training_note",
}


def _build(cls: type, data: Any, field: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{field}: expected a table, got {type(data).__name__}")
    try:
        return cls(**data)
    except TypeError as exc:  # unknown or missing keys
        raise ValidationError(f"{field}: {exc}".replace("__init__()", cls.__name__)) from None


def device_from_dict(data: Mapping[str, Any]) -> Device:
    """A :class:`Device` from a plain dict in the TOML layout (see module docstring)."""
    unknown = set(data) - _DEVICE_KEYS
    if unknown:
        raise ValidationError(
            f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_DEVICE_KEYS))}"
        )
    fields = dict(data)
    fields["memory"] = [_build(MemoryLevel, lv, f"memory[{i}]") for i, lv in enumerate(data.get("memory", []))]
    links = data.get("interconnect", {})
    fields["interconnect"] = Interconnect(
        **{
            role: _build(Link, links[role], f"interconnect.{role}")
            for role in ("scale_up", "scale_out")
            if role in links
        }
    )
    fields["power"] = _build(Power, data.get("power", {}), "power")
    if "price" in data:
        fields["price"] = _build(Price, data["price"], "price")
    if "efficiency" in data:
        fields["efficiency"] = _build(Efficiency, data["efficiency"], "efficiency")
    for key in ("id", "vendor", "name", "year", "peak_flops_per_s"):
        if key not in data:
            raise ValidationError(f"missing required key {key!r}")
    return Device(**fields)


def load_file(path: str | os.PathLike) -> list[Device]:
    """Devices of one TOML file; errors are prefixed with the file and the device id."""
    path = pathlib.Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read TOML: {exc}") from None
    entries = document.get("device")
    if not isinstance(entries, list) or not entries:
        raise ValidationError(f"{path}: expected one or more [[device]] tables")
    devices = []
    for index, entry in enumerate(entries):
        label = entry.get("id", f"#{index}") if isinstance(entry, Mapping) else f"#{index}"
        try:
            devices.append(device_from_dict(entry))
        except TokenfabError as exc:
            raise ValidationError(f"{path}: device {label!r}: {exc}") from None
    return devices


def load_folder(folder: str | os.PathLike) -> list[Device]:
    return [dev for file in sorted(pathlib.Path(folder).glob("*.toml")) for dev in load_file(file)]


def resolve_folder(value: str | pathlib.Path) -> pathlib.Path:
    if isinstance(value, pathlib.Path):
        return value
    module = importlib.import_module(value)
    return pathlib.Path(module.__file__).parent
