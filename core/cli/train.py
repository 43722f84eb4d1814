"""The ``train`` command: time, device-hours, cost, energy and MFU of a training run."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import fmt, print_csv, print_json

ORDER = 40


def register(sub: Any) -> dict:
    p = sub.add_parser("train", help="training time, device-hours, cost, energy and MFU")
    p.add_argument("--model", required=True, help="model id or path to a config.json")
    p.add_argument("--backend", required=True, help="backend id, e.g. nvidia:h100-sxm")
    p.add_argument("--devices", type=int, help="devices (default: the mapping's, or the system's)")
    p.add_argument("--tokens", type=float, help="token budget, e.g. 15e12")
    p.add_argument("--steps", type=int, help="optimizer steps (instead of --tokens)")
    p.add_argument("--seq-len", type=int, default=4096, help="tokens per sequence (default 4096)")
    p.add_argument("--global-batch", type=int, default=1024, help="sequences per step (default 1024)")
    p.add_argument("--micro-batch", type=int, default=1, help="sequences per micro-batch (default 1)")
    p.add_argument("--precision", default="bf16", choices=("bf16", "fp8"))
    p.add_argument("--recompute", default="selective", choices=("none", "selective", "full"))
    p.add_argument("--finetune", default="full", choices=("full", "lora", "qlora"))
    p.add_argument("--lora-rank", type=int, default=16)
    p.add_argument("--moe-imbalance", type=float, default=1.0, help="busiest expert rank's tokens / mean")
    p.add_argument("--kernels", default="fused", choices=("fused", "eager"), help="element-wise kernels")
    p.add_argument(
        "--activation-offload", type=float, default=0.0, help="share of layer activations held in host memory (0-1)"
    )
    for flag in ("--tp", "--pp", "--cp", "--ep", "--dp", "--zero", "--chunks"):
        p.add_argument(flag, type=int)
    p.add_argument("--first-stage-layers", type=int, help="layers on the first pipeline stage (default even)")
    p.add_argument("--last-stage-layers", type=int, help="layers on the last pipeline stage (default even)")
    p.add_argument("--schedule", choices=("1f1b", "interleaved", "zero-bubble", "dualpipe"))
    p.add_argument("--usd-per-device-hour", type=float, help="override the device-hour price")
    p.add_argument("--capex", type=float, dest="capex_usd", help="price per device, amortised instead of cloud")
    p.add_argument("--tdp", type=float, dest="tdp_w", help="override board power (W)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", action="store_true", help="print CSV")
    p.add_argument("--wide", action="store_true", help="show every table column, however wide the terminal")
    return {"train": cmd_train}


def _mapping(args: argparse.Namespace) -> Any:
    from ..errors import ValidationError
    from ..training.config import TrainingMapping

    keys = ("tp", "pp", "cp", "ep", "dp", "zero", "chunks", "schedule", "first_stage_layers", "last_stage_layers")
    given = {k: getattr(args, k) for k in keys}
    if all(v is None for v in given.values()):
        return None
    if args.devices is None and given["dp"] is None:
        raise ValidationError("devices: give --devices (or --dp) with an explicit mapping")
    fields = {k: v for k, v in given.items() if v is not None}
    if "dp" not in fields:
        inner = fields.get("tp", 1) * fields.get("pp", 1) * fields.get("cp", 1)
        if args.devices % inner:
            raise ValidationError(f"devices: must be a multiple of tp*pp*cp = {inner}, got {args.devices}")
        fields["dp"] = args.devices // inner
    return TrainingMapping(**fields)


def cmd_train(args: argparse.Namespace, console: Any) -> None:
    from ..economics import Economics
    from ..training.api import BREAKDOWN, train
    from ..training.config import TrainingRecipe

    recipe = TrainingRecipe(
        seq_len=args.seq_len,
        global_batch=args.global_batch,
        micro_batch=args.micro_batch,
        tokens=args.tokens,
        steps=args.steps,
        precision=args.precision,
        recompute=args.recompute,
        finetune=args.finetune,
        lora_rank=args.lora_rank,
        moe_imbalance=args.moe_imbalance,
        kernels=args.kernels,
        activation_offload=args.activation_offload,
    )
    econ = Economics(usd_per_device_hour=args.usd_per_device_hour, capex_usd=args.capex_usd)
    est = train(
        args.model, args.backend, recipe, devices=args.devices, mapping=_mapping(args), economics=econ, tdp_w=args.tdp_w
    )
    data = est.to_dict()
    if args.json:
        print_json(data)
        return
    if args.csv:
        flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
        flat.update({f"{k}_s": v for k, v in data["breakdown_s"].items()})
        print_csv([flat], list(flat))
        return
    _table(est, console, BREAKDOWN)


def _table(est: Any, console: Any, parts: tuple[str, ...]) -> None:
    from rich.table import Table

    m = est.mapping
    table = Table(title=f"train {est.model} on {est.devices} x {est.backend}", show_header=False)
    mapping = f"tp{m.tp} cp{m.cp} pp{m.pp} dp{m.dp} ep{m.ep} zero{m.zero} {m.schedule}" + (
        f" v{m.chunks}" if m.chunks > 1 else ""
    )
    usd = "no price" if est.usd is None else f"${est.usd:,.0f} ({est.price_basis}, ${est.usd_per_device_hour:.2f}/h)"
    rows = [
        ("mapping", mapping),
        ("step", f"{fmt(est.step_s)} s ({est.step.micro_batches} micro-batches)"),
        *((f"  {name}", f"{fmt(est.step.breakdown[name])} s") for name in parts),
        ("tokens/s", fmt(est.tokens_per_s)),
        ("tokens/s/device", fmt(est.tokens_per_s_per_device)),
        ("MFU / HFU (bf16 peak)", f"{est.mfu:.1%} / {est.hfu:.1%}"),
        ("total time", f"{fmt(est.days)} days for {est.tokens:.3g} tokens"),
        ("device-hours", fmt(est.device_hours)),
        ("cost", usd),
        ("energy", f"{fmt(est.energy_mwh)} MWh ({fmt(est.facility_mwh)} with PUE)"),
        *((f"memory: {k}", f"{v / 1e9:.1f} GB per device") for k, v in est.step.memory.items()),
        ("fits", f"{est.fits} ({est.step.usable_bytes / 1e9:.1f} GB usable)"),
    ]
    table.add_column()
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
