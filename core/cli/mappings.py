"""Mapping command: the feasible tp/pp/ep/dp mappings of a model on a backend, ranked."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_objective, add_output, emit, print_json

ORDER = 25


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    p = sub.add_parser("mappings", help="ranked tp/pp/ep/dp mappings of a model on a backend, with why each lost")
    p.add_argument("--model", required=True, help="model id (tokenfab models) or path to a config.json")
    p.add_argument("--backend", required=True, help="backend id, e.g. nvidia:h100-sxm")
    p.add_argument("--devices", type=int, help="device count (default: a system's count, else the fewest that fit)")
    add_objective(p)
    p.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    p.add_argument("--input", type=int, default=1000, dest="input_tokens", help="prompt tokens (default 1000)")
    p.add_argument("--output", type=int, default=500, dest="output_tokens", help="generated tokens (default 500)")
    for flag in ("--weights", "--activations", "--kv"):
        p.add_argument(flag, help=f"{flag[2:]} precision")
    p.add_argument("--limit", type=int, default=20, help="rows to show (default 20; --json and --csv list all)")
    add_output(p)
    return {"mappings": cmd_mappings}


def cmd_mappings(args: argparse.Namespace, console: Any) -> None:
    from ..bounds import check_int
    from ..deployment import Deployment, Workload
    from ..planning.mappings import mappings

    check_int("limit", args.limit, 0)  # a negative limit would slice rows off the end
    workload = Workload(input_tokens=args.input_tokens, output_tokens=args.output_tokens, batch=args.batch)
    deployment = Deployment(
        backend=args.backend, devices=args.devices, weights=args.weights, activations=args.activations, kv=args.kv
    )
    result = mappings(args.model, args.backend, workload, objective=args.objective, deployment=deployment)
    if args.json:
        print_json(result.to_dict())
        return
    from ..io.tables import Column

    title = (
        f"{result.model} on {result.backend}: {result.devices} devices ({result.chosen_by}), "
        f"batch {workload.batch}, {workload.input_tokens} in / {workload.output_tokens} out; "
        f"by {args.objective} ({result.metric})"
    )
    rows = [
        {"rank": i + 1, "mapping": c.shape.label(), "value": c.value, "why": "best" if i == 0 else c.reason}
        for i, c in enumerate(result.candidates)
    ]
    if args.csv:
        return emit(args, console, [{"model": result.model, "backend": result.backend, **r} for r in rows], [])
    columns = [
        Column(key="rank", header="#", priority=0),
        Column(key="mapping", header="devices (mapping)", justify="left", priority=0),
        Column(key="value", header=result.metric, priority=1),
        Column(key="why", header="why not the best", justify="left", priority=2, wrap=True),
    ]
    emit(args, console, rows[: args.limit], columns, title=title)
    hidden = len(result.candidates) - args.limit
    if hidden > 0:
        console.print(f"{hidden} more (--limit or --json to see them)")
