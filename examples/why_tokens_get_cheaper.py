"""Why do tokens get cheaper? Check the claims from the model, not from a slide.

    python examples/why_tokens_get_cheaper.py

Four claims, each computed by tokenfab from first principles (FLOPs, bytes, links, watts):

1. Sparse MoE: a mixture-of-experts model costs like its *active* parameters, not its total.
2. Low precision: FP8 and INT4 weights cut decode time roughly by the bytes they save.
3. Speculative decoding: a small draft model gives 2-3x faster decoding per user.
4. Dedicated hardware: SRAM machines are ~10x faster per user, at a different price per token.

The output of this script is in docs/examples.md; tests/test_examples.py holds its claims.
"""

from __future__ import annotations

import attrs
import tokenfab
from tokenfab.economics import Economics
from tokenfab.serving import Speculative


def moe_vs_dense() -> dict:
    """Mixtral-8x7B (46.7B total, 12.9B active) against a dense model of the same 46.7B parameters
    (Mixtral's shapes with one MLP as wide as its eight experts), on 2 x H100."""
    moe = tokenfab.load_model("mixtral-8x7b")
    dense = attrs.evolve(
        moe,
        id="dense-46.7b",
        num_experts=0,
        experts_per_token=0,
        moe_intermediate_size=0,
        intermediate_size=8 * moe.intermediate_size,
    )
    out = {"moe_params": moe.params, "dense_params": dense.params, "moe_active": moe.active_params}
    for batch in (1, 64):
        a = tokenfab.estimate(moe, "nvidia:h100-sxm", devices=2, batch=batch, input_tokens=1000, output_tokens=500)
        b = tokenfab.estimate(dense, "nvidia:h100-sxm", devices=2, batch=batch, input_tokens=1000, output_tokens=500)
        out[f"tpot_speedup_b{batch}"] = b.tpot_s / a.tpot_s
        out[f"usd_ratio_b{batch}"] = b.usd_per_mtok / a.usd_per_mtok
    v3 = tokenfab.load_model("deepseek-v3")
    out["deepseek_v3_total_over_active"] = v3.params / v3.active_params
    step = tokenfab.prefill(v3, "nvidia:h200", tokens=1000, devices=8, weights="fp8")
    out["deepseek_v3_flops_per_token"] = step.flops / 1000
    return out


def precision() -> dict:
    """Llama-3.1-70B on 4 x H100: BF16, FP8 and INT4 (weight-only, BF16 math) weights."""
    out = {}
    for weights in ("bf16", "fp8", "int4"):
        one = tokenfab.estimate(
            "llama-3.1-70b",
            "nvidia:h100-sxm",
            devices=4,
            weights=weights,
            batch=1,
            input_tokens=1000,
            output_tokens=500,
        )
        busy = tokenfab.estimate(
            "llama-3.1-70b",
            "nvidia:h100-sxm",
            devices=4,
            weights=weights,
            batch=64,
            input_tokens=1000,
            output_tokens=500,
        )
        out[weights] = {"tpot_b1": one.tpot_s, "usd_per_mtok_b64": busy.usd_per_mtok}
    for weights in ("fp8", "int4"):
        out[f"{weights}_speedup_b1"] = out["bf16"]["tpot_b1"] / out[weights]["tpot_b1"]
        out[f"{weights}_usd_ratio_b64"] = out["bf16"]["usd_per_mtok_b64"] / out[weights]["usd_per_mtok_b64"]
    return out


def speculative() -> dict:
    """Llama-3.1-70B on 8 x H100 with Llama-3.2-1B drafting 4 tokens per cycle."""
    base = tokenfab.estimate("llama-3.1-70b", "nvidia:h100-sxm", devices=8, input_tokens=1000, output_tokens=500)
    out = {"tpot_base": base.tpot_s}
    for acceptance in (0.6, 0.7, 0.8):
        spec = Speculative(draft="llama-3.2-1b", tokens=4, acceptance=acceptance)
        est = tokenfab.estimate(
            "llama-3.1-70b", "nvidia:h100-sxm", devices=8, input_tokens=1000, output_tokens=500, speculative=spec
        )
        out[f"speedup_a{acceptance}"] = base.tpot_s / est.tpot_s
    return out


