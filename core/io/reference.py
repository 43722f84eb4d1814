"""Generates docs/reference.md, the field reference of the backend protocol and its TOML format,
from the attrs classes themselves (field names, types, defaults, docstrings) plus the unit,
allowed range and meaning of each field below. A test holds the committed file equal to
:func:`render_reference` and every attrs field to an entry here, so the page cannot drift::

    python -m tokenfab.io.reference > docs/reference.md
"""

from __future__ import annotations

import inspect

import attrs

#: (class, field) -> (unit, allowed values, meaning). Ranges are those the classes enforce.
FIELDS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("Device", "id"): ("", "lower-case `prefix:device`, prefix = the pack's", "backend id"),
    ("Device", "vendor"): ("", "text", "who makes it"),
    ("Device", "name"): ("", "text", "product name as people say it"),
    ("Device", "year"): ("", "1950 to 2100", "year of availability"),
    ("Device", "peak_flops_per_s"): (
        "FLOP/s (OP/s for integers)",
        "> 0 each; keys from the precision vocabulary",
        "dense peak per precision, never a 2:4-sparsity figure",
    ),
    ("Device", "memory"): ("", "at least one level; unique names; one with `holds_weights`", "innermost first"),
    ("Device", "interconnect"): ("", "an `Interconnect`", "scale-up and scale-out links"),
    ("Device", "power"): ("", "a `Power`", "board power"),
    ("Device", "price"): ("", "a `Price` or none", "what a device costs; none: no $/token"),
    ("Device", "efficiency"): ("", "an `Efficiency`", "achievable fractions of peak"),
    ("Device", "sources"): ("", "figure path -> citation", "`peak.bf16`, `memory.hbm`, `power.tdp_w`, ..."),
    ("Device", "notes"): ("", "text", "free-form remarks"),
    ("Device", "training_note"): ("", "text", "remarks that apply to training estimates"),
    ("Device", "default_weights"): (
        "",
        "a precision or none",
        "weight format of the vendor's own serving, the default when neither user nor checkpoint names one",
    ),
    ("MemoryLevel", "name"): ("", "unique within the device", "e.g. `sram`, `hbm`, `memoryx`"),
    ("MemoryLevel", "kind"): ("", "one of the memory kinds below", "technology class"),
    ("MemoryLevel", "capacity_bytes"): ("bytes", "> 0", "capacity per device"),
    ("MemoryLevel", "bytes_per_s"): ("bytes/s", "> 0", "vendor peak bandwidth per device"),
    ("MemoryLevel", "efficiency"): ("fraction", "(0, 1]", "achievable share of `bytes_per_s` for streaming reads"),
    ("MemoryLevel", "latency_s"): ("s", ">= 0 or none", "access latency"),
    ("MemoryLevel", "joules_per_byte"): ("J/byte", ">= 0", "energy to move one byte"),
    ("MemoryLevel", "holds_weights"): ("", "true/false", "may a placement keep weights or KV cache here"),
    ("Interconnect", "scale_up"): ("", "a `Link` or none", "fabric inside a node, rack or pod"),
    ("Interconnect", "scale_out"): ("", "a `Link` or none", "network between scale-up domains"),
    ("Link", "technology"): ("", "text", "e.g. NVLink 4, ICI, RoCE"),
    ("Link", "bytes_per_s"): ("bytes/s per direction", "> 0", "per device; halve bidirectional totals"),
    ("Link", "topology"): ("", "one of the topologies below", "how the domain is wired"),
    ("Link", "domain_size"): ("devices", "integer >= 1", "most devices one such fabric joins"),
    ("Link", "latency_s"): ("s", ">= 0", "per-hop (per collective step) latency"),
    ("Link", "efficiency"): ("fraction", "(0, 1]", "achievable share for large collectives"),
    ("Link", "joules_per_byte"): ("J/byte", ">= 0", "energy to move one byte"),
    ("Link", "library_latency_s"): ("s", ">= 0", "fixed cost of one all-reduce in NCCL/RCCL (fitted)"),
    ("Link", "custom_max_bytes"): ("bytes", ">= 0", "largest message of engines' own all-reduce kernels (0: none)"),
    ("Precision", "name"): ("", "the precision vocabulary below", "numeric format"),
    ("Power", "tdp_w"): ("W", "> 0", "board power ceiling"),
    ("Power", "idle_w"): ("W", ">= 0 and < `tdp_w`", "static draw while powered"),
    ("Power", "host_w"): ("W", ">= 0", "the device's share of host, NICs, switches, fans"),
    ("Price", "usd_per_device_hour"): ("$/h", "> 0 or none", "cloud rate per device-hour"),
    ("Price", "capex_usd"): ("$", "> 0 or none", "purchase price per device"),
    ("Price", "provider"): ("", "text", "who quotes the price"),
    ("Price", "date"): ("", "text, e.g. `2026-01`", "when it was quoted"),
    ("Price", "per_token"): ("", "`TokenPrice` entries", "published per-token prices"),
    ("TokenPrice", "model"): ("", "a model id", "the model the price is for"),
    ("TokenPrice", "usd_per_mtok_input"): ("$/Mtok", ">= 0", "price per million input tokens"),
    ("TokenPrice", "usd_per_mtok_output"): ("$/Mtok", "> 0", "price per million output tokens"),
    ("TokenPrice", "source"): ("", "non-empty", "where the price was published"),
    ("TokenPrice", "date"): ("", "text", "when"),
    ("System", "id"): ("", "lower-case `prefix:system`", "backend id"),
    ("System", "name"): ("", "text", "product name"),
    ("System", "device"): ("", "a `Device`", "the device it is built from"),
    ("System", "device_count"): ("devices", "integer >= 1", "devices an estimate uses by default"),
    ("System", "description"): ("", "text", "how the devices compose"),
    ("System", "sources"): ("", "figure path -> citation", "must cite `device_count`"),
    ("Efficiency", "gemm_max_default"): ("fraction", "(0, 1]", "matrix-product efficiency ceiling"),
    ("Efficiency", "gemm_max"): ("fraction", "(0, 1] each; precision keys", "ceiling per precision"),
    ("Efficiency", "gemm_half_rows"): ("rows", ">= 0", "rows at which a GEMM reaches half its ceiling"),
    ("Efficiency", "vector_fraction"): ("fraction", "(0, 1]", "element-wise rate as a share of the fp32 peak"),
    ("Efficiency", "overhead_s"): ("s", ">= 0", "launch / sync cost per operator"),
    ("Efficiency", "attention_memory_fraction"): ("fraction", "(0, 1]", "KV-cache read share of achievable bandwidth"),
    ("Efficiency", "memory_reserve_fraction"): ("fraction", "[0, 0.9]", "memory kept free for the runtime"),
    ("Efficiency", "gemm_sustained"): (
        "fraction",
        "(0, 1] each; precision keys",
        "GEMM fraction under sustained load (training); falls back to gemm_max",
    ),
    ("Efficiency", "gemm_epilogue_bytes"): (
        "bytes",
        "[0, 16]",
        "bytes per output element a GEMM stores after its K loop, not overlapped with it; 0: no K term",
    ),
    ("Efficiency", "gemm_k_ref"): ("elements", "> 0", "shortest K of the GEMMs gemm_max was measured on"),
}

