"""``tokenfab report``: a self-contained HTML page with the Pareto chart, the plan and its breakdown."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import print_json

ORDER = 33


def register(sub: Any) -> dict:
    from .plan import add_plan_options

    p = sub.add_parser(
        "report",
        help="one offline HTML page: Pareto chart, plan table, per-operator breakdown, assumptions, sources",
    )
    add_plan_options(p)
    p.add_argument("--html", metavar="FILE", help="write the page here (e.g. report.html)")
    p.add_argument("--json", action="store_true", help="print the page's data as JSON (its table rows are these)")
    return {"report": cmd_report}


def cmd_report(args: argparse.Namespace, console: Any) -> None:
    from ..bounds import check_writable
    from ..errors import ValidationError
    from ..io.report import report_data, write_report
    from ..planning.pareto import pareto
    from .plan import economics_from, run_plan

    if not args.html and not args.json:
        raise ValidationError("html: give --html FILE (or --json for the data)")
    if args.html:
        check_writable("html", args.html)
    result = run_plan(args)
    front = pareto(
        args.model,
        {"input_tokens": args.input_tokens, "output_tokens": args.output_tokens},
        backends=args.backends,
        precisions=args.precisions,
        max_devices=args.max_devices,
        economics=economics_from(args),
    )
    data = report_data(result, front, economics_from(args))
    if args.html:
        path = write_report(data, args.html)
        if not args.json:
            console.print(f"wrote {path} ({len(data['rows'])} deployments, {len(data['sources'])} backends)")
    if args.json:
        print_json(data)
