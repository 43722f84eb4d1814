""" "SRAM chips give up to 10x lower latency": how much faster per user, and at what cost per token?

Groq LPUs and Cerebras wafers keep the weights in on-chip SRAM. Run: python examples/sram_latency.py
"""

import tokenfab
from tokenfab.planning import SLO

MODEL, WORKLOAD = "llama-3.3-70b", {"input_tokens": 1000, "output_tokens": 500}
GPUS, SRAM = "nvidia:h100-sxm,nvidia:h200,nvidia:b200", "groq:lpu,cerebras:wse-3"
SLO_50 = SLO.from_options(ttft="2s", tokens_per_s_per_user=50)

gpu_fast = tokenfab.plan(MODEL, WORKLOAD, slo=SLO(), backends=GPUS, objective="latency").best
gpu_cheap = tokenfab.plan(MODEL, WORKLOAD, slo=SLO_50, backends=GPUS).best
print(
    f"GPUs: fastest per user {gpu_fast.tokens_per_s_per_user:.0f} tok/s ({gpu_fast.backend} x{gpu_fast.devices}, "
    f"batch 1, ${gpu_fast.usd_per_mtok:.3g}/Mtok); a shared GPU at 50 tok/s/user costs "
    f"${gpu_cheap.usd_per_mtok:.3g}/Mtok ({gpu_cheap.backend} x{gpu_cheap.devices}, batch {gpu_cheap.batch})"
)
results = {}
for backend in SRAM.split(","):
    fast = tokenfab.plan(MODEL, WORKLOAD, slo=SLO(), backends=backend, objective="latency").best
    # the cheapest way this machine keeps at least the fastest GPU's speed per user
    floor = SLO.from_options(tokens_per_s_per_user=gpu_fast.tokens_per_s_per_user)
    same = tokenfab.plan(MODEL, WORKLOAD, slo=floor, backends=backend).best
    results[backend] = (fast, same)
    cost = "no sourced price" if same.usd_per_mtok is None else f"${same.usd_per_mtok:.3g}/Mtok ({same.price_basis})"
    print(
        f"{backend}: {fast.tokens_per_s_per_user:.0f} tok/s/user on {fast.devices} chips = "
        f"{fast.tokens_per_s_per_user / gpu_fast.tokens_per_s_per_user:.1f}x the fastest GPU and "
        f"{fast.tokens_per_s_per_user / 50:.0f}x a shared GPU at 50 tok/s/user; at the GPU's top speed it serves "
        f"batch {same.batch} for {cost}"
    )
name, (fast, same) = max(results.items(), key=lambda item: item[1][0].tokens_per_s_per_user)
price = "no sourced price" if same.usd_per_mtok is None else f"${same.usd_per_mtok:.3g} per Mtok"
print(
    f"verdict: {name} is {fast.tokens_per_s_per_user / gpu_fast.tokens_per_s_per_user:.1f}x faster per user than "
    f"the fastest GPU deployment ('10x' holds only against a GPU shared at 50 tok/s/user: "
    f"{fast.tokens_per_s_per_user / 50:.0f}x); at the GPU's top speed it costs {price} against the GPU's "
    f"${gpu_fast.usd_per_mtok:.3g} (batch 1) and ${gpu_cheap.usd_per_mtok:.3g} for a shared GPU at 50 tok/s/user"
)
