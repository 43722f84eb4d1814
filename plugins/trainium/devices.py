"""AWS Trainium and Inferentia data. Every figure cites its source next to it (keys resolve in
URL below and in shared/reference/hardware.yaml). AWS's one sparse figure for several formats is
ignored; dense figures are used. NeuronLink figures do not state a direction: half is used per
direction (the conservative reading).

AWS publishes no chip power. Board power is *estimated* and flagged: Trn1 and Inferentia2
(NeuronCore-v2, 7 nm era) at A100's 1.28 W per dense BF16 TFLOPS; Trn2 at H100's 0.71 W/TFLOPS;
Trn3 from Trn2 by AWS's "40% better energy efficiency" at 1.94x the FP8 rate.
"""

from __future__ import annotations

import attrs
from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price, System
from tokenfab.sources import cite

T, GB, GiB = 1e12, 1e9, 2.0**30

URL = {
    "neuron_trainium": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trainium.html",
    "neuron_trainium2": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trainium2.html",
    "neuron_trainium3": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trainium3.html",
    "neuron_inferentia2": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/inferentia2.html",
    "neuron_trn1_arch": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trn1-arch.html",
    "neuron_trn2_arch": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trn2-arch.html",
    "neuron_trn3_arch": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trn3-arch.html",
    "neuron_inf2_arch": "https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/inf2-arch.html",
    "aws_trn3_aiwire": "https://buzzbytech.com/?p=9439 (Trainium3: 40% better energy efficiency than Trainium2)",
    "usage_trainium_prices": "https://www.usage.ai/blogs/aws/ai-ml-cost/trainium-vs-gpu-instances/ (trn1.32xlarge $21.50/h)",
    "nv_a100_datasheet": "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    "nv_h100_page": "https://www.nvidia.com/en-us/data-center/h100/",
    "cal:neuron": "calibration.yaml neuron-inf2-llama3-8b-bs1-tpot, neuron-trn1-llama3-70b-bs1-tpot",
    "cal:neuron_prefill": "points.json neuron-trn1-*-ttft-cal-* (AWS Neuron trn1 latency_data_decoder.csv, "
    "Neuron 2.18), least squares in log space, docs/modelling.md 5.5",
    "cal:neuron_training": "points.json neuron-trn1x*-llama2-* (AWS Neuron trn1 training_data_decoder.csv, "
    "Neuron 2.21.0), least squares in log space, docs/modelling.md 9",
    "supercluster_dgx_price": "https://www.supercluster.blog/p/4-nvidia-dgx-h100-hardware (DGX H100 ~$199K; secondary)",
    "assumption": "tokenfab modelling assumption, documented in docs/vendors.md",
}

_OVERHEAD_S = 7e-6  # per operator on NeuronCores: chosen from the two Neuron TPOT points (docs/vendors.md)
# Achieved fraction of the bf16 peak in matrix products on NeuronCore-v2 (Trn1, Inf2), as Transformers NeuronX
# 2.18 reaches it in context encoding (prefill) at TP32: not published, so calibrated. It minimises
# sum(log(predicted TTFT / published TTFT)^2) over the five long-prompt Trn1 rows of AWS's latency table
# (points.json neuron-trn1-*-ttft-cal-*: Llama-3-70B 2048 tokens 547 ms, Llama-3-8B int8 4096 tokens 153 ms,
# Llama-2-70B 1024 tokens 232 and 237 ms, 2048 tokens 691 ms); residuals -21% .. +22%. The 128-token TTFT
# rows stay checks. Before: an unsourced 0.6, which put every Neuron TTFT ~2x short.
# tests/test_neuron_prefill_calibration.py recomputes the fit.
_NEURONCORE_V2_GEMM_MAX = 0.22
# Sustained bf16 matrix fraction of NeuronCore-v2 in training (NeuronX Distributed, TP/PP, selective
# checkpointing): the context-encoding 0.22 above is an inference-compiler figure and predicts AWS's training
# rows 0.55-0.8x. Not published, so calibrated: the least-squares optimum of sum(log(predicted / published)^2)
# of tokens/s per chip over the three Llama 2 rows of AWS's Trn1 training table (Neuron 2.21.0; points.json
# neuron-trn1x*-llama2-*, role calibration): 0.385; residuals -8%, -2%, +11%. The Llama 3.1 8B/70B rows
# (Neuron 2.24.0) stay checks. tests/test_neuron_training_calibration.py recomputes the fit.
_NEURONCORE_V2_TRAIN_GEMM = {"bf16": 0.385, "fp16": 0.385}
_HOP_S = 4e-6  # per collective step on NeuronLink (assumption)

