"""Listing commands: backends, plugins (and ``plugins --check NAME``), models."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output, emit

ORDER = 10


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    add_output(sub.add_parser("backends", help="list discovered devices and systems"))
    p = sub.add_parser("plugins", help="list packs, their versions and load problems; --check NAME tests one pack")
    p.add_argument("--check", metavar="NAME", help="run the conformance checks on the installed pack NAME")
    add_output(p)
    add_output(sub.add_parser("models", help="list catalog models"))
    return {"backends": cmd_backends, "plugins": cmd_plugins, "models": cmd_models}


def cmd_backends(args: argparse.Namespace, console: Any) -> None:
    from ..hardware.protocol import System
    from ..hardware.registry import default_registry
    from ..io.tables import Column

    reg = default_registry()
    rows = []
    for backend_id in sorted(reg.backends):
        item = reg.backends[backend_id]
        dev = item.device if isinstance(item, System) else item
        plugin = reg.provided_by[backend_id]
        peaks = dict(dev.peak_flops_per_s)
        rows.append(
            {
                "id": backend_id,
                "name": item.name,
                "vendor": dev.vendor,
                "kind": "system" if isinstance(item, System) else "device",
                "devices": item.device_count if isinstance(item, System) else 1,
                "plugin": plugin,
                "plugin_version": reg.versions.get(plugin, ""),
                "memory_bytes": dev.weight_memory.capacity_bytes,
                "memory_bytes_per_s": dev.weight_memory.bytes_per_s,
                "external_memory_bytes": dev.external_memory.capacity_bytes if dev.external_memory else None,
                "external_memory_bytes_per_s": dev.external_memory.bytes_per_s if dev.external_memory else None,
                "peak_flops_per_s": peaks,
                "tdp_w": dev.power.tdp_w,
                "usd_per_device_hour": dev.price.usd_per_device_hour if dev.price else None,
                "capex_usd": dev.price.capex_usd if dev.price else None,
                "price_basis": dev.price.basis if dev.price else "none",
                "host_w": dev.power.host_w,
            }
        )
    if not (args.json or args.csv):
        for row in rows:
            row["label"] = row["id"] + (f" (x{row['devices']})" if row["kind"] == "system" else "")
            row.update({name: row["peak_flops_per_s"].get(name) for name in ("bf16", "fp8", "fp4")})
            row["price"] = _price_cell(row)
    columns = [
        Column(key="label", header="id", justify="left", priority=0),
        Column(key="memory_bytes", header="memory", unit="B", short="mem", priority=1),
        Column(key="memory_bytes_per_s", header="bandwidth", unit="B/s", short="bw", priority=1),
        Column(key="external_memory_bytes", header="external memory", unit="B", short="ext", priority=6),
        Column(key="bf16", header="bf16 dense", unit="FLOP/s", short="bf16", priority=2),
        Column(key="fp8", header="fp8 dense", unit="FLOP/s", short="fp8", priority=3),
        Column(key="fp4", header="fp4 dense", unit="FLOP/s", short="fp4", priority=5),
        Column(key="tdp_w", header="TDP", unit="W", priority=4),
        Column(key="price", header="price (cloud /h or capex estimate)", short="price", justify="left", priority=1),
        Column(key="plugin", header="pack", justify="left", priority=6),
        Column(key="name", header="name", justify="left", priority=7),
    ]
    notes = [f"skipped {problem}" for problem in reg.problems]
    emit(args, console, rows, columns, title="tokenfab backends", notes=notes)


def _price_cell(row: dict) -> str:
    """``$3.90/h`` (cloud), ``$63.3k capex`` (capex-estimate) or ``-``."""
    from ..io.format import format_usd

    if row["usd_per_device_hour"] is not None:
        return f"{format_usd(row['usd_per_device_hour'])}/h"
    if row["capex_usd"] is not None:
        return f"{format_usd(row['capex_usd'])} capex"
    return "-"


def plugin_rows(reg: Any) -> list[dict]:
    """One row per pack (entry point, TOML or local): kind, status, device count, problems,
    overrides and captured output. A pack registering no devices is reported, never silent."""
    names = sorted(set(reg.packs) | {p.plugin for p in reg.problems})
    rows = []
    for name in names:
        info = reg.packs.get(name)
        backends = sorted(b for b, who in reg.provided_by.items() if who == name)
        problems = [p.reason for p in reg.problems if p.plugin == name]
        status = info.status if info is not None else "error"
        if status == "error" and backends:
            status = "warning"
        elif status == "ok" and not backends:
            status, problems = "warning", [*problems, "registers no devices (no tokenfab_devices result)"]
        rows.append(
            {
                "plugin": name,
                "kind": info.kind if info is not None else "",
                "source": info.source if info is not None else "",
                "version": reg.versions.get(name, ""),
                "status": status,
                "devices": len(backends),
                "backends": backends,
                "overrides": {k: v for k, v in reg.overrides.items() if v["pack"] == name},
                "problems": problems,
                "output": reg.outputs.get(name, ""),
            }
        )
    return rows


def cmd_plugins(args: argparse.Namespace, console: Any) -> None:
    from ..hardware.registry import default_registry
    from ..io.tables import Column

    if args.check is not None:  # an empty NAME is "no such pack", not the listing
        return _check_pack(args, console)
    rows = plugin_rows(default_registry())
    if not (args.json or args.csv):
        for row in rows:
            notes = list(row["problems"])
            notes += [f"overrides {k} of {v['replaced']} ({v['reason']})" for k, v in row["overrides"].items()]
            if row["output"]:
                notes.append(f"printed {len(row['output'])} characters (captured, not shown)")
            row["backends_text"] = ", ".join(row["backends"])
            row["problems_text"] = "; ".join(notes)
    columns = [
        Column(key="plugin", header="plugin", justify="left", priority=0),
        Column(key="kind", header="kind", justify="left", priority=4),
        Column(key="version", header="version", justify="left", priority=3),
        Column(key="status", header="status", justify="left", priority=0),
        Column(key="devices", header="devices", short="dev", priority=1),
        Column(key="backends_text", header="backends", justify="left", priority=2, wrap=True),
        Column(key="problems_text", header="problems", justify="left", priority=1, wrap=True),
    ]
    emit(args, console, rows, columns, title="tokenfab plugins")


def _check_pack(args: argparse.Namespace, console: Any) -> None:
    """``plugins --check NAME``: the pytest plugin's checks, run here; a failing pack exits 2."""
    from ..errors import TokenfabError
    from ..io.tables import Column
    from ..testing.checks import run_checks

    results = run_checks(args.check)
    rows = [{"check": r.name, "status": r.status, "detail": r.detail} for r in results]
    columns = [
        Column(key="check", header="check", justify="left", priority=0),
        Column(key="status", header="status", justify="left", priority=0),
        Column(key="detail", header="detail", justify="left", priority=1, wrap=True),
    ]
    emit(args, console, rows, columns, title=f"conformance of pack {args.check!r}")
    failed = [r for r in results if r.status == "fail"]
    if failed:
        raise TokenfabError(f"pack {args.check!r} fails {len(failed)} of {len(results)} conformance checks")


