"""Serving commands: estimate, compare, sweep."""

from __future__ import annotations

import argparse
from typing import Any

from ..serving.steady import METRICS, compare, estimate
from ._common import add_scenario, emit, exit_code, mapping, mapping_options, options, print_json

ORDER = 20


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    from ..io.metrics import metrics_help

    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("estimate", help="serving estimate for one backend", epilog=metrics_help, formatter_class=raw)
    p.add_argument("--backend", required=True, help="backend id, e.g. nvidia:h100-sxm")
    p.add_argument("--breakdown", action="store_true", help="per-operator breakdown of prefill and a mid decode step")
    add_scenario(p)
    _add_load_options(p)
    p = sub.add_parser("compare", help="rank backends on one scenario", epilog=metrics_help, formatter_class=raw)
    p.add_argument("--backends", default="all", help="comma-separated backend ids, or 'all' (default)")
    p.add_argument("--sort", default="usd_per_mtok", choices=sorted(METRICS), help="ranking metric (see metrics below)")
    p.add_argument("--plot", metavar="FILE", help="also draw $/Mtok against tokens/s per user (.png or .svg)")
    add_scenario(p)
    # Without --batch: an interactive and a throughput point per backend (tokenfab.planning.points).
    p.set_defaults(batch=None)
    return {"estimate": cmd_estimate, "compare": cmd_compare}


#: (key, priority in an 80-column compare table: 0 never hidden, larger hidden first)
_RESULT_METRICS = (
    ("ttft_s", 1),
    ("tpot_s", 1),
    ("tokens_per_s", 1),
    ("tokens_per_s_per_user", 3),
    ("tokens_per_s_per_device", 4),
    ("memory_per_device_bytes", 2),
    ("joules_per_token", 3),
    ("usd_per_mtok", 1),
    ("usd_per_mtok_in_out", 5),
)


def _metric_columns(sort: str = "") -> list:
    from ..io.metrics import METRICS as DEFINED
    from ..io.tables import Column

    return [
        Column(key=key, header=DEFINED[key][0], unit=DEFINED[key][1], priority=0 if key == sort else priority)
        for key, priority in _RESULT_METRICS
    ]


def cmd_estimate(args: argparse.Namespace, console: Any) -> None:
    from ..io.format import format_value
    from ..io.metrics import METRICS as DEFINED
    from ..io.tables import key_value_rows

    est = estimate(args.model, args.backend, **options(args))
    record = est.to_dict(breakdown=args.breakdown)
    simulation = _simulate_if_rate(args)
    if simulation is not None:
        record["simulation"] = simulation.to_dict()
    if args.json:
        return print_json(record)
    if args.csv:
        return emit(args, console, [est.to_dict()], [])
    pairs = [
        ("devices", mapping(est)),
        ("placement", est.placement),
        ("precision", f"weights {est.weights}, act {est.activations}, kv {est.kv}, attn {est.attention}"),
    ]
    pairs += [(DEFINED[column.key][0], column.cell(record)) for column in _metric_columns()]
    pairs += [
        ("memory capacity/device", format_value(est.memory_capacity_per_device_bytes, "B")),
        ("bound (prefill / decode)", f"{est.prefill_bound} / {est.decode_bound}"),
        *_price_rows(est),
    ]
    rows, columns = key_value_rows(pairs)
    title = f"{est.model} on {est.backend}: batch {est.batch}, {est.input_tokens} in / {est.output_tokens} out"
    emit(args, console, rows, columns, title=title, notes=["metrics are defined in: tokenfab estimate --help"])
    if simulation is not None:
        from .simulate import print_simulation

        print_simulation(args, console, simulation)
    if args.breakdown:
        for title, ops in (("prefill", record["prefill_breakdown"]), ("decode (mid step)", record["decode_breakdown"])):
            emit(args, console, ops, _breakdown_columns(), title=f"{title}: per operator, one device, all layers")


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    """``--rate`` (and its seed, requests, duration, SLO): simulate the deployment under load too."""
    from .plan import add_slo
    from .simulate import add_load

    add_load(parser)
    add_slo(parser, defaults=False)


def _simulate_if_rate(args: argparse.Namespace):
    """With ``--rate``: the load simulation of the same deployment, ``--batch`` as its most concurrent sequences."""
    if args.rate is None:
        load = {"ttft": args.ttft, "tpot": args.tpot, "tokens-per-user": args.tokens_per_user}
        load.update(requests=args.requests, duration=args.duration)
        given = [name for name, value in load.items() if value is not None]
        if given:  # judged only under load: silently ignoring it would answer another question
            from ..errors import TokenfabError

            flag = given[0]
            raise TokenfabError(f"{flag.replace('-', '_')}: --{flag} applies to the load simulation and needs --rate")
        return None
    from .simulate import run_simulation

    return run_simulation(args, args.batch)


