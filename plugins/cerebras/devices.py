"""Cerebras wafer-scale data. Every figure cites its source next to it (keys resolve in URL
below and in shared/reference/hardware.yaml).

A device here is one CS system (one wafer). Weights live in on-wafer SRAM when they fit across
one or several wafers (layers pipelined across systems over their 1.2 Tb/s I/O); otherwise they
stream from MemoryX over that same link. Cerebras publishes no dense FLOPS: the 125 PF "peak AI"
figure is used as the 16-bit rate and flagged.
"""

from __future__ import annotations

import attrs
from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price, TokenPrice
from tokenfab.sources import cite

URL = {
    "calibration_op_latency": "tokenfab calibration: least-squares fit over public per-user speeds, docs/modelling.md 5.4, recomputed by tests/test_sram_calibration.py",
    "toms_wse3": "https://www.tomshardware.com/tech-industry/artificial-intelligence/cerebras-launches-900000-core-125-petaflops-wafer-scale-processor-for-ai-theoretically-equivalent-to-about-62-nvidia-h100-gpus",
    "tnp_wse3": "https://www.nextplatform.com/2024/03/14/cerebras-goes-hyperscale-with-third-gen-waferscale-supercomputers/",
    "alcf_cs3": "https://argonne-lcf.github.io/user-guides/ai-testbed/cerebras",
    "alcf_sc24_cerebras": "https://github.com/argonne-lcf/AIaccelerators-SC24-tutorial/blob/main/Cerebras",
    "cerebras_wse2_extremetech": "https://www.extremetech.com/computing/322070-cerebras-unveils-2nd-gen-wafer-scale-engine-850000-cores-2-6-trillion-transistors",
    "cerebras_memoryx": "https://www.cerebras.net/glossary/memoryx/",
    "semiwiki_cerebras": "https://semiwiki.com/forum/threads/cisco-launched-its-silicon-one-g300-ai-networking-chip-in-a-move-that-aims-to-compete-with-nvidia-and-broadcom.24521/post-97450",
    "vengineer_cs3_io": "https://vengineer.hatenablog.com/entry/2025/07/02/080000 (12 x 100 GbE = 1.2 Tb/s system I/O)",
    "hn_cerebras_fit": "https://news.ycombinator.com/item?id=47001147",
    "cerebras_inference_blog": "https://cerebras.ai/blog/introducing-cerebras-inference-ai-at-instant-speed",
    "cerebras_oct2024_release": "https://hn.masterscheme.cn/item?id=41942822 (quoting Cerebras' Oct 2024 'Cerebras "
    "Inference now 3x faster' release notes); https://danielkim.sh/blog/how-is-cerebras-so-fast (Cerebras: "
    "'inference speeds of 2148 tokens per second' for Llama 3.1 70B)",
    "toms_405b": "https://www.tomshardware.com/tech-industry/artificial-intelligence/cerebras-video-shows-ai-writing-"
    "code-75x-faster-than-worlds-fastest-ai-gpu-cloud-worlds-largest-chip-beats-awss-fastest-in-head-to-head-comparison "
    "(2024-11-20: Llama 3.1 405B at 969 tokens/s)",
    "awesome_wse3": "https://awesomeagents.ai/hardware/cerebras-wse-3 (~23 kW system, secondary)",
    "anandtech_cs1": "https://www.anandtech.com/tag/llnl (CS-1: 'a couple million dollars')",
    "assumption": "tokenfab modelling assumption, documented in docs/vendors.md",
}

