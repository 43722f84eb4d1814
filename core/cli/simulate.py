"""``tokenfab simulate``: one deployment under a request rate or a trace; latency percentiles and goodput."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import print_json

ORDER = 32


def add_load(parser: argparse.ArgumentParser) -> None:
    """``--rate``/``--trace``, ``--seed``, ``--requests``/``--duration``: shared with estimate."""
    parser.add_argument("--rate", type=float, help="Poisson arrivals, requests/s")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the arrivals (default 0)")
    parser.add_argument("--requests", type=int, help="requests to simulate (default 1000)")
    parser.add_argument("--duration", type=float, help="simulate the arrivals of this many seconds instead")


def register(sub: Any) -> dict:
    from ._common import add_scenario
    from .plan import add_slo

    p = sub.add_parser(
        "simulate",
        help="continuous-batching simulation of one deployment under load: p50/p90/p99 TTFT, TPOT, E2E, goodput",
        description="Simulate one deployment under Poisson arrivals (--rate) or a trace. --batch is the most "
        "concurrent sequences over all replicas (default 256 here, vLLM's max_num_seqs).",
    )
    p.add_argument("--backend", required=True, help="backend id, e.g. nvidia:h100-sxm")
    p.add_argument("--trace", help="CSV or JSONL of arrival_s, input_tokens, output_tokens (instead of --rate)")
    add_load(p)
    add_slo(p, defaults=False)
    add_scenario(p)
    p.set_defaults(batch=256)  # most concurrent sequences over all replicas (vLLM's max_num_seqs is 256)
    return {"simulate": cmd_simulate}


def run_simulation(args: argparse.Namespace, batch: int):
    from ..deployment import Deployment, Workload
    from ..errors import ValidationError
    from ..planning.simulate import simulate
    from ._common import mapping_options
    from .plan import slo_from

    if args.rate is None and not getattr(args, "trace", None):
        raise ValidationError("rate: give --rate (requests/s) or --trace FILE")
    if args.requests is not None and args.duration is not None:
        raise ValidationError("requests: give --requests or --duration, not both")
    deployment = Deployment(backend=args.backend, **mapping_options(args))
    workload = Workload(input_tokens=args.input_tokens, output_tokens=args.output_tokens, batch=batch, rate=args.rate)
    return simulate(
        args.model,
        deployment,
        workload,
        slo=slo_from(args),
        seed=args.seed,
        requests=args.requests,
        duration=args.duration,
        trace=getattr(args, "trace", None),
    )


def simulation_rows(sim) -> list[dict]:
    """One row per metric: p50, p90, p99 in seconds."""
    names = {"ttft_s": "TTFT", "tpot_s": "TPOT", "e2e_s": "E2E"}
    return [{"metric": names[m], **{f"p{p}": v for p, v in sim.percentiles[m].items()}} for m in names]


def print_simulation(args: argparse.Namespace, console: Any, sim) -> None:
    from ..io.format import format_value
    from ..io.tables import Column, print_table

    columns = [Column(key="metric", header="latency", justify="left", priority=0)]
    columns += [Column(key=f"p{p}", header=f"p{p}", unit="s", priority=0) for p in (50, 90, 99)]
    title = (
        f"{sim.model} on {sim.backend}: {sim.requests} requests at {format_value(sim.requests_per_s, '')} req/s, "
        f"{sim.replicas} replica(s) of up to {sim.max_batch_per_replica} sequences"
    )
    notes = [
        f"throughput {format_value(sim.tokens_per_s, '')} output tok/s; goodput {format_value(sim.goodput_rps, '')}"
        f" req/s ({sim.goodput_fraction:.0%} of requests meet {sim.slo.describe()}); preemptions {sim.preemptions}"
    ]
    print_table(console, simulation_rows(sim), columns, title=title, wide=getattr(args, "wide", False), notes=notes)


def cmd_simulate(args: argparse.Namespace, console: Any) -> None:
    from ._common import emit

    sim = run_simulation(args, args.batch)
    if args.json:
        return print_json(sim.to_dict())
    if args.csv:
        return emit(args, console, [{**r, "goodput_rps": sim.goodput_rps} for r in simulation_rows(sim)], [])
    print_simulation(args, console, sim)