CLASSES = ("Device", "MemoryLevel", "Interconnect", "Link", "Precision", "Power", "Price", "TokenPrice", "System")
CLASSES += ("Efficiency",)


def _type(field: attrs.Attribute) -> str:
    return str(field.type).replace("tokenfab.hardware.protocol.", "").replace("|", "or")


def _default(field: attrs.Attribute) -> str:
    if field.default is attrs.NOTHING:
        return "required"
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return f"`{field.default.factory.__name__}()`"
    return f"`{field.default!r}`"


def documented_fields() -> set[tuple[str, str]]:
    """(class, field) of every attrs field of the documented classes."""
    from ..hardware import protocol

    return {(name, f.name) for name in CLASSES for f in attrs.fields(getattr(protocol, name))}


def _class_section(name: str) -> list[str]:
    from ..hardware import protocol

    cls = getattr(protocol, name)
    lines = [f"## {name}", "", inspect.cleandoc(cls.__doc__ or ""), ""]
    lines += ["| field | type | default | unit | allowed | meaning |", "|---|---|---|---|---|---|"]
    for field in attrs.fields(cls):
        unit, allowed, meaning = FIELDS[(name, field.name)]
        lines.append(f"| `{field.name}` | {_type(field)} | {_default(field)} | {unit} | {allowed} | {meaning} |")
    return lines + [""]


