"""Serving commands: estimate, compare, sweep."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from ..serving import METRICS, compare, estimate, sweep
from ._common import add_scenario, exit_code, int_list, mapping, mapping_options, options, print_csv, print_json
from ._common import fmt as _fmt

ORDER = 20


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    p = sub.add_parser("estimate", help="serving estimate for one backend")
    p.add_argument("--backend", required=True, help="backend id, e.g. nvidia:h100-sxm")
    p.add_argument("--breakdown", action="store_true", help="per-operator breakdown of prefill and a mid decode step")
    add_scenario(p)
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
    add_scenario(p)
    return {"estimate": cmd_estimate, "compare": cmd_compare, "sweep": cmd_sweep}


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


def cmd_estimate(args: argparse.Namespace, console: Console) -> None:
    est = estimate(args.model, args.backend, **options(args))
    if args.json:
        print_json(est.to_dict(breakdown=args.breakdown))
        return
    table = Table(
        title=f"{est.model} on {est.backend}: batch {est.batch}, {est.input_tokens} in / {est.output_tokens} out"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("devices", mapping(est))
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


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    opts = options(args)
    result = compare(args.model, args.backends, metric=args.sort, **opts)
    if args.json:
        print_json(result.to_dict())
        return exit_code(result)
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
            "status",
            "error",
        ]
        print_csv([row.to_dict() for row in result.rows], keys)
        return exit_code(result)
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
            table.add_row(row.backend, mapping(e), "yes", *(fmt(getattr(e, key)) for _, key, fmt in _COLUMNS))
    console.print(table)
    for row in result.rows:
        if row.error:
            console.print(f"{row.backend}: {row.error}")
    return exit_code(result)


def cmd_sweep(args: argparse.Namespace, console: Console) -> int:
    batches, contexts = int_list("batch", args.batch), int_list("context", args.context)
    result = sweep(
        args.model,
        args.backends,
        batch=np.array(batches)[:, None],
        context=np.array(contexts)[None, :],
        tokens=args.tokens,
        phase=args.phase,
        **mapping_options(args),
    )
    if args.json:
        print_json(result.to_dict())
        return exit_code(result)
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
        "status",
        "error",
    ]
    if args.csv:
        print_csv(result.rows, keys)
        return exit_code(result)
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
    return exit_code(result)
