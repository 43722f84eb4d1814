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
    p.add_argument("--wide", action="store_true", help="show every table column, however wide the terminal")
    return {"validate": cmd_validate}


def cmd_validate(args: argparse.Namespace, console: Any) -> None:
    from ..io.tables import Column, print_table
    from ..validation import validate

    report = validate(vendor=args.vendor, role=args.role, kind=args.kind)
    if args.json:
        print_json(report.to_dict())
        return
    if args.csv:
        print_csv([row.to_dict() for row in report.rows], _CSV_KEYS)
        return
    rows = [
        {
            "point": row.point["id"],
            "role": row.point["role"],
            "metric": row.point["metric"],
            "published": row.point["value"],
            "predicted": row.predicted if row.error is None else None,
            "ratio": f"{row.ratio:.2f}" if row.error is None else f"error: {row.error[:70]}",
        }
        for row in report.rows
    ]
    columns = [
        Column(key="point", header="point", justify="left", priority=0),
        Column(key="role", header="role", justify="left", priority=3),
        Column(key="metric", header="metric", justify="left", priority=2),
        Column(key="published", header="published", short="pub", priority=1),
        Column(key="predicted", header="predicted", short="pred", priority=1),
        Column(key="ratio", header="ratio", justify="left", priority=0, wrap=True),
    ]
    print_table(console, rows, columns, title="predicted vs published (ratio = predicted / published)", wide=args.wide)
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