def _breakdown_columns() -> list:
    from ..io.tables import Column

    return [
        Column(key="name", header="op", justify="left", priority=0),
        Column(key="count", header="x", priority=5),
        Column(key="compute_s", header="compute", unit="s", priority=2),
        Column(key="memory_s", header="memory", unit="s", priority=2),
        Column(key="comm_s", header="comm", unit="s", priority=3),
        Column(key="overhead_s", header="overhead", short="ovh", unit="s", priority=4),
        Column(key="seconds", header="total", unit="s", priority=0),
        Column(key="bound", header="bound", justify="left", priority=1),
        Column(key="flops", header="FLOPs", unit="FLOP", priority=3),
        Column(key="bytes", header="bytes", unit="B", priority=3),
    ]


def _price_rows(est: Any) -> list[tuple[str, str]]:
    """Price basis and source, host energy, and the vendor's list price beside the modelled cost."""
    price = "none: no price; give --usd-per-device-hour or --capex"
    if est.usd_per_device_hour is not None:
        price = f"{est.price_basis}, ${est.usd_per_device_hour:.3g}/device-h: {est.price_source}"
    rows = [("price basis", price), ("host/NIC/switch J/tok (in J/tok)", f"{est.host_joules_per_token:.3g}")]
    if est.list_price is not None:
        lp = est.list_price
        rows.append(
            (
                "vendor list price (list-price-per-token)",
                f"${lp['usd_per_mtok']:.3g}/M output tok for this workload (${lp['usd_per_mtok_input']:g} in, "
                f"${lp['usd_per_mtok_output']:g} out per Mtok, {lp['date']}): {lp['source']}",
            )
        )
    return rows


def cmd_compare(args: argparse.Namespace, console: Any) -> int:
    from ..io.tables import Column

    if args.batch is None:
        return _compare_points(args, console)
    result = compare(args.model, args.backends, metric=args.sort, **options(args))
    if args.plot:
        from ..io.plots import plot_compare

        plot_compare(result.records(), args.plot, title=f"{args.model}: batch {args.batch}")
    if args.json:
        print_json(result.to_dict())
        return exit_code(result)
    rows = result.records()
    if not args.csv:
        for row, item in zip(rows, result.rows, strict=True):
            row["mapping"] = mapping(item.estimate) if item.estimate else "-"
    columns = [
        Column(key="backend", header="backend", justify="left", priority=0),
        Column(key="mapping", header="devices", justify="left", priority=1),
        *_metric_columns(args.sort),
        Column(key="price_basis", header="price basis", short="basis", justify="left", priority=0),
        Column(key="list_usd_per_mtok", header="list $/Mtok", unit="$", priority=6),
    ]
    notes = [f"{row.backend}: {row.error}" for row in result.rows if row.error]
    title = f"{args.model}: batch {args.batch}, {args.input_tokens} in / {args.output_tokens} out, by {args.sort}"
    emit(args, console, rows, columns, title=title, notes=notes)
    return exit_code(result)


def _compare_points(args: argparse.Namespace, console: Any) -> int:
    """Per backend, the interactive and the throughput point (see :mod:`tokenfab.planning.points`)."""
    from ..io.metrics import METRICS as DEFINED
    from ..io.tables import Column
    from ..planning.points import POINTS, operating_points

    opts = options(args)
    workload = {"input_tokens": args.input_tokens, "output_tokens": args.output_tokens}
    fixed = mapping_options(args)
    rows = operating_points(args.model, workload, args.backends, fixed=fixed, economics=opts["economics"])
    larger = METRICS[args.sort]
    rank = {}
    for row in rows:  # backends ordered by their throughput point's metric; missing values last
        value = row.get(args.sort) if row["point"] == "throughput" else None
        if value is not None:
            rank[row["backend"]] = -value if larger else value
    rows.sort(key=lambda r: (r["backend"] not in rank, rank.get(r["backend"], 0.0), r["backend"], r["point"]))
    if args.plot:
        from ..io.plots import plot_compare

        plot_compare(rows, args.plot, title=f"{args.model}: interactive and throughput point per backend")
    failed = 1 if any(row.get("fits") is None for row in rows) else 0  # an error other than "does not fit"
    if args.json:
        definitions = {name: slo.to_dict() for name, slo in POINTS.items()}
        print_json({"metric": args.sort, "points": definitions, "rows": rows})
        return failed
    for row in rows:
        row["mapping"] = "-" if row.get("devices") is None else mapping(argparse.Namespace(**row))
        row["label"] = row["point"] + ("" if row.get("meets", True) else " (missed)")
    columns = [
        Column(key="backend", header="backend", justify="left", priority=0),
        Column(key="label", header="point", justify="left", priority=0),
        Column(key="mapping", header="devices", justify="left", priority=1),
        Column(key="weights", header="weights", short="w", priority=1),
        Column(key="batch", header="batch", priority=1),
        *_metric_columns(args.sort),
    ]
    notes = [
        "interactive: cheapest with TTFT <= 1 s and >= 50 tok/s/user; throughput: TTFT <= 5 s, >= 10 tok/s/user",
        "$/Mtok: " + DEFINED["usd_per_mtok"][2],
        "--batch N compares one fixed scenario instead",
    ]
    notes += [f"{row['backend']}: {row['error']}" for row in rows if row.get("error")]
    title = f"{args.model}: {args.input_tokens} in / {args.output_tokens} out, by {args.sort} of the throughput point"
    emit(args, console, rows, columns, title=title, notes=notes)
    return failed