def _vocabulary() -> list[str]:
    from ..hardware.protocol import MEMORY_KINDS, PRECISION_BITS, TOPOLOGIES

    bits = ", ".join(f"`{name}` ({bits:g})" for name, bits in PRECISION_BITS.items())
    return [
        "## Vocabularies",
        "",
        f"- Precisions (bits per element, block scales included): {bits}.",
        f"- Memory kinds: {', '.join(f'`{k}`' for k in MEMORY_KINDS)}.",
        f"- Link topologies: {', '.join(f'`{t}`' for t in TOPOLOGIES)}.",
        '- Quantities may be strings with a unit: `"80 GB"`, `"3.35 TB/s"`, `"989 TFLOPS"`, `"400 Gb/s"`'
        ' (bits, divided by 8), `"5 us"`; decimal prefixes are powers of 1000, `Ki`/`Mi`/`Gi` of 1024.',
        "",
    ]


def _toml_section() -> list[str]:
    from ..hardware.declarative import _DEVICE_KEYS, DATA_GROUP, PATH_VARIABLE

    return [
        "## TOML format",
        "",
        "A declarative pack ships `*.toml` files in a package named under the "
        f"`{DATA_GROUP}` entry-point group (and lists `*.toml` as package data), or a user points "
        f"`{PATH_VARIABLE}` at folders of them. Each file holds one or more `[[device]]` tables with "
        "the `Device` fields above; nested classes are tables of their fields:",
        "",
        f"- keys of `[[device]]`: {', '.join(f'`{k}`' for k in sorted(_DEVICE_KEYS))} (any other key is an error);",
        "- `[[device.memory]]`: one table per `MemoryLevel`, innermost first;",
        "- `[device.interconnect.scale_up]`, `[device.interconnect.scale_out]`: `Link` fields;",
        "- `power`, `price`, `efficiency`, `sources`: inline tables or `[device.power]`-style tables.",
        "",
        "`tokenfab new-pack NAME --toml` writes a complete, sourced example.",
        "",
    ]


def _metrics_section() -> list[str]:
    from .metrics import METRICS, PRICE_BASES

    lines = ["## Metrics", "", "What every result column means (the same text is in `tokenfab estimate --help`).", ""]
    lines += ["| key | header | unit | definition |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {header} | {unit or '-'} | {text} |" for key, (header, unit, text) in METRICS.items()]
    return lines + ["", PRICE_BASES[0].upper() + PRICE_BASES[1:] + ".", ""]


def render_reference() -> str:
    lines = [
        "# Field reference: the backend protocol, its TOML format, and the metrics",
        "",
        "Generated by `python -m tokenfab.io.reference > docs/reference.md` from the attrs classes in",
        "`core/hardware/protocol.py`; a test holds this file equal to the generator's output. Units are SI",
        "(bytes, bytes/s, FLOP/s, seconds, watts, US dollars).",
        "",
    ]
    for name in CLASSES:
        lines += _class_section(name)
    lines += _vocabulary() + _toml_section() + _metrics_section()
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_reference())
