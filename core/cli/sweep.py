"""The sweep command: step costs over a grid, streamed to a file, optionally on a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ._common import fmt, mapping_options, print_csv, print_json

if TYPE_CHECKING:  # rich is imported only when a table or progress bar is drawn
    from rich.console import Console

ORDER = 25
GRID_HELP = "a number, comma-separated numbers, or START:STOP[:STEP] (inclusive)"


def register(sub: Any) -> dict:
    """Add the sweep subcommand to ``sub``; return name -> handler."""
    p = sub.add_parser(
        "sweep",
        help="step costs over a grid of batch x context x tokens on many backends",
        description="Grid axes use the same language as tokenfab.sweep: " + GRID_HELP + ". "
        "The grid is their outer product; large grids go to --out in chunks of bounded memory.",
    )
    p.add_argument("--model", required=True)
    p.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    p.add_argument("--batch", default="1,8,32,128", help=f"batch sizes: {GRID_HELP}")
    p.add_argument("--context", default="1024,4096,16384", help=f"context lengths: {GRID_HELP}")
    p.add_argument("--tokens", default="1", help=f"new tokens per sequence per step: {GRID_HELP}")
    p.add_argument("--phase", default="decode", choices=("decode", "prefill"))
    for flag in ("--devices", "--tp", "--pp", "--ep"):
        p.add_argument(flag, type=int)
    for flag in ("--weights", "--activations", "--kv"):
        p.add_argument(flag)
    p.add_argument("--out", help="write rows to FILE (.csv, .jsonl, .parquet, .arrow) as they are computed")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="spread chunks over a local Dask cluster of N processes")
    where.add_argument("--scheduler", help="spread chunks over the Dask cluster at ADDRESS, e.g. tcp://host:8786")
    p.add_argument("--chunk", type=int, default=65536, help="scenarios per chunk (default 65536)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar with --out")
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", action="store_true")
    return {"sweep": cmd_sweep}


def cmd_sweep(args: argparse.Namespace, console: Console) -> None:
    from ..sweeps import COLUMNS, sweep

    result = sweep(
        args.model,
        args.backends,
        batch=args.batch,
        context=args.context,
        tokens=args.tokens,
        phase=args.phase,
        out=args.out,
        executor=args.workers if args.workers is not None else args.scheduler,
        progress=bool(args.out and args.progress and sys.stderr.isatty()),
        chunk=args.chunk,
        **mapping_options(args),
    )
    if args.out:
        print(f"{result.scenarios:,} rows written to {args.out}", file=sys.stderr)
        return
    if args.json:
        print_json(result.to_dict())
        return
    if args.csv:
        print_csv(result.rows, COLUMNS)
        return
    _table(args, result.rows, console)


def _table(args: argparse.Namespace, rows: list[dict], console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"{args.model}: {args.phase} step costs")
    for col in ("backend", "devices", "batch", "context", "ms", "tok/s", "bound", "fits", "mem/device GB"):
        table.add_column(col, no_wrap=col == "backend")
    for r in rows:
        if r.get("error"):
            table.add_row(r["backend"], "-", "-", "-", "-", "-", "-", "no", "-")
            continue
        table.add_row(
            r["backend"],
            str(r["devices"]),
            str(r["batch"]),
            str(r["context"]),
            fmt(r["seconds"] * 1e3),
            fmt(r["tokens_per_s"]),
            r["bound"],
            "yes" if r["fits"] else "no",
            fmt(r["memory_per_device_bytes"] / 1e9),
        )
    console.print(table)
    for r in rows:
        if r.get("error"):
            console.print(f"{r['backend']}: {r['error']}")
