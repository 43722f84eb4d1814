"""``tokenfab validate``: predicted vs published for the shipped public results, with scores."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output, print_csv, print_json

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
    add_output(p)
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
    rows = [_row(r) for r in report.rows]
    columns = [
        Column(key="id", header="point", justify="left", priority=0),
        Column(key="role", header="role", justify="left", priority=3),
        Column(key="metric", header="metric", justify="left", priority=2),
        Column(key="value", header="published", priority=1),
        Column(key="predicted", header="predicted", short="pred.", priority=1),
        Column(key="ratio", header="ratio", priority=0, format=lambda v: v),
    ]
    print_table(console, rows, columns, title="predicted vs published (ratio = predicted / published)", wide=args.wide)
    print_table(console, _summary_rows(report), _summary_columns(), title="scores", wide=args.wide)


def _row(result: Any) -> dict[str, Any]:
    p = result.point
    ratio = f"error: {result.error}" if result.error is not None else f"{result.ratio:.2f}"
    return {
        "id": p["id"],
        "role": p["role"],
        "metric": p["metric"],
        "value": p["value"],
        "predicted": result.predicted,
        "ratio": ratio,
    }


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"


def _summary_columns() -> list[Any]:
    from ..io.tables import Column

    return [
        Column(key="group", header="group", justify="left", priority=0),
        Column(key="points", header="points", short="n", priority=2),
        Column(key="scored", header="scored", short="sc.", priority=2),
        Column(
            key="median_abs_error",
            header="median |error|",
            short="median",
            priority=0,
            format=lambda v: "-" if v is None else f"{v:.1%}",
        ),
        Column(key="within_25", header="within 25%", short="<25%", priority=0, format=_pct),
        Column(key="within_2x", header="within 2x", short="<2x", priority=0, format=_pct),
    ]


def _summary_rows(report: Any) -> list[dict[str, Any]]:
    groups = [("", s) for s in report.summary()]
    for by in ("role", "kind", "vendor", "metric"):
        groups += [(f"{by}: ", s) for s in report.summary(by)]
    return [{**s.to_dict(), "group": prefix + s.group} for prefix, s in groups]
