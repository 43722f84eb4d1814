"""Definitions of every metric tokenfab prints, shown by ``--help`` and in docs/reference.md.

One place, so the help text, the table headers and the docs agree.
"""

from __future__ import annotations

#: key -> (short header, unit for :func:`tokenfab.io.format.format_value`, definition)
METRICS: dict[str, tuple[str, str, str]] = {
    "ttft_s": (
        "TTFT",
        "s",
        "time to first token: the prefill of one prompt (chunks ride decode steps by default)",
    ),
    "tpot_s": ("TPOT", "s", "time per output token of one sequence in steady state, prefill interference included"),
    "e2e_latency_s": ("e2e", "s", "end-to-end latency of one request: TTFT + (output - 1) x TPOT"),
    "tokens_per_s": ("tok/s", "", "output tokens per second of all devices together (input tokens not counted)"),
    "tokens_per_s_per_user": ("tok/s/user", "", "output tokens per second one sequence sees: 1 / TPOT"),
    "tokens_per_s_per_device": ("tok/s/dev", "", "tok/s divided by the devices used"),
    "memory_per_device_bytes": ("mem/dev", "B", "bytes each device holds: weights, KV cache and step workspace"),
    "joules_per_token": (
        "J/tok",
        "J",
        "energy per output token, prefill included, all devices plus their host/NIC/switch share (no PUE)",
    ),
    "usd_per_mtok": (
        "$/Mtok",
        "$",
        "dollars per million OUTPUT tokens: the device-hours of every device used, divided by output "
        "tokens only (prompt processing is paid for, but prompt tokens are not in the denominator)",
    ),
    "usd_per_mtok_in_out": (
        "$/Mtok i+o",
        "$",
        "dollars per million tokens counting input and output tokens alike: $/Mtok x output / (input + output)",
    ),
}

PRICE_BASES = (
    "price basis: 'cloud' = the pack's sourced on-demand $/device-hour (provider and date given; power included); "
    "'capex-estimate' = purchase price per device (system share included) amortised over 4 years of continuous "
    "use plus electricity (J/token x PUE x $/kWh), an estimate; 'override' = --usd-per-device-hour; 'none' = no "
    "price. 'list $/Mtok' (basis list-price-per-token) is the vendor's public token price for the same requests, "
    "shown beside the modelled cost, never in it. J/tok includes host CPUs, NICs and switches (Power.host_w)"
)


def metrics_help() -> str:
    """The ``metrics:`` epilog of ``tokenfab estimate`` and ``compare``."""
    import textwrap

    lines = ["metrics:"]
    for header, _, definition in METRICS.values():
        lines += textwrap.wrap(definition, 78, initial_indent=f"  {header:<11} ", subsequent_indent=" " * 14)
    lines += textwrap.wrap(PRICE_BASES, 78, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)