_COMMON = dict(
    memory__hbm__efficiency="assumption: 0.8 (no public Neuron STREAM figure)",
    memory__hbm__joules_per_byte="assumption: 60 pJ/B",
    interconnect__scale_up__latency_s="assumption: 4 us per step",
    efficiency__gemm_max="assumption: 0.6",
    efficiency__gemm_half_rows="assumption: 64 (128x128 tensor engine, half)",
    efficiency__overhead_s="cal:neuron: 7 us per operator, fitted to the Inf2 8B and Trn1 70B batch-1 TPOT points together",
    power__idle_w="assumption: 20% of estimated power",
)
_NEURONCORE_V2 = {
    **_COMMON,
    "efficiency__gemm_max": "cal:neuron_prefill: 0.22 of the bf16 peak, Transformers NeuronX context encoding at "
    "TP32 (Inf2 shares the NeuronCore-v2)",
}


def _parity_price(bf16_tflops: float) -> Price:
    """Capex estimate where no price is public: a DGX H100's ~$199K per 8 GPUs ($24,875 per GPU, host and
    network share included) [supercluster_dgx_price] times this chip's dense BF16 peak / H100's 989.5 TFLOPS.
    Labelled ``capex-estimate``; override with --capex or --usd-per-device-hour."""
    return Price(
        capex_usd=199_000 / 8 * bf16_tflops / 989.5,
        provider="estimate: DGX H100 per GPU x BF16 peak ratio",
        date="2023-2024 anchor",
    )


def _neuron(
    id_,
    name,
    year,
    peaks,
    hbm,
    hbm_bw,
    link_per_dir,
    topology,
    domain,
    efa,
    power_w,
    price,
    sources,
    gemm_max=0.6,
    gemm_sustained=None,
):
    return Device(
        id=id_,
        vendor="AWS",
        name=name,
        year=year,
        peak_flops_per_s=peaks,
        memory=[
            MemoryLevel(
                name="hbm", kind="hbm", capacity_bytes=hbm, bytes_per_s=hbm_bw, efficiency=0.8, joules_per_byte=60e-12
            )
        ],
        interconnect=Interconnect(
            scale_up=Link(
                technology="NeuronLink",
                bytes_per_s=link_per_dir,
                topology=topology,
                domain_size=domain,
                latency_s=_HOP_S,
                efficiency=0.8,
                joules_per_byte=1.3e-12 * 8,
            ),
            scale_out=Link(technology="EFA", bytes_per_s=efa, domain_size=100_000, latency_s=15e-6, efficiency=0.8),
        ),
        power=Power(tdp_w=power_w, idle_w=0.2 * power_w),
        price=price,
        efficiency=Efficiency(
            gemm_max_default=gemm_max,
            gemm_sustained=gemm_sustained or {},
            gemm_half_rows=64,
            vector_fraction=0.5,
            overhead_s=_OVERHEAD_S,
            attention_memory_fraction=0.8,
        ),
        sources=sources,
    )


TRN1 = _neuron(
    "trainium:trn1",
    "Trainium (Trn1)",
    2022,
    {"fp32": 47.5 * T, "tf32": 190 * T, "bf16": 190 * T, "fp16": 190 * T, "fp8": 190 * T, "int8": 380 * T},
    32 * GiB,
    880468295680,
    192 * GB,
    "torus2d",
    16,
    50e9 / 8,
    245.0,
    Price(usd_per_device_hour=21.50 / 16, provider="AWS trn1.32xlarge on demand / 16 chips", date="2026-06"),
    cite(
        URL,
        peak="neuron_trainium: 190 TFLOPS FP8/FP16/BF16/TF32, 47.5 FP32, 380 INT8",
        memory__hbm="neuron_trainium,neuron_trainium2: 32 GiB HBM, 820 GiB/s",
        interconnect__scale_up="neuron_trainium2,neuron_trn1_arch: NeuronLink-v2 384 GB/s per chip (direction "
        "unstated; 192 per direction), 2D torus of 16 chips",
        interconnect__scale_out="neuron_trn1_arch: 800 Gbps EFA per 16-chip trn1.32xlarge (50 Gbps per chip)",
        power__tdp_w="nv_a100_datasheet,assumption: estimate 190 TF x 1.28 W/TF (A100: 400 W / 312 TF)",
        price="usage_trainium_prices: $21.50/h / 16",
        efficiency__gemm_sustained="cal:neuron_training: 0.385 of the bf16 peak in training, least squares over "
        "the Llama 2 7B/13B/70B rows of AWS's Trn1 training table (Neuron 2.21.0)",
        **_NEURONCORE_V2,
    ),
    gemm_max=_NEURONCORE_V2_GEMM_MAX,
    gemm_sustained=_NEURONCORE_V2_TRAIN_GEMM,
)

