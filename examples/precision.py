"""FP8 and INT4 weights against BF16: cost and speed of Llama-3.3-70B at 50 tokens/s per user.

Run: python examples/precision.py
"""

import tokenfab
from tokenfab.planning import SLO

WORKLOAD = {"input_tokens": 1000, "output_tokens": 500}
SLO_50 = SLO.from_options(ttft="2s", tokens_per_s_per_user=50)

for backend in ("nvidia:h100-sxm", "nvidia:b200", "amd:mi300x"):
    rows = {}
    for precision in ("bf16", "fp8", "int4"):
        result = tokenfab.plan("llama-3.3-70b", WORKLOAD, slo=SLO_50, backends=backend, precisions=precision)
        rows[precision] = result.best
    cells = [f"{p} ${r.usd_per_mtok:.3g}/Mtok x{r.devices} batch {r.batch}" if r else f"{p} -" for p, r in rows.items()]
    print(f"{backend}: " + "; ".join(cells))
    bf16 = rows["bf16"]
    gains = [
        f"{p.upper()} {bf16.usd_per_mtok / rows[p].usd_per_mtok:.2f}x cheaper"
        for p in ("fp8", "int4")
        if rows[p] is not None and bf16 is not None
    ]
    fast = {  # the fastest per-user deployment at each precision (any device count, batch 1)
        p: tokenfab.plan("llama-3.3-70b", WORKLOAD, slo=SLO(), backends=backend, precisions=p, objective="latency").best
        for p in rows
    }
    speed = ", ".join(
        f"{p} {fast[p].tokens_per_s_per_user / fast['bf16'].tokens_per_s_per_user:.2f}x" for p in ("fp8", "int4")
    )
    print(f"  verdict: than BF16 at 50 tok/s/user, {'; '.join(gains)}; the fastest single user is faster by {speed}")