def dedicated_hardware() -> dict:
    """Llama-3.1-70B, one user: 8 x H100 against Groq LPUs and Cerebras wafers (each with the
    chip count its pack picks), then the price of a token with the GPUs busy (batch 64)."""
    gpu = tokenfab.estimate(
        "llama-3.1-70b", "nvidia:h100-sxm", devices=8, weights="fp8", input_tokens=1000, output_tokens=500
    )
    out = {"h100_tok_s_user": gpu.tokens_per_s_per_user}
    groq = tokenfab.estimate("llama-3.1-70b", "groq:lpu", weights="int8", input_tokens=1000, output_tokens=500)
    wse = tokenfab.estimate(
        "llama-3.1-70b",
        "cerebras:wse-3",
        input_tokens=1000,
        output_tokens=500,
        economics=Economics(capex_usd=2_500_000),
    )
    out.update(
        groq_tok_s_user=groq.tokens_per_s_per_user,
        groq_chips=groq.devices,
        cerebras_tok_s_user=wse.tokens_per_s_per_user,
        cerebras_wafers=wse.devices,
        groq_speedup=groq.tokens_per_s_per_user / gpu.tokens_per_s_per_user,
        cerebras_speedup=wse.tokens_per_s_per_user / gpu.tokens_per_s_per_user,
        groq_usd_per_mtok_b1=groq.usd_per_mtok,
        cerebras_usd_per_mtok_b1=wse.usd_per_mtok,
        h100_usd_per_mtok_b1=gpu.usd_per_mtok,
    )
    busy = tokenfab.estimate(
        "llama-3.1-70b", "nvidia:h100-sxm", devices=8, weights="fp8", batch=64, input_tokens=1000, output_tokens=500
    )
    out["h100_usd_per_mtok_b64"] = busy.usd_per_mtok
    out["h100_tok_s_user_b64"] = busy.tokens_per_s_per_user
    out["groq_speedup_vs_busy_gpu"] = groq.tokens_per_s_per_user / busy.tokens_per_s_per_user
    out["cerebras_speedup_vs_busy_gpu"] = wse.tokens_per_s_per_user / busy.tokens_per_s_per_user
    return out


def main() -> None:
    moe = moe_vs_dense()
    print("1. Sparse MoE (Mixtral-8x7B vs a dense model of equal total parameters, 2 x H100, bf16)")
    print(
        f"   parameters: {moe['moe_params'] / 1e9:.1f}B total each; "
        f"Mixtral uses {moe['moe_active'] / 1e9:.1f}B per token"
    )
    print(
        f"   time per output token, batch 1: MoE {moe['tpot_speedup_b1']:.2f}x faster; "
        f"batch 64: {moe['tpot_speedup_b64']:.2f}x faster"
    )
    print(
        f"   $ per M tokens, batch 1: {moe['usd_ratio_b1']:.2f}x cheaper; batch 64: {moe['usd_ratio_b64']:.2f}x cheaper"
    )
    print(
        f"   DeepSeek-V3: {moe['deepseek_v3_total_over_active']:.1f}x more parameters than it activates; "
        f"prefill costs {moe['deepseek_v3_flops_per_token'] / 1e9:.0f} GFLOP per token on each of 8 GPUs"
    )
    prec = precision()
    print("2. Precision (Llama-3.1-70B, 4 x H100)")
    for w in ("bf16", "fp8", "int4"):
        print(
            f"   {w:5s} TPOT batch 1 {prec[w]['tpot_b1'] * 1e3:6.1f} ms   $/M tokens at batch 64 "
            f"{prec[w]['usd_per_mtok_b64']:.3f}"
        )
    print(
        f"   FP8: {prec['fp8_speedup_b1']:.2f}x faster per user, {prec['fp8_usd_ratio_b64']:.2f}x cheaper; "
        f"INT4: {prec['int4_speedup_b1']:.2f}x faster, {prec['int4_usd_ratio_b64']:.2f}x cheaper"
    )
    spec = speculative()
    print("3. Speculative decoding (Llama-3.1-70B on 8 x H100, Llama-3.2-1B drafts 4 tokens)")
    print(
        f"   baseline TPOT {spec['tpot_base'] * 1e3:.1f} ms; speed-up at acceptance 0.6 / 0.7 / 0.8: "
        f"{spec['speedup_a0.6']:.2f}x / {spec['speedup_a0.7']:.2f}x / {spec['speedup_a0.8']:.2f}x"
    )
    hw = dedicated_hardware()
    print("4. Dedicated hardware (Llama-3.1-70B, one user)")
    print(
        f"   8 x H100 fp8: {hw['h100_tok_s_user']:.0f} tok/s; Groq int8 on {hw['groq_chips']} LPUs: "
        f"{hw['groq_tok_s_user']:.0f} tok/s ({hw['groq_speedup']:.1f}x); Cerebras on {hw['cerebras_wafers']} "
        f"WSE-3: {hw['cerebras_tok_s_user']:.0f} tok/s ({hw['cerebras_speedup']:.1f}x)"
    )
    print(
        f"   $ per M tokens for that one user: H100 {hw['h100_usd_per_mtok_b1']:.1f}, "
        f"Groq {hw['groq_usd_per_mtok_b1']:.1f} "
        f"(capex), Cerebras {hw['cerebras_usd_per_mtok_b1']:.1f} (at an assumed $2.5M per system); "
        f"H100 serving 64 users: {hw['h100_usd_per_mtok_b64']:.2f}"
    )
    print(
        f"   an H100 node serving 64 users gives each {hw['h100_tok_s_user_b64']:.0f} tok/s: Groq is "
        f"{hw['groq_speedup_vs_busy_gpu']:.1f}x and Cerebras {hw['cerebras_speedup_vs_busy_gpu']:.1f}x faster per user "
        f"than that"
    )


if __name__ == "__main__":
    main()
