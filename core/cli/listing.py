"""Listing commands: backends, plugins, models."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from ._common import print_json

ORDER = 10


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    p = sub.add_parser("backends", help="list discovered devices and systems")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("plugins", help="list packs, their versions and load problems")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("models", help="list catalog models")
    p.add_argument("--json", action="store_true")
    return {"backends": cmd_backends, "plugins": cmd_plugins, "models": cmd_models}


def cmd_backends(args: argparse.Namespace, console: Console) -> None:
    from ..protocol import System
    from ..registry import default_registry

    reg = default_registry()
    rows = []
    for backend_id in sorted(reg.backends):
        item = reg.backends[backend_id]
        dev = item.device if isinstance(item, System) else item
        plugin = reg.provided_by[backend_id]
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
                "peak_flops_per_s": dict(dev.peak_flops_per_s),
                "tdp_w": dev.power.tdp_w,
                "usd_per_device_hour": dev.price.usd_per_device_hour if dev.price else None,
            }
        )
    if args.json:
        print_json(rows)
        return
    table = Table(title="tokenfab backends")
    for col in ("id", "name", "memory", "bandwidth", "bf16 / fp8 / fp4 dense", "TDP", "$/device-h", "pack"):
        table.add_column(col)
    for r in rows:
        peaks = r["peak_flops_per_s"]
        rates = " / ".join(f"{peaks[p] / 1e12:g}" if p in peaks else "-" for p in ("bf16", "fp8", "fp4")) + " TF"
        price = r["usd_per_device_hour"]
        table.add_row(
            r["id"] + (f" (x{r['devices']})" if r["kind"] == "system" else ""),
            r["name"],
            f"{r['memory_bytes'] / 1e9:g} GB"
            + (f" (+{r['external_memory_bytes'] / 1e12:g} TB ext.)" if r["external_memory_bytes"] else ""),
            f"{r['memory_bytes_per_s'] / 1e12:g} TB/s",
            rates,
            f"{r['tdp_w']:g} W",
            f"{price:.2f}" if price else "-",
            r["plugin"],
        )
    console.print(table)
    for problem in reg.problems:
        console.print(f"[yellow]skipped {problem}[/yellow]")


def cmd_plugins(args: argparse.Namespace, console: Console) -> None:
    from ..registry import default_registry

    reg = default_registry()
    names = sorted({reg.pm.get_name(p) for p in reg.pm.get_plugins()} | {p.plugin for p in reg.problems})
    rows = [
        {
            "plugin": n,
            "version": reg.versions.get(n, ""),
            "backends": sorted(b for b, who in reg.provided_by.items() if who == n),
            "problems": [p.reason for p in reg.problems if p.plugin == n],
        }
        for n in names
    ]
    for row in rows:
        row["status"] = "error" if row["problems"] and not row["backends"] else ("warning" if row["problems"] else "ok")
    if args.json:
        print_json(rows)
        return
    table = Table(title="tokenfab plugins")
    for col in ("plugin", "version", "status", "backends", "problems"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["plugin"], r["version"], r["status"], ", ".join(r["backends"]), "; ".join(r["problems"]))
    console.print(table)


def cmd_models(args: argparse.Namespace, console: Console) -> None:
    from ..catalog import all_models
    from ..models import load_model

    rows = []
    for model_id in sorted(all_models()):
        m = load_model(model_id)
        rows.append(
            {
                "id": model_id,
                "params": m.params,
                "layers": m.num_layers,
                "hidden_size": m.hidden_size,
                "heads": m.num_heads,
                "kv_heads": m.num_kv_heads,
                "max_context": m.max_context,
                "kv_bytes_per_token_bf16": m.kv_elements_per_token() * 2,
                "source": m.source,
            }
        )
    if args.json:
        print_json(rows)
        return
    table = Table(title="tokenfab models")
    for col in ("id", "params", "layers", "hidden", "heads / kv", "KV per token (bf16)", "context"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            f"{r['params'] / 1e9:.2f} B",
            str(r["layers"]),
            str(r["hidden_size"]),
            f"{r['heads']} / {r['kv_heads']}",
            f"{r['kv_bytes_per_token_bf16'] / 1024:g} KiB",
            str(r["max_context"]),
        )
    console.print(table)
