"""``tokenfab pareto``: tokens/s per device (or $/Mtok) against tokens/s per user, per backend."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output, print_json

ORDER = 31


def register(sub: Any) -> dict:
    from .plan import add_pricing

    p = sub.add_parser(
        "pareto",
        help="throughput per device (or $/Mtok) against speed per user: each backend's Pareto front",
    )
    p.add_argument("--model", required=True, help="model id (tokenfab models) or path to a config.json")
    p.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    p.add_argument("--input", type=int, default=1000, dest="input_tokens", help="prompt tokens (default 1000)")
    p.add_argument("--output", type=int, default=500, dest="output_tokens", help="generated tokens (default 500)")
    p.add_argument("--metric", default="tokens_per_s_per_device", choices=("tokens_per_s_per_device", "usd_per_mtok"))
    p.add_argument("--precisions", default="fp8", help="weight precisions to include (default fp8)")
    p.add_argument("--max-devices", type=int, help="most devices per replica")
    p.add_argument("--all", action="store_true", help="every point estimated, not only the fronts")
    p.add_argument("--plot", metavar="FILE", help="also draw the fronts (.png or .svg)")
    add_pricing(p)
    add_output(p)
    return {"pareto": cmd_pareto}


def run_pareto(args: argparse.Namespace):
    from ..planning.pareto import pareto
    from .plan import economics_from

    return pareto(
        args.model,
        {"input_tokens": args.input_tokens, "output_tokens": args.output_tokens},
        backends=args.backends,
        metric=args.metric,
        precisions=args.precisions,
        max_devices=args.max_devices,
        economics=economics_from(args),
    )


def pareto_columns(metric: str) -> list:
    from ..io.metrics import METRICS
    from ..io.tables import Column

    def col(key: str, priority: int) -> Column:
        return Column(key=key, header=METRICS[key][0], unit=METRICS[key][1], priority=priority)

    return [
        Column(key="backend", header="backend", justify="left", priority=0),
        Column(key="where", header="devices", justify="left", priority=0),
        Column(key="batch", header="batch", priority=0),
        col("tokens_per_s_per_user", 0),
        col(metric, 0),
        col("usd_per_mtok" if metric != "usd_per_mtok" else "tokens_per_s_per_device", 2),
        col("ttft_s", 3),
        col("joules_per_token", 4),
    ]


def cmd_pareto(args: argparse.Namespace, console: Any) -> None:
    from ._common import emit, mapping

    result = run_pareto(args)
    if args.plot:
        from ..io.plots import plot_pareto

        plot_pareto(result, args.plot)
    if args.json:
        return print_json(result.to_dict(points=args.all))
    rows = list(result.points if args.all else result.rows)
    for row in rows:
        row["where"] = mapping(argparse.Namespace(**{k: row[k] for k in ("devices", "tp", "pp", "ep", "replicas")}))
    if args.csv:
        flat = [{k: v for k, v in r.items() if k not in ("deployment", "workload")} for r in rows]
        return emit(args, console, flat, [])
    title = f"{result.model}: {result.input_tokens} in / {result.output_tokens} out, Pareto front of each backend"
    notes = [f"{len(result.points)} points estimated; a front keeps the points no other beats on both axes"]
    notes += [f"skipped: {s}" for s in result.skipped]
    emit(args, console, rows, pareto_columns(result.metric), title=title, notes=notes)