# Per-operator latency of a layer's pass through its region of the wafer (fabric traversal,
# wavelet routing, reduce/broadcast, pipeline fill); 21 PB/s would read 16 GB of weights in under a
# microsecond, so single-stream decode is set by this latency:
#
#     t_token = sum over operators (max(compute, SRAM read) + latency) + (wafers - 1) * hop
#
# It belongs to Cerebras' inference software, which changed it: the Oct 2024 release "re-written or
# optimized the most critical kernels such as MatMul, reduce/broadcast, element wise ops, and activations.
# Wafer IO has been streamlined to run asynchronously from compute. This release also implements
# speculative decoding" [cerebras_oct2024_release]. Not published, so calibrated per release: the
# least-squares fit (in log space) of the predicted per-user speed to that release's public speeds, each
# at its default deployment (fewest wafers, weights on-wafer); tests/test_sram_calibration.py recomputes
# both fits.
#
# Launch software (Aug 2024; cerebras:wse-3-launch): Llama-3.1-8B at 1,800 and 1,837 tokens/s on one
# CS-3, 70B at 450 and 445 on four. One latency cannot match both models (their time ratio, 4.0,
# exceeds their layer ratio, 2.5): 8B comes out ~20% slow and 70B ~20% fast.
_FABRIC_OP_S_LAUNCH = 2.4e-6
# Oct 2024 release onward (cerebras:wse-3, the service as it runs now): Llama-3.1-70B at 2,148 tokens/s
# on four wafers (Oct 2024) and Llama-3.1-405B at 969 on 22 (Nov 2024). One latency matches both within
# 5%; its speculative decoding (draft not published) is inside this effective per-token figure.
_FABRIC_OP_S = 0.6e-6
_IO = Link(
    technology="SwarmX / 12 x 100 GbE system I/O",
    bytes_per_s=150e9,
    topology="switch",
    domain_size=2048,
    latency_s=10e-6,
    efficiency=0.9,
    joules_per_byte=5.5e-12 * 8,
)


# A CS system's price is not published: '$2-3M' per CS-3 (secondary, low reliability) [awesome_wse3], the
# midpoint taken; CS-2 priced alike (CS-1: 'a couple million dollars' [anandtech_cs1]). Cerebras sells tokens:
# launch prices of Cerebras Inference (flat per token, input and output) [cerebras_inference_blog].
_LAUNCH = (
    URL["cerebras_inference_blog"] + " (launch pricing 2024-08-27: 10 cents / 60 cents per million tokens; recalled)"
)
_CS_CAPEX = dict(capex_usd=2_500_000, provider="estimate: midpoint of '$2-3M' per CS system", date="2024")
_PRICES = {
    "cerebras:wse-3": Price(
        **_CS_CAPEX,
        per_token=(
            TokenPrice(
                model="llama-3.1-8b",
                usd_per_mtok_input=0.10,
                usd_per_mtok_output=0.10,
                source=_LAUNCH,
                date="2024-08-27",
            ),
            TokenPrice(
                model="llama-3.1-70b",
                usd_per_mtok_input=0.60,
                usd_per_mtok_output=0.60,
                source=_LAUNCH,
                date="2024-08-27",
            ),
        ),
    ),
    "cerebras:wse-2": Price(**_CS_CAPEX),
}


def _wafer(
    id_: str, name: str, year: int, flops: float, sram: float, sram_bw: float, sources: dict, op_s: float
) -> Device:
    return Device(
        id=id_,
        vendor="Cerebras",
        name=name,
        year=year,
        peak_flops_per_s={"fp16": flops, "bf16": flops},
        memory=[
            MemoryLevel(
                name="sram",
                kind="sram",
                capacity_bytes=sram,
                bytes_per_s=sram_bw,
                efficiency=0.5,
                joules_per_byte=2e-12,
            ),
            MemoryLevel(
                name="memoryx",
                kind="external",
                capacity_bytes=1.2e15,
                bytes_per_s=150e9,
                efficiency=0.9,
                joules_per_byte=100e-12,
            ),
        ],
        interconnect=Interconnect(scale_up=None, scale_out=_IO),
        power=Power(tdp_w=23_000, idle_w=12_000),
        price=_PRICES[id_],
        efficiency=Efficiency(
            gemm_max_default=0.5,
            gemm_half_rows=0.0,
            vector_fraction=1.0,
            overhead_s=op_s,
            attention_memory_fraction=1.0,
        ),
        sources=sources,
        notes="Priced by a labelled capex estimate per CS system; Cerebras's own per-token prices are listed beside it.",
    )


