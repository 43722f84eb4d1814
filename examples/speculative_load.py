"""Speculative decoding at low and at high load: Llama-3.3-70B on 8 x H100, Llama-3.2-1B drafting 4 tokens.

Run: python examples/speculative_load.py
"""

import tokenfab
from tokenfab.serving import Speculative

COMMON = dict(input_tokens=1000, output_tokens=500, devices=8, weights="fp8")
SPEC = Speculative(draft="llama-3.2-1b", tokens=4, acceptance=0.75)

for batch in (1, 8, 64, 256):
    plain = tokenfab.estimate("llama-3.3-70b", "nvidia:h100-sxm", batch=batch, **COMMON)
    spec = tokenfab.estimate("llama-3.3-70b", "nvidia:h100-sxm", batch=batch, speculative=SPEC, **COMMON)
    speedup = plain.tpot_s / spec.tpot_s
    print(
        f"batch {batch:>3}: {plain.tokens_per_s_per_user:6.0f} -> {spec.tokens_per_s_per_user:6.0f} tok/s/user "
        f"({speedup:.2f}x); ${plain.usd_per_mtok:.3g} -> ${spec.usd_per_mtok:.3g} per Mtok output"
    )
    if batch == 1:
        low = speedup
    high = speedup
verdict = "still pays" if high > 1 else "costs throughput"
print(
    f"verdict: at low load speculative decoding makes each user {low:.2f}x faster; at batch 256 the gain falls to "
    f"{high:.2f}x (verifying 5 tokens for each of 256 sequences costs nearly what decoding them does), so it {verdict}"
)
# The planner weighs it: the cheapest H100 deployment at 100 tok/s per user, with and without the draft.
slo = tokenfab.SLO.from_options(ttft="2s", tokens_per_s_per_user=100)
workload = {"input_tokens": 1000, "output_tokens": 500, "speculative": SPEC}
rows = tokenfab.plan("llama-3.3-70b", workload, slo=slo, backends="nvidia:h100-sxm", precisions="fp8").rows
for row in rows:
    kind = "with the draft" if row.speculative else "without"
    print(
        f"planner at >= 100 tok/s/user, {kind}: ${row.usd_per_mtok:.3g}/Mtok, {row.devices} devices, batch {row.batch}"
    )
