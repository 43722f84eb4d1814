"""What did DeepSeek-V3 cost to train, and what would the same run cost elsewhere?

    python examples/deepseek_v3_training_cost.py

DeepSeek-V3 (arXiv 2412.19437): 14.8T tokens of pre-training on 2,048 H800s in FP8 mixed
precision, 16-way pipeline parallelism with DualPipe, 64-way expert parallelism over 8 nodes,
ZeRO-1 data parallelism, sequences of 4,096 tokens, a batch of 15,360 sequences, node-limited
routing (at most 4 nodes per token), Adam moments in bf16. The report gives 2.664M H800-hours
for pre-training (2.788M with context extension and post-training) at $2 per GPU-hour.

Nothing here is fitted to that figure: the architecture, the token count and the mapping go
in, the device data and the modelling rules of docs/modelling.md do the rest. The same recipe
and mapping then run on H100, B200, TPU v5p and Trainium2 (2,048 devices each).
"""

from __future__ import annotations

import attrs
import tokenfab
from tokenfab.errors import TokenfabError

REPORTED_PRETRAINING_H800_HOURS = 2.664e6  # DeepSeek-V3 report, table 1
REPORTED_EXTENSION_H800_HOURS = 0.119e6  # context extension to 32k then 128k
REPORTED_TOTAL_H800_HOURS = 2.788e6  # with 5K hours of post-training, not modelled here

RECIPE = tokenfab.TrainingRecipe(
    seq_len=4096,
    global_batch=15360,
    micro_batch=1,
    tokens=14.8e12,
    precision="fp8",
    recompute="selective",
    optimizer_bytes=8,
    moe_max_nodes=4,
    # unfused element-wise and quantisation passes: "activations during the forward pass are quantized into
    # 1x128 FP8 tiles and stored. During the backward pass, the matrix needs to be read out, dequantized,
    # transposed, re-quantized into 128x1 tiles, and stored in HBM" (report, section 3.5.2)
    kernels="eager",
)
# The report puts the embedding and the output head (with the MTP module) on one rank but gives no split;
# Megatron-Bridge's PP16 layout for DeepSeek-V3: embedding + 4 layers, 14 stages of 4, 1 layer + MTP + loss.
MAPPING = tokenfab.TrainingMapping(
    tp=1, pp=16, dp=128, ep=64, zero=1, schedule="dualpipe", first_stage_layers=4, last_stage_layers=2
)
BACKENDS = ("nvidia:h800-sxm", "nvidia:h100-sxm", "nvidia:b200", "tpu:v5p", "trainium:trn2")


# Context extension (report, section 4.3): 1,000 steps of 1,920 sequences of 32k tokens, then 1,000
# steps of 480 sequences of 128k. The report gives no mapping for them: the paper's mapping with the
# smallest context-parallel split that fits (8 and 32).
def _extension_stage(seq_len: int, global_batch: int, cp: int, dp: int):
    """One context-extension stage: 1,000 fp8 steps with the paper's optimizer and dispatch limits."""
    recipe = tokenfab.TrainingRecipe(
        seq_len=seq_len,
        global_batch=global_batch,
        steps=1000,
        precision="fp8",
        optimizer_bytes=8,
        moe_max_nodes=4,
        kernels="eager",
    )
    return recipe, attrs.evolve(MAPPING, cp=cp, dp=dp)


EXTENSION = (_extension_stage(32768, 1920, cp=8, dp=16), _extension_stage(131072, 480, cp=32, dp=4))


def extension_hours() -> float:
    """H800-hours of the two context-extension stages on the H800 cluster."""
    return sum(
        tokenfab.train("deepseek-v3", "nvidia:h800-sxm", recipe, mapping=mapping).device_hours
        for recipe, mapping in EXTENSION
    )


def run() -> dict[str, dict]:
    """One row per backend: device-hours, days, $, MWh, MFU (or the reason it cannot run)."""
    rows = {}
    for backend in BACKENDS:
        try:
            est = tokenfab.train("deepseek-v3", backend, RECIPE, mapping=MAPPING)
        except TokenfabError as exc:
            rows[backend] = {"error": str(exc)}
            continue
        rows[backend] = {
            "device_hours": est.device_hours,
            "days": est.days,
            "usd": est.usd,
            "price_basis": est.price_basis,
            "usd_per_device_hour": est.usd_per_device_hour,
            "energy_mwh": est.energy_mwh,
            "mfu": est.mfu,
            "tokens_per_s_per_device": est.tokens_per_s_per_device,
            "step_s": est.step_s,
            "breakdown_s": est.step.breakdown,
        }
    return rows


def main() -> None:
    rows = run()
    pre = rows["nvidia:h800-sxm"]["device_hours"]
    ext = extension_hours()
    print("DeepSeek-V3 on 2,048 H800 (paper's mapping, fp8, DualPipe), tokenfab vs the report:")
    print(
        f"  pre-training, 14.8T tokens  {pre / 1e6:.3f}M H800-hours vs {REPORTED_PRETRAINING_H800_HOURS / 1e6:.3f}M "
        f"({pre / REPORTED_PRETRAINING_H800_HOURS - 1:+.0%})"
    )
    print(
        f"  context extension 32k, 128k {ext / 1e6:.3f}M vs {REPORTED_EXTENSION_H800_HOURS / 1e6:.3f}M "
        f"({ext / REPORTED_EXTENSION_H800_HOURS - 1:+.0%})"
    )
    print(
        f"  both (post-training, 5K hours, not modelled) {(pre + ext) / 1e6:.3f}M vs "
        f"{REPORTED_TOTAL_H800_HOURS / 1e6:.3f}M ({(pre + ext) / REPORTED_TOTAL_H800_HOURS - 1:+.0%}); "
        f"at $2/h ${(pre + ext) * 2 / 1e6:.2f}M vs the reported $5.576M"
    )
    print("The same pre-training run elsewhere (2,048 devices, same recipe and mapping):")
    print(f"{'backend':18s} {'M dev-h':>8s} {'days':>6s} {'$M':>7s} {'MWh':>7s} {'MFU':>6s}")
    for backend, row in rows.items():
        if "error" in row:
            print(f"{backend:18s} cannot run: {row['error']}")
            continue
        usd = "n/a" if row["usd"] is None else f"{row['usd'] / 1e6:.2f}"
        print(
            f"{backend:18s} {row['device_hours'] / 1e6:8.3f} {row['days']:6.1f} {usd:>7s} "
            f"{row['energy_mwh']:7.0f} {row['mfu']:6.1%}"
        )


if __name__ == "__main__":
    main()
