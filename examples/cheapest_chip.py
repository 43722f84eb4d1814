"""Which chip serves Llama-3.3-70B cheapest at 50 and at 500 tokens/s per user?

Run: python examples/cheapest_chip.py  (every installed backend; a few seconds)
"""

import tokenfab
from tokenfab.planning import SLO

MODEL, WORKLOAD = "llama-3.3-70b", {"input_tokens": 1000, "output_tokens": 500}


def describe(row):
    return (
        f"{row.backend} x{row.devices} ({row.weights}, batch {row.batch}): ${row.usd_per_mtok:.3g}/Mtok output "
        f"(${row.usd_per_mtok_in_out:.3g} input+output, {row.price_basis} price), "
        f"{row.tokens_per_s_per_user:.0f} tok/s/user, TTFT {row.ttft_s * 1e3:.0f} ms"
    )


for speed in (50, 500):
    result = tokenfab.plan(MODEL, WORKLOAD, slo=SLO.from_options(ttft="2s", tokens_per_s_per_user=speed))
    priced = [row for row in result.rows if row.usd_per_mtok is not None]
    unpriced = sorted({row.backend for row in result.rows if row.usd_per_mtok is None})
    print(f"{MODEL} at >= {speed} tokens/s per user, TTFT <= 2 s:")
    if not result.rows:
        print("  verdict: no chip can: " + "; ".join(result.diagnosis))
        continue
    for row in priced[:3]:
        print("  " + describe(row))
    if unpriced:
        print(f"  also meet it, without a sourced price: {', '.join(unpriced)}")
    if priced:
        best = priced[0]
        runner = next((r for r in priced if r.backend.split(":")[0] != best.backend.split(":")[0]), None)
        gap = f", {runner.usd_per_mtok / best.usd_per_mtok:.2f}x cheaper than {runner.backend}" if runner else ""
        cloud = next((r for r in priced if r.price_basis == "cloud"), None)
        also = (
            f"; at a cloud on-demand price the cheapest is {cloud.backend} (${cloud.usd_per_mtok:.3g})"
            if cloud is not None and cloud is not best
            else ""
        )
        print(
            f"  verdict: {best.backend} is cheapest at ${best.usd_per_mtok:.3g} per million output tokens "
            f"({best.price_basis}){gap}{also}"
        )
    else:
        print(f"  verdict: only unpriced backends reach it ({', '.join(unpriced)})")
