"""The ``tokenfab`` command line. Every listing and result is also available as ``--json``.

Bad input exits with code 2 and one line on stderr naming the field.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from . import __version__
from .economics import Economics
from .errors import TokenfabError
from .serving import METRICS, Speculative, compare, estimate, sweep


def _add_scenario(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model id (tokenfab models) or path to a config.json")
    parser.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    parser.add_argument("--input", type=int, default=1000, dest="input_tokens", help="prompt tokens (default 1000)")
    parser.add_argument("--output", type=int, default=500, dest="output_tokens", help="generated tokens (default 500)")
    parser.add_argument("--devices", type=int, help="devices (default: fewest that fit)")
    parser.add_argument("--tp", type=int, help="tensor-parallel degree (default devices / pp)")
    parser.add_argument("--pp", type=int, help="pipeline stages (default 1)")
    parser.add_argument("--ep", type=int, help="expert-parallel degree (MoE models only)")
    parser.add_argument("--weights", help="weight precision (bf16, fp8, int4, ...)")
    parser.add_argument("--activations", help="activation / math precision")
    parser.add_argument("--kv", help="KV-cache precision")
    parser.add_argument(
        "--no-chunked-prefill",
        dest="chunked_prefill",
        action="store_false",
        help="stall the batch for each prompt instead of mixing prompt chunks into decode steps",
    )
    parser.add_argument("--draft", help="speculative decoding: draft model id, config.json, or 'mtp'")
    parser.add_argument("--draft-tokens", type=int, default=3, help="tokens drafted per cycle (default 3)")
    parser.add_argument("--acceptance", type=float, default=0.7, help="draft token acceptance rate (default 0.7)")
    parser.add_argument("--usd-per-device-hour", type=float, help="override the device-hour price")
    parser.add_argument("--capex", type=float, dest="capex_usd", help="price per device, amortised instead of cloud")
    parser.add_argument("--usd-per-kwh", type=float, default=0.10, help="electricity price for capex pricing")
    parser.add_argument("--pue", type=float, default=1.3, help="facility PUE for capex pricing")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _mapping_options(args: argparse.Namespace) -> dict[str, Any]:
    """Devices, parallel mapping and precisions, shared by estimate, compare and sweep."""
    names = ("devices", "tp", "pp", "ep", "weights", "activations", "kv")
    return {name: getattr(args, name) for name in names}


def _options(args: argparse.Namespace) -> dict[str, Any]:
    econ = Economics(
        usd_per_device_hour=args.usd_per_device_hour,
        capex_usd=args.capex_usd,
        usd_per_kwh=args.usd_per_kwh,
        pue=args.pue,
    )
    speculative = None
    if args.draft:
        speculative = Speculative(draft=args.draft, tokens=args.draft_tokens, acceptance=args.acceptance)
    return dict(
        chunked_prefill=args.chunked_prefill,
        speculative=speculative,
        batch=args.batch,
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        economics=econ,
        **_mapping_options(args),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenfab", description="What a token costs, and how fast it comes, on each AI chip."
    )
    parser.add_argument("--version", action="version", version=f"tokenfab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("backends", help="list discovered devices and systems")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("plugins", help="list packs, their versions and load problems")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("models", help="list catalog models")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("estimate", help="serving estimate for one backend")
    p.add_argument("--backend", required=True, help="backend id, e.g. nvidia:h100-sxm")
    p.add_argument("--breakdown", action="store_true", help="per-operator breakdown of prefill and a mid decode step")
    _add_scenario(p)
    p = sub.add_parser("sweep", help="step costs over a grid of batch x context on many backends")
    p.add_argument("--model", required=True)
    p.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    p.add_argument("--batch", default="1,8,32,128", help="comma-separated batch sizes")
    p.add_argument("--context", default="1024,4096,16384", help="comma-separated context lengths")
    p.add_argument("--tokens", type=int, default=1, help="new tokens per sequence per step (default 1)")
    p.add_argument("--phase", default="decode", choices=("decode", "prefill"))
    for flag in ("--devices", "--tp", "--pp", "--ep"):
        p.add_argument(flag, type=int)
    for flag in ("--weights", "--activations", "--kv"):
        p.add_argument(flag)
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", action="store_true")
    p = sub.add_parser("compare", help="rank backends on one scenario")
    p.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    p.add_argument("--sort", default="usd_per_mtok", choices=sorted(METRICS), help="ranking metric")
    p.add_argument("--csv", action="store_true", help="print CSV")
    _add_scenario(p)
    return parser


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _print_csv(rows: Sequence[dict], keys: Sequence[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(keys), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buffer.getvalue())


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_backends(args: argparse.Namespace, console: Console) -> None:
    from .protocol import System
    from .registry import default_registry

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
                "peak_flops_per_s": dict(dev.peak_flops_per_s),
                "tdp_w": dev.power.tdp_w,
                "usd_per_device_hour": dev.price.usd_per_device_hour if dev.price else None,
            }
        )
    if args.json:
        _print_json(rows)
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
            f"{r['memory_bytes'] / 1e9:g} GB",
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
    from .registry import default_registry

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
        _print_json(rows)
        return
    table = Table(title="tokenfab plugins")
    for col in ("plugin", "version", "status", "backends", "problems"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["plugin"], r["version"], r["status"], ", ".join(r["backends"]), "; ".join(r["problems"]))
    console.print(table)


def cmd_models(args: argparse.Namespace, console: Console) -> None:
    from .catalog import all_models
    from .models import load_model

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
        _print_json(rows)
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


_COLUMNS = [  # (header, key, formatter)
    ("TTFT ms", "ttft_s", lambda v: _fmt(v * 1e3)),
    ("TPOT ms", "tpot_s", lambda v: _fmt(v * 1e3)),
    ("tok/s", "tokens_per_s", _fmt),
    ("tok/s/user", "tokens_per_s_per_user", _fmt),
    ("tok/s/device", "tokens_per_s_per_device", _fmt),
    ("mem/device GB", "memory_per_device_bytes", lambda v: _fmt(v / 1e9)),
    ("J/token", "joules_per_token", _fmt),
    ("$/M tok", "usd_per_mtok", lambda v: "no price" if v is None else f"{v:.3f}"),
]


def _mapping(e: Any) -> str:
    return (
        f"{e.devices} (tp{e.tp}"
        + (f" ep{e.ep}" if e.ep > 1 else "")
        + (f" pp{e.pp}" if e.pp > 1 else "")
        + (f" x{e.replicas}" if e.replicas > 1 else "")
        + ")"
    )


def cmd_estimate(args: argparse.Namespace, console: Console) -> None:
    est = estimate(args.model, args.backend, **_options(args))
    if args.json:
        _print_json(est.to_dict(breakdown=args.breakdown))
        return
    table = Table(
        title=f"{est.model} on {est.backend}: batch {est.batch}, {est.input_tokens} in / {est.output_tokens} out"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("devices", _mapping(est))
    table.add_row("precision (weights / activations / kv)", f"{est.weights} / {est.activations} / {est.kv}")
    for header, key, fmt in _COLUMNS:
        table.add_row(header, fmt(getattr(est, key)))
    table.add_row("memory capacity/device GB", _fmt(est.memory_capacity_per_device_bytes / 1e9))
    table.add_row("bound (prefill / decode)", f"{est.prefill_bound} / {est.decode_bound}")
    price = "no sourced price: give --usd-per-device-hour or --capex"
    if est.usd_per_device_hour is not None:
        price = f"{est.price_basis}, ${est.usd_per_device_hour:.2f}/device-h"
    table.add_row("price basis", price)
    console.print(table)
    if args.breakdown:
        for title, rows in (
            ("prefill", est.to_dict(breakdown=True)["prefill_breakdown"]),
            ("decode (mid-generation step)", est.to_dict(breakdown=True)["decode_breakdown"]),
        ):
            bt = Table(title=f"{title}: per operator, one device, all layers")
            for col in (
                "op",
                "x",
                "compute us",
                "memory us",
                "comm us",
                "overhead us",
                "total us",
                "bound",
                "GFLOP",
                "MB",
            ):
                bt.add_column(col, justify="right")
            for r in rows:
                bt.add_row(
                    r["name"],
                    f"{r['count']:g}",
                    *(f"{r[k] * 1e6:.1f}" for k in ("compute_s", "memory_s", "comm_s", "overhead_s", "seconds")),
                    r["bound"],
                    f"{r['flops'] / 1e9:.2f}",
                    f"{r['bytes'] / 1e6:.1f}",
                )
            console.print(bt)


def cmd_compare(args: argparse.Namespace, console: Console) -> None:
    opts = _options(args)
    result = compare(args.model, args.backends, metric=args.sort, **opts)
    if args.json:
        _print_json(result.to_dict())
        return
    if args.csv:
        keys = [
            "backend",
            "devices",
            "tp",
            "pp",
            "ep",
            "replicas",
            "weights",
            "activations",
            "kv",
            "fits",
            *[k for _, k, _ in _COLUMNS],
            "usd_per_device_hour",
            "prefill_bound",
            "decode_bound",
            "error",
        ]
        _print_csv([row.to_dict() for row in result.rows], keys)
        return
    table = Table(
        title=f"{args.model}: batch {args.batch}, {args.input_tokens} in / {args.output_tokens} out, "
        f"ranked by {args.sort}"
    )
    table.add_column("backend", no_wrap=True, min_width=24)
    table.add_column("devices", no_wrap=True)
    table.add_column("fits")
    for header, _, _ in _COLUMNS:
        table.add_column(header, justify="right")
    for row in result.rows:
        e = row.estimate
        if e is None:
            table.add_row(row.backend, "-", "no", *["-"] * len(_COLUMNS))
        else:
            table.add_row(row.backend, _mapping(e), "yes", *(fmt(getattr(e, key)) for _, key, fmt in _COLUMNS))
    console.print(table)
    for row in result.rows:
        if row.error:
            console.print(f"{row.backend}: {row.error}")


def _int_list(name: str, text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise TokenfabError(f"{name}: expected comma-separated integers, got {text!r}") from None


def cmd_sweep(args: argparse.Namespace, console: Console) -> None:
    batches, contexts = _int_list("batch", args.batch), _int_list("context", args.context)
    result = sweep(
        args.model,
        args.backends,
        batch=np.array(batches)[:, None],
        context=np.array(contexts)[None, :],
        tokens=args.tokens,
        phase=args.phase,
        **_mapping_options(args),
    )
    if args.json:
        _print_json(result.to_dict())
        return
    keys = [
        "backend",
        "devices",
        "batch",
        "context",
        "tokens",
        "seconds",
        "tokens_per_s",
        "bound",
        "fits",
        "memory_per_device_bytes",
        "error",
    ]
    if args.csv:
        _print_csv(result.rows, keys)
        return
    table = Table(title=f"{args.model}: {args.phase} step costs")
    for col in ("backend", "devices", "batch", "context", "ms", "tok/s", "bound", "fits", "mem/device GB"):
        table.add_column(col, no_wrap=col == "backend")
    for r in result.rows:
        if r.get("error"):
            table.add_row(r["backend"], "-", "-", "-", "-", "-", "-", "no", "-")
            continue
        table.add_row(
            r["backend"],
            str(r["devices"]),
            str(r["batch"]),
            str(r["context"]),
            _fmt(r["seconds"] * 1e3),
            _fmt(r["tokens_per_s"]),
            r["bound"],
            "yes" if r["fits"] else "no",
            _fmt(r["memory_per_device_bytes"] / 1e9),
        )
    console.print(table)
    for r in result.rows:
        if r.get("error"):
            console.print(f"{r['backend']}: {r['error']}")


COMMANDS = {
    "backends": cmd_backends,
    "plugins": cmd_plugins,
    "models": cmd_models,
    "estimate": cmd_estimate,
    "compare": cmd_compare,
    "sweep": cmd_sweep,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(width=max(Console().width, 140))
    try:
        COMMANDS[args.command](args, console)
    except TokenfabError as exc:
        print(f"tokenfab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