def cmd_models(args: argparse.Namespace, console: Any) -> None:
    from ..io.format import format_params
    from ..io.tables import Column
    from ..models.catalog import all_models
    from ..models.description import load_model

    rows = []
    for model_id in sorted(all_models()):
        m = load_model(model_id)
        rows.append(
            {
                "id": model_id,
                "params": m.params,
                "active_params": m.active_params,
                "layers": m.num_layers,
                "hidden_size": m.hidden_size,
                "heads": m.num_heads,
                "kv_heads": m.num_kv_heads,
                "max_context": m.max_context,
                "kv_bytes_per_token_bf16": m.kv_elements_per_token() * 2,
                "source": m.source,
            }
        )
    if not (args.json or args.csv):
        for row in rows:
            row["heads_text"] = f"{row['heads']} / {row['kv_heads']}"
    columns = [
        Column(key="id", header="id", justify="left", priority=0),
        Column(key="params", header="params", priority=0, format=format_params),
        Column(key="active_params", header="active", priority=2, format=format_params),
        Column(key="layers", header="layers", priority=3),
        Column(key="hidden_size", header="hidden", priority=4),
        Column(key="heads_text", header="heads / kv", short="heads/kv", priority=5),
        Column(key="kv_bytes_per_token_bf16", header="KV/token bf16", unit="B", short="KV/tok", priority=1),
        Column(key="max_context", header="context", priority=2),
    ]
    emit(args, console, rows, columns, title="tokenfab models")
