"""Options and output helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ..bounds import check_finite
from ..economics import Economics
from ..errors import TokenfabError
from ..serving.steady import Speculative


def add_scenario(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model id (tokenfab models) or path to a config.json")
    parser.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    parser.add_argument("--input", type=int, default=1000, dest="input_tokens", help="prompt tokens (default 1000)")
    parser.add_argument("--output", type=int, default=500, dest="output_tokens", help="generated tokens (default 500)")
    parser.add_argument("--devices", type=int, help="devices (default: fewest that fit)")
    parser.add_argument("--tp", type=int, help="tensor-parallel degree (default devices / pp)")
    parser.add_argument("--pp", type=int, help="pipeline stages (default 1)")
    parser.add_argument("--ep", type=int, help="expert-parallel degree (MoE models only)")
    parser.add_argument("--dp", type=int, help="data-parallel replicas sharing the batch (default: searched)")
    add_objective(parser)
    parser.add_argument("--weights", help="weight precision (bf16, fp8, int4, ...)")
    parser.add_argument("--activations", help="activation / math precision")
    parser.add_argument("--kv", help="KV-cache precision")
    parser.add_argument("--attention", help="attention math precision (default bf16; fp8 needs --kv fp8)")
    parser.add_argument(
        "--no-chunked-prefill",
        dest="chunked_prefill",
        action="store_false",
        help="stall the batch for each prompt instead of mixing prompt chunks into decode steps",
    )
    parser.add_argument(
        "--kv-reservation",
        choices=("completion", "current"),
        help="KV admission: reserve each sequence's input+output (default, TensorRT-LLM) or its current tokens (vLLM)",
    )
    parser.add_argument("--draft", help="speculative decoding: draft model id, config.json, or 'mtp'")
    parser.add_argument("--draft-tokens", type=int, help="tokens drafted per cycle (default 3; needs --draft)")
    parser.add_argument("--acceptance", type=float, help="draft token acceptance rate (default 0.7; needs --draft)")
    parser.add_argument("--usd-per-device-hour", type=float, help="override the device-hour price")
    parser.add_argument("--capex", type=float, dest="capex_usd", help="price per device, amortised instead of cloud")
    parser.add_argument("--usd-per-kwh", type=float, default=0.10, help="electricity price for capex pricing")
    parser.add_argument("--pue", type=float, default=1.3, help="facility PUE for capex pricing")
    add_output(parser)


def add_output(parser: argparse.ArgumentParser, *, csv: bool = True) -> None:
    """``--json``, ``--csv`` and ``--wide``: every command has them."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    if csv:
        parser.add_argument(
            "--csv", action="store_true", help="print CSV, one row per result, scenario columns included"
        )
    parser.add_argument("--wide", action="store_true", help="show every table column, however wide the terminal")


def emit(args: argparse.Namespace, console: Any, rows: Sequence[dict], columns: Sequence, **table: Any) -> None:
    """Print ``rows`` as JSON (``--json``), CSV (``--csv``, every key of the rows) or a table fitted
    to the terminal (``columns``: :class:`tokenfab.io.tables.Column`; ``table``: title, notes)."""
    from ..io.frames import uniform_records
    from ..io.tables import print_table

    if getattr(args, "json", False):
        print_json(list(rows))
    elif getattr(args, "csv", False):
        records = uniform_records(rows)
        print_csv(records, list(records[0]) if records else [c.key for c in columns])
    else:
        print_table(console, rows, columns, wide=getattr(args, "wide", False), **table)


OBJECTIVE_HELP = (
    "what the mapping search optimises when no tp/pp/ep is given: latency (TTFT + (O-1) TPOT), "
    "throughput (tokens/s per device), cost ($/Mtok), energy (J/token); default throughput"
)


def add_objective(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--objective", default="throughput", choices=("latency", "throughput", "cost", "energy"), help=OBJECTIVE_HELP
    )


def mapping_options(args: argparse.Namespace) -> dict[str, Any]:
    """Devices, parallel mapping and precisions, shared by estimate, compare and sweep."""
    names = ("devices", "tp", "pp", "ep", "dp", "weights", "activations", "kv", "attention")
    return {name: getattr(args, name, None) for name in names}


def options(args: argparse.Namespace) -> dict[str, Any]:
    econ = Economics(
        usd_per_device_hour=args.usd_per_device_hour,
        capex_usd=args.capex_usd,
        usd_per_kwh=args.usd_per_kwh,
        pue=args.pue,
    )
    speculative = None
    if args.draft is not None:  # an empty --draft is Speculative's one-line error, not "no draft"
        given = {"tokens": args.draft_tokens, "acceptance": args.acceptance}
        speculative = Speculative(draft=args.draft, **{k: v for k, v in given.items() if v is not None})
    elif args.draft_tokens is not None or args.acceptance is not None:
        flag = "--acceptance" if args.acceptance is not None else "--draft-tokens"
        raise TokenfabError(f"{flag.lstrip('-')}: {flag} describes speculative decoding and needs --draft MODEL")
    return dict(
        chunked_prefill=args.chunked_prefill,
        speculative=speculative,
        kv_reservation=getattr(args, "kv_reservation", None),
        batch=args.batch,
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        objective=args.objective,
        economics=econ,
        **mapping_options(args),
    )


def fmt(value: float, digits: int = 3) -> str:
    """A number for people (``1.46k``), never scientific notation; see :mod:`tokenfab.io.format`."""
    from ..io.format import format_number

    return format_number(value, digits)


def exit_code(result: Any) -> int:
    """1 when some row of a batch result could not be computed (status ``error``), else 0."""
    return 1 if getattr(result, "failed", False) else 0


def print_csv(rows: Sequence[dict], keys: Sequence[str]) -> None:
    """CSV with a header row; nested values (dicts, lists) are written as JSON. A non-finite
    number is an error naming its field, never ``nan`` in a cell (as for :func:`print_json`)."""
    import csv
    import io
    import json

    check_finite(list(rows), "output")
    rows = [{k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()} for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(keys), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buffer.getvalue())


def print_json(data: Any) -> None:
    """Strict JSON on stdout: a non-finite number is an error naming its field, never ``NaN``."""
    import json  # here: a run that prints a table does not need it

    check_finite(data, "output")
    print(json.dumps(data, indent=2, default=str, allow_nan=False))


def mapping(e: Any) -> str:
    return (
        f"{e.devices} (tp{e.tp}"
        + (f" ep{e.ep}" if e.ep > 1 else "")
        + (f" pp{e.pp}" if e.pp > 1 else "")
        + (f" x{e.replicas}" if e.replicas > 1 else "")
        + ")"
    )


def int_list(name: str, text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise TokenfabError(f"{name}: expected comma-separated integers, got {text!r}") from None