INF2 = _neuron(
    "trainium:inf2",
    "Inferentia2 (Inf2)",
    2023,
    {"fp32": 47.5 * T, "tf32": 190 * T, "bf16": 190 * T, "fp16": 190 * T, "fp8": 190 * T, "int8": 380 * T},
    32 * GiB,
    880468295680,
    206158430208 / 2,
    "ring",
    12,
    100e9 / 8 / 12,
    245.0,
    _parity_price(190),
    cite(
        URL,
        peak="neuron_inferentia2: 190 TFLOPS FP8/FP16/BF16/TF32, 47.5 FP32, 380 INT8",
        memory__hbm="neuron_inferentia2,neuron_inf2_arch: 32 GiB HBM, 820 GiB/s",
        interconnect__scale_up="neuron_inf2_arch: NeuronLink-v2 192 GiB/s per chip (direction unstated; half per "
        "direction), ring of 12 chips",
        interconnect__scale_out="assumption: 100 Gbps per inf2.48xlarge shared by 12 chips",
        power__tdp_w="nv_a100_datasheet,assumption: estimate as Trn1 (same NeuronCore-v2)",
        price="supercluster_dgx_price,assumption: estimate $24,875 x 190 / 989.5 = $4,780 (no public Inf2 price)",
        **_NEURONCORE_V2,
    ),
    gemm_max=_NEURONCORE_V2_GEMM_MAX,
)

TRN2 = _neuron(
    "trainium:trn2",
    "Trainium2 (Trn2)",
    2024,
    {"fp32": 181 * T, "tf32": 667 * T, "bf16": 667 * T, "fp16": 667 * T, "fp8": 1299 * T},
    96 * GiB,
    2.9 * T,
    640 * GB,
    "torus2d",
    16,
    200e9 / 8,
    470.0,
    _parity_price(667),
    cite(
        URL,
        peak="neuron_trainium2: 1,299 FP8, 667 BF16/FP16/TF32, 181 FP32 dense",
        memory__hbm="neuron_trainium2: 96 GiB HBM, 2.9 TB/s",
        interconnect__scale_up="neuron_trainium2,neuron_trn2_arch: NeuronLink-v3 1.28 TB/s per chip (direction "
        "unstated; 640 GB/s per direction), 4x4 2D torus in a trn2.48xlarge",
        interconnect__scale_out="neuron_trn2_arch: 3,200 Gbps EFAv3 per 16 chips (200 Gbps per chip)",
        power__tdp_w="nv_h100_page,assumption: estimate 667 TF x 0.71 W/TF (H100: 700 W / 989.5 TF)",
        price="supercluster_dgx_price,assumption: estimate $24,875 x 667 / 989.5 = $16,770 (no public Trn2 price)",
        **_COMMON,
    ),
)

TRN3 = _neuron(
    "trainium:trn3",
    "Trainium3 (Trn3)",
    2025,
    {"fp32": 183 * T, "tf32": 671 * T, "bf16": 671 * T, "fp16": 671 * T, "fp8": 2517 * T, "fp4": 2517 * T},
    144 * GiB,
    4.9 * T,
    1280 * GB,
    "switch",
    144,
    200e9 / 8,
    650.0,
    _parity_price(671),
    cite(
        URL,
        peak="neuron_trainium3: 2,517 MXFP8/MXFP4, 671 BF16/FP16/TF32, 183 FP32 dense",
        memory__hbm="neuron_trainium3,aws_trn3_aiwire: 144 GiB HBM3E, 4.9 TB/s",
        interconnect__scale_up="neuron_trainium3,neuron_trn3_arch: NeuronLink-v4 2.56 TB/s per chip through "
        "NeuronSwitch (direction unstated; 1.28 TB/s per direction), 144 chips",
        interconnect__scale_out="neuron_trn3_arch: 200 Gbps EFA per chip",
        power__tdp_w="aws_trn3_aiwire,assumption: estimate Trn2's 470 W x (2517/1299) / 1.4 = 650 W",
        price="supercluster_dgx_price,assumption: estimate $24,875 x 671 / 989.5 = $16,870 (no public Trn3 price)",
        **_COMMON,
    ),
)

# Trn2 UltraServer: four trn2u.48xlarge (64 chips) joined by NeuronLink-v3 rings between
# same-coordinate chips: a 4x4x4 torus-like domain [neuron_trn2_arch].
TRN2_ULTRASERVER = System(
    id="trainium:trn2-ultraserver",
    name="Trn2 UltraServer (64 Trainium2)",
    device=attrs.evolve(
        TRN2,
        interconnect=attrs.evolve(
            TRN2.interconnect, scale_up=attrs.evolve(TRN2.interconnect.scale_up, topology="torus3d", domain_size=64)
        ),
    ),
    device_count=64,
    description="4 x 16 Trainium2 over NeuronLink-v3 (2D torus per instance, rings across instances).",
    sources=cite(URL, device_count="neuron_trn2_arch: 64 chips, rings between same-coordinate chips"),
)

DEVICES = [TRN1, TRN2, TRN3, INF2]
SYSTEMS = [TRN2_ULTRASERVER]

# -- training (issue 13) --------------------------------------------------------------------------
INF2 = attrs.evolve(
    INF2,
    training_note="Inferentia2 is AWS's inference chip (Inf2 instances); train on "
    "trainium:trn1 or trainium:trn2 [neuron_inferentia2]",
)
DEVICES = [TRN1, TRN2, TRN3, INF2]
