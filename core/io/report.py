"""``tokenfab report``: one self-contained HTML page (no CDN, works offline).

The page holds the data as JSON in a ``<script type="application/json">`` element and draws it
with the hand-written script and stylesheet in ``report_assets/`` (inlined, shipped as package
data): an interactive Pareto chart in SVG (one series per backend, legend toggles, tooltips),
the plan table, a per-operator breakdown of the deployment chosen in a selector, the assumptions
(workload, SLO, precisions, prices with their basis) and the sources of every price and figure used.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..hardware.registry import default_registry

_BREAKDOWN_KEYS = ("name", "kind", "count", "compute_s", "memory_s", "comm_s", "overhead_s", "seconds", "bound")


def report_data(plan_result: Any, pareto_result: Any, economics: Any) -> dict[str, Any]:
    """Everything the page shows, JSON-ready: ``rows`` equal ``plan_result.to_dict()["rows"]``."""
    plan_dict = plan_result.to_dict()
    breakdowns = []
    for row in plan_result.rows:
        record = row.estimate.to_dict(breakdown=True)
        breakdowns.append(
            {
                "decode": [{k: op[k] for k in _BREAKDOWN_KEYS} for op in record["decode_breakdown"]],
                "prefill": [{k: op[k] for k in _BREAKDOWN_KEYS} for op in record["prefill_breakdown"]],
            }
        )
    backends = sorted({r["backend"] for r in plan_dict["rows"]} | {r["backend"] for r in pareto_result.rows})
    return {
        "model": plan_result.model,
        "workload": plan_dict["workload"],
        "slo": plan_dict["slo"],
        "objective": plan_dict["objective"],
        "metrics": plan_dict["metrics"],
        "rows": plan_dict["rows"],
        "diagnosis": plan_dict["diagnosis"],
        "breakdowns": breakdowns,
        "pareto": {"metric": pareto_result.metric, "rows": [_slim(r) for r in pareto_result.rows]},
        "assumptions": _assumptions(backends, plan_dict, economics),
        "sources": _sources(backends),
    }


def _slim(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("deployment", "workload")}


def _assumptions(backends: list[str], plan_dict: dict, economics: Any) -> dict[str, Any]:
    registry = default_registry()
    prices = {}
    for backend_id in backends:
        device = getattr(registry.get(backend_id), "device", registry.get(backend_id))
        price = device.price
        prices[backend_id] = {
            "usd_per_device_hour": None if price is None else price.usd_per_device_hour,
            "capex_usd": None if price is None else price.capex_usd,
            "provider": None if price is None else price.provider,
            "date": None if price is None else price.date,
        }
    used = {r["backend"]: r["price_basis"] for r in plan_dict["rows"]}
    for backend_id, basis in used.items():
        prices[backend_id]["basis"] = basis
    return {
        "prices": prices,
        "economics": {
            "usd_per_device_hour_override": economics.usd_per_device_hour,
            "amortization_years": economics.amortization_years,
            "usd_per_kwh": economics.usd_per_kwh,
            "pue": economics.pue,
        },
        "precisions": sorted({(r["weights"], r["activations"], r["kv"]) for r in plan_dict["rows"]}),
    }


def _sources(backends: list[str]) -> dict[str, dict[str, str]]:
    registry = default_registry()
    out = {}
    for backend_id in backends:
        device = getattr(registry.get(backend_id), "device", registry.get(backend_id))
        out[backend_id] = dict(device.sources)
    return out


def _asset(name: str) -> str:
    return resources.files("tokenfab.io").joinpath("report_assets", name).read_text(encoding="utf-8")


def render_html(data: dict[str, Any]) -> str:
    """The page: the template with its stylesheet, script and data inlined."""
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    page = _asset("report.html")
    title = f"tokenfab report: {data['model']}"
    return (
        page.replace("{{title}}", title.replace("<", "&lt;"))
        .replace("/*{{css}}*/", _asset("report.css"))
        .replace("/*{{js}}*/", _asset("report.js"))
        .replace("{{data}}", payload)
    )


def write_report(data: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_html(data), encoding="utf-8")
    return path
