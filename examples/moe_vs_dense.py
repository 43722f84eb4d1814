"""DeepSeek-V3 (MoE, 37B of 671B parameters active) against a dense 70B: cost, speed, devices.

Run: python examples/moe_vs_dense.py
"""

import tokenfab
from tokenfab.planning import SLO

WORKLOAD = {"input_tokens": 1000, "output_tokens": 500}
BACKENDS = "nvidia:h200,nvidia:b200"
SLO_30 = SLO.from_options(ttft="2s", tokens_per_s_per_user=30)

best = {}
for model in ("deepseek-v3", "llama-3.3-70b"):
    result = tokenfab.plan(model, WORKLOAD, slo=SLO_30, backends=BACKENDS, precisions="fp8")
    fastest = tokenfab.plan(model, WORKLOAD, slo=SLO_30, backends=BACKENDS, precisions="fp8", objective="latency")
    row, quick = result.best, fastest.best
    best[model] = row
    print(
        f"{model}: cheapest at >= 30 tok/s/user is {row.backend} x{row.devices} (tp{row.tp} ep{row.ep}, batch "
        f"{row.batch}): ${row.usd_per_mtok:.3g}/Mtok output, {row.tokens_per_s_per_device:.0f} tok/s/device; "
        f"fastest per user {quick.tokens_per_s_per_user:.0f} tok/s on {quick.devices} devices"
    )
moe, dense = best["deepseek-v3"], best["llama-3.3-70b"]
ratio = moe.usd_per_mtok / dense.usd_per_mtok
word = "cheaper" if ratio < 0.95 else "dearer" if ratio > 1.05 else "about the same"
print(
    f"verdict: per output token DeepSeek-V3 is {word} ({ratio:.2f}x Llama-70B's cost) at the same 30 tok/s/user; "
    f"it computes with 37B parameters per token (about half of 70B) but must hold all 671B, so it needs "
    f"{moe.devices} devices to Llama's {dense.devices} and pays off only at large batch (here {moe.batch} sequences)"
)
