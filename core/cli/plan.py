"""``tokenfab plan``: the cheapest deployments that meet a latency SLO, across backends."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output, print_json

ORDER = 30


def add_slo(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """``--ttft``, ``--tpot`` / ``--tokens-per-user`` and ``--percentile``."""
    parser.add_argument("--ttft", default="2s" if defaults else None, help="TTFT limit, e.g. 500ms or 2s")
    parser.add_argument("--tpot", help="time-per-output-token limit, e.g. 20ms")
    parser.add_argument(
        "--tokens-per-user", type=float, help="tokens/s each user must see (the same limit as --tpot 1/x)"
    )
    parser.add_argument("--percentile", type=float, default=99.0, help="percentile the limits hold at under --rate")


def slo_from(args: argparse.Namespace):
    from ..planning.slo import SLO

    return SLO.from_options(
        ttft=args.ttft, tpot=args.tpot, tokens_per_s_per_user=args.tokens_per_user, percentile=args.percentile
    )


def add_pricing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--usd-per-device-hour", type=float, help="override the device-hour price")
    parser.add_argument("--capex", type=float, dest="capex_usd", help="price per device, amortised instead of cloud")
    parser.add_argument("--usd-per-kwh", type=float, default=0.10, help="electricity price for capex pricing")
    parser.add_argument("--pue", type=float, default=1.3, help="facility PUE for capex pricing")


def economics_from(args: argparse.Namespace):
    from ..economics import Economics

    return Economics(
        usd_per_device_hour=args.usd_per_device_hour,
        capex_usd=args.capex_usd,
        usd_per_kwh=args.usd_per_kwh,
        pue=args.pue,
    )


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """Model, workload, SLO, search space and pricing: shared by plan and report."""
    parser.add_argument("--model", required=True, help="model id (tokenfab models) or path to a config.json")
    parser.add_argument("--input", type=int, default=1000, dest="input_tokens", help="prompt tokens (default 1000)")
    parser.add_argument("--output", type=int, default=500, dest="output_tokens", help="generated tokens (default 500)")
    parser.add_argument("--rate", type=float, help="requests/s to serve (the SLO then holds at --percentile)")
    parser.add_argument("--tokens-per-s", type=float, help="total output tokens/s to serve (instead of --rate)")
    add_slo(parser)
    parser.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    parser.add_argument("--precisions", default="bf16,fp8", help="weight precisions to try (default bf16,fp8)")
    parser.add_argument("--max-devices", type=int, help="most devices a deployment may use")
    parser.add_argument("--objective", default="cost", choices=("cost", "devices", "energy", "latency"))
    parser.add_argument("--draft", help="also try speculative decoding with this draft model (or 'mtp')")
    parser.add_argument("--draft-tokens", type=int, default=3, help="tokens drafted per cycle (default 3)")
    parser.add_argument("--acceptance", type=float, default=0.7, help="draft token acceptance rate (default 0.7)")
    add_pricing(parser)


def run_plan(args: argparse.Namespace):
    from ..deployment import Speculative
    from ..planning.planner import plan

    workload = {
        "input_tokens": args.input_tokens,
        "output_tokens": args.output_tokens,
        "rate": args.rate,
        "tokens_per_s": args.tokens_per_s,
        "speculative": None
        if not args.draft
        else Speculative(draft=args.draft, tokens=args.draft_tokens, acceptance=args.acceptance),
    }
    return plan(
        args.model,
        workload,
        slo=slo_from(args),
        backends=args.backends,
        objective=args.objective,
        precisions=args.precisions,
        max_devices=args.max_devices,
        economics=economics_from(args),
    )


def register(sub: Any) -> dict:
    from ..io.metrics import metrics_help

    p = sub.add_parser(
        "plan",
        help="cheapest deployments meeting a latency SLO, over backends, devices, mappings, precisions, batch",
        epilog=metrics_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_plan_options(p)
    p.add_argument("--top", type=int, default=10, help="rows to show (default 10; --json and --csv give all)")
    p.add_argument("--plot", metavar="FILE", help="also draw $/Mtok against tokens/s per user (.png or .svg)")
    add_output(p)
    return {"plan": cmd_plan}


def plan_columns() -> list:
    from ..io.metrics import METRICS
    from ..io.tables import Column

    def metric(key: str, priority: int) -> Column:
        return Column(key=key, header=METRICS[key][0], unit=METRICS[key][1], priority=priority)

    return [
        Column(key="backend", header="backend", justify="left", priority=0),
        Column(key="where", header="devices", justify="left", priority=0),
        Column(key="weights", header="weights", short="w", priority=2),
        Column(key="batch", header="batch", priority=1),
        metric("usd_per_mtok", 0),
        metric("usd_per_mtok_in_out", 4),
        metric("tokens_per_s_per_user", 1),
        metric("tokens_per_s_per_device", 3),
        metric("ttft_s", 2),
        metric("tpot_s", 5),
        metric("joules_per_token", 6),
        Column(key="binding", header="binds", priority=1, justify="left"),
    ]


def table_rows(rows) -> list[dict]:
    from ._common import mapping

    out = []
    for row in rows:
        record = row.to_dict()
        record["where"] = mapping(row) + (" +spec" if row.speculative else "")
        if row.simulated is not None:
            record["usd_per_mtok"] = row.simulated["usd_per_mtok_at_rate"]
        out.append(record)
    return out


def cmd_plan(args: argparse.Namespace, console: Any) -> None:
    from ..bounds import check_int
    from ._common import emit

    check_int("top", args.top, 0)  # a negative top would slice rows off the end
    result = run_plan(args)
    if args.plot:
        from ..io.plots import plot_plan

        plot_plan(result, args.plot)
    if args.json:
        return print_json(result.to_dict())
    rows = table_rows(result.rows if args.csv else result.rows[: args.top])
    if args.csv:
        return emit(args, console, rows, plan_columns())
    title = (
        f"{result.model}: {args.input_tokens} in / {args.output_tokens} out, {result.slo.describe()}"
        + (f" at p{args.percentile:g}, {args.rate:g} req/s" if args.rate else "")
        + f"; best {result.objective} first"
    )
    notes = ["$/Mtok counts output tokens; $/Mtok i+o input and output (tokenfab plan --help)"]
    if args.rate:
        notes.append("$/Mtok at the offered rate (replicas sized by simulation)")
    if result.best is not None:
        notes.append(f"replay the best: {result.best.command}")
    emit(args, console, rows, plan_columns(), title=title, notes=notes)
    for line in result.diagnosis:
        console.print(f"no deployment meets the SLO: {line}")
