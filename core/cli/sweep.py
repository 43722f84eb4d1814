"""The sweep command: step costs over a grid, streamed to a file, optionally on a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ._common import add_output, emit, exit_code, mapping_options, print_json

if TYPE_CHECKING:  # rich is imported only when a table or progress bar is drawn
    from rich.console import Console

ORDER = 25
GRID_HELP = "a number, comma-separated numbers, or START:STOP[:STEP] (inclusive)"


def _description() -> str:
    """The help's description (built only when the help is printed)."""
    import textwrap

    return textwrap.fill(
        "Grid axes use the same language as tokenfab.sweep: " + GRID_HELP + ". "
        "The grid is their outer product; large grids go to --out in chunks of bounded memory.",
        78,
    )


def register(sub: Any) -> dict:
    """Add the sweep subcommand to ``sub``; return name -> handler."""
    p = sub.add_parser(
        "sweep",
        help="step costs over a grid of batch x context x tokens on many backends",
        description=_description,
        epilog="metrics:\n"
        "  step        seconds of one forward step of the replica (prefill or decode)\n"
        "  tok/s       batch x tokens / step: tokens per second one replica processes\n"
        "  bound       what limits the step: compute, memory, communication or overhead\n"
        "  fits        whether weights, KV cache and workspace fit every device\n"
        "  mem/dev     bytes each device holds at that scenario",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True)
    p.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    p.add_argument("--batch", default="1,8,32,128", help=f"batch sizes: {GRID_HELP}")
    p.add_argument("--context", default="1024,4096,16384", help=f"context lengths: {GRID_HELP}")
    p.add_argument("--tokens", default="1", help=f"new tokens per sequence per step: {GRID_HELP}")
    p.add_argument("--phase", default="decode", choices=("decode", "prefill"))
    for flag in ("--devices", "--tp", "--pp", "--ep"):
        p.add_argument(flag, type=int)
    for flag in ("--weights", "--activations", "--kv", "--attention"):
        p.add_argument(flag)
    p.add_argument("--out", help="write rows to FILE (.csv, .jsonl, .parquet, .arrow) as they are computed")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="spread chunks over a local Dask cluster of N processes")
    where.add_argument("--scheduler", help="spread chunks over the Dask cluster at ADDRESS, e.g. tcp://host:8786")
    p.add_argument("--chunk", type=int, default=65536, help="scenarios per chunk (default 65536)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar with --out")
    p.add_argument("--plot", metavar="FILE", help="also draw tokens/s against batch (.png or .svg)")
    add_output(p)
    return {"sweep": cmd_sweep}


def cmd_sweep(args: argparse.Namespace, console: Console) -> int:
    from ..serving.sweeps import sweep

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
        return exit_code(result)
    if args.plot:
        from ..io.plots import plot_sweep

        plot_sweep(result, args.plot, title=f"{args.model}: {args.phase} throughput by batch")
    if args.json:
        print_json(result.to_dict())
        return exit_code(result)
    from ..io.tables import Column

    columns = [
        Column(key="backend", header="backend", justify="left", priority=0),
        Column(key="devices", header="devices", short="dev", priority=2),
        Column(key="batch", header="batch", priority=0),
        Column(key="context", header="context", short="ctx", priority=0),
        Column(key="seconds", header="step", unit="s", priority=0),
        Column(key="tokens_per_s", header="tok/s", priority=1),
        Column(key="bound", header="bound", justify="left", priority=3),
        Column(key="fits", header="fits", justify="left", priority=1),
        Column(key="memory_per_device_bytes", header="mem/dev", unit="B", priority=2),
    ]
    rows = result.rows
    notes = [f"{r['backend']}: {r['error']}" for r in rows if r.get("error")]
    emit(args, console, rows, columns, title=f"{args.model}: {args.phase} step costs", notes=notes)
    return exit_code(result)
