"""``tokenfab validate``: predicted vs published for the shipped public results, with scores."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import print_csv, print_json

ORDER = 70
_CSV_KEYS = ("id", "kind", "role", "vendor", "backend", "model", "metric", "value", "predicted", "ratio", "error")


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    p = sub.add_parser(
        "validate",
        help="predicted vs published for every public result tokenfab ships, with median |error| per group",
        description="ratio = predicted / published; |error| = |ratio - 1|; within 2x: 0.5 <= ratio <= 2. "
        "Rows that cannot be estimated show their error and are not scored.",
    )
    p.add_argument("--vendor", help="only this vendor's points (case-insensitive), e.g. NVIDIA, Groq")
    roles = ("check", "calibration", "all")
    p.add_argument("--role", default="all", choices=roles, help="points to score (default all)")
    p.add_argument("--kind", help="only points of this kind (inference, training, ...)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", action="store_true", help="print CSV (one row per point)")
    return {"validate": cmd_validate}


def cmd_validate(args: argparse.Namespace, console: Any) -> None:
    from rich.table import Table

    from ..validation import validate

    report = validate(vendor=args.vendor, role=args.role, kind=args.kind)
    if args.json:
        print_json(report.to_dict())
        return
    if args.csv:
        print_csv([row.to_dict() for row in report.rows], _CSV_KEYS)
        return
    table = Table(title="predicted vs published (ratio = predicted / published)")
    for col, justify in (("point", "left"), ("role", "left"), ("metric", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for col in ("published", "predicted", "ratio"):
        table.add_column(col, justify="right")
    for row in report.rows:
        p = row.point
        if row.error is not None:
            table.add_row(p["id"], p["role"], p["metric"], _num(p["value"]), "-", f"error: {row.error[:70]}")
        else:
            table.add_row(p["id"], p["role"], p["metric"], _num(p["value"]), _num(row.predicted), f"{row.ratio:.2f}")
    console.print(table)
    console.print(_summary_table(report))


def _summary_table(report: Any) -> Any:
    from rich.table import Table

    table = Table(title="scores (median |error|, share within 25%, share within 2x)")
    for col in ("group", "points", "scored", "median |error|", "within 25%", "within 2x"):
        table.add_column(col, justify="left" if col == "group" else "right")
    groups = [("", s) for s in report.summary()]
    for by in ("role", "kind", "vendor", "metric"):
        groups += [(f"{by}: ", s) for s in report.summary(by)]
    for prefix, s in groups:
        cells = (
            ["-", "-", "-"]
            if s.scored == 0
            else [f"{s.median_abs_error:.1%}", f"{s.within_25:.0%}", f"{s.within_2x:.0%}"]
        )
        table.add_row(prefix + s.group, str(s.points), str(s.scored), *cells)
    return table


def _num(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