_COMMON = dict(
    memory__memoryx="cerebras_memoryx,toms_wse3,semiwiki_cerebras: external DDR5+flash weight store up to 1.2 PB; "
    "bandwidth into a system bounded by its 1.2 Tb/s (150 GB/s) I/O",
    memory__sram__efficiency="assumption: a layer reaches half the aggregate on-wafer bandwidth",
    memory__sram__joules_per_byte="assumption: on-die SRAM ~0.25 pJ/bit",
    memory__memoryx__joules_per_byte="assumption: DRAM + Ethernet path, 100 pJ/B",
    interconnect__scale_out="vengineer_cs3_io,hn_cerebras_fit,alcf_sc24_cerebras: 12 x 100 GbE, 150 GB/s",
    interconnect__scale_out__latency_s="assumption: 10 us per Ethernet hop",
    power__tdp_w="awesome_wse3,toms_wse3: ~23 kW per CS system (secondary, not re-read)",
    price="awesome_wse3,anandtech_cs1: estimate $2.5M per CS system, midpoint of '$2-3M' (CS-3, low reliability); "
    "CS-1 'a couple million dollars'; per-token list prices: cerebras_inference_blog",
    power__idle_w="assumption: ~52% of system power static (leakage of 44 GB of SRAM across the wafer, cooling, I/O)",
    efficiency__gemm_max="assumption: half the quoted peak (basis of the 125 PF figure unstated)",
)

WSE3 = _wafer(
    "cerebras:wse-3",
    "WSE-3 (CS-3 system)",
    2024,
    125e15,
    44e9,
    21e15,
    cite(
        URL,
        peak__fp16="toms_wse3: '125 petaflops of peak AI performance' (FP16; sparsity basis unstated)",
        peak__bf16="toms_wse3,assumption: 16-bit formats share the rate",
        memory__sram="toms_wse3,alcf_cs3,alcf_sc24_cerebras: 44 GB on-wafer SRAM, 21 PB/s",
        efficiency__overhead_s="calibration_op_latency,cerebras_oct2024_release,toms_405b: 0.6 us per operator, "
        "least squares over the Oct-Nov 2024 release's 70B and 405B per-user speeds (docs/modelling.md 5.4)",
        **_COMMON,
    ),
    _FABRIC_OP_S,
)

WSE2 = _wafer(
    "cerebras:wse-2",
    "WSE-2 (CS-2 system)",
    2021,
    62.5e15,
    40e9,
    20e15,
    cite(
        URL,
        peak__fp16="tnp_wse3: WSE-3's 125 PF is described as 2x WSE-2 -> 62.5 PF (derived)",
        peak__bf16="tnp_wse3,assumption: 16-bit formats share the rate",
        memory__sram="cerebras_wse2_extremetech: 40 GB on-wafer SRAM, 20 PB/s",
        efficiency__overhead_s="calibration_op_latency,assumption: the CS-3 launch software's 2.4 us per operator "
        "(no public CS-2 inference speed)",
        **_COMMON,
    ),
    _FABRIC_OP_S_LAUNCH,
)

# The same CS-3 under Cerebras Inference's launch software (Aug 2024), before the Oct 2024 kernel rewrite and
# speculative decoding: the Aug 2024 public speeds are replayed on it.
WSE3_LAUNCH = attrs.evolve(
    WSE3,
    id="cerebras:wse-3-launch",
    name="WSE-3 (CS-3 system), Cerebras Inference launch software (Aug 2024)",
    efficiency=attrs.evolve(WSE3.efficiency, overhead_s=_FABRIC_OP_S_LAUNCH),
    sources={
        **WSE3.sources,
        **cite(
            URL,
            efficiency__overhead_s="calibration_op_latency,cerebras_inference_blog: 2.4 us per operator, least "
            "squares over the launch 8B and 70B per-user speeds (docs/modelling.md 5.4)",
        ),
    },
    notes=WSE3.notes + " Launch-era software (Aug 2024): use cerebras:wse-3 for the service as it runs now.",
)

DEVICES = [WSE2, WSE3, WSE3_LAUNCH]

# -- training (issue 13) --------------------------------------------------------------------------

_TRAINING_NOTE = (
    "Cerebras systems train by streaming weights from MemoryX through the wafer (weight-streaming "
    "execution), a mode tokenfab's training model does not describe yet; only inference is modelled"
)
WSE2, WSE3, WSE3_LAUNCH = (attrs.evolve(device, training_note=_TRAINING_NOTE) for device in (WSE2, WSE3, WSE3_LAUNCH))
DEVICES = [WSE2, WSE3, WSE3_LAUNCH]
