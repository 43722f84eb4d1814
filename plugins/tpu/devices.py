"""Google TPU data. Every figure cites its source next to it (keys resolve in URL below and in
shared/reference/hardware.yaml). TPU figures are dense. ICI bandwidth in Google's newer pages is
bidirectional per chip: half is used per direction.

Google publishes no TDP for v5e, v5p, v6e or Ironwood. Board power is *estimated* from sourced
ratios and flagged: TPU v4's measured 192 W maximum for 275 TFLOPS (0.70 W/TFLOPS) for v5e and
v5p; Trillium's "4.7x the compute of v5e at 67% better energy efficiency" (2.8x v5e's power);
Ironwood's "2x perf/W of Trillium" at its FP8 peak (5.03x Trillium's rate).
"""

from __future__ import annotations

from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price, System
from tokenfab.sources import cite

T, GB = 1e12, 1e9

URL = {
    "gcp_tpu_v4": "https://cloud.google.com/tpu/docs/v4 (measured 90/170/192 W min/mean/max per chip)",
    "gcp_tpu_v5e": "https://cloud.google.com/tpu/docs/v5e",
    "gcp_tpu_v5p": "https://cloud.google.com/tpu/docs/v5p",
    "gcp_tpu_v6e": "https://cloud.google.com/tpu/docs/v6e",
    "gcp_tpu7x": "https://docs.cloud.google.com/tpu/docs/tpu7x",
    "hc25_ironwood": "https://mattfife.com/?p=15269 (Hot Chips 2025 Ironwood)",
    "google_ironwood_blog": "https://blog.google/products/google-cloud/ironwood-tpu-age-of-inference/",
    "gcp_tpu_pricing": "https://cloud.google.com/tpu/pricing",
    "neowin_trillium": "https://neowin.net/amp/google-takes-on-nvidia-blackwell-gpus-with-the-new-trillium-tpus",
    "trillium_claims": "https://convergedigest.blogspot.com/2024/05/google-debuts-6th-gen-tpu.html (4.7x v5e compute, "
    ">67% more energy-efficient)",
    "scaling_book_tpus": "https://jax-ml.github.io/scaling-book/tpus/",
    "cal:maxtext": "calibration.yaml maxtext-v6e-256-llama3.1-8b-mfu (45.5% MFU training on v6e-256)",
    "supercluster_dgx_price": "https://www.supercluster.blog/p/4-nvidia-dgx-h100-hardware (DGX H100 ~$199K; secondary)",
    "assumption": "tokenfab modelling assumption, documented in docs/vendors.md",
}

_ICI_HOP_S = 2e-6  # per collective step on ICI: not published (assumption)
_OVERHEAD_S = 2e-6  # per fused XLA op (assumption)
_HBM_J = 60e-12

_COMMON = dict(
    memory__hbm__efficiency="assumption: 0.85 (no public TPU STREAM figure in the reference set)",
    memory__hbm__joules_per_byte="assumption: 60 pJ/B",
    interconnect__scale_up__latency_s="assumption: 2 us per hop",
    efficiency__gemm_max="cal:maxtext,assumption: 45.5% end-to-end training MFU on v6e bounds the matrix units "
    "from below; 0.7 assumed for large GEMMs",
    efficiency__gemm_half_rows="assumption: half the systolic array edge (128x128 MXU: 64 rows; 256x256: 128)",
    efficiency__overhead_s="assumption: 2 us per fused XLA op",
    power__idle_w="assumption: 20% of estimated power",
)


def _parity_price(bf16_tflops: float) -> Price:
    """Capex estimate where no price is public: a DGX H100's ~$199K per 8 GPUs ($24,875 per GPU, host and
    network share included) [supercluster_dgx_price] times this chip's dense BF16 peak / H100's 989.5 TFLOPS.
    Labelled ``capex-estimate``; override with --capex or --usd-per-device-hour."""
    return Price(
        capex_usd=199_000 / 8 * bf16_tflops / 989.5,
        provider="estimate: DGX H100 per GPU x BF16 peak ratio",
        date="2023-2024 anchor",
    )


def _tpu(
    id_, name, year, peaks, hbm, hbm_bw, ici_per_dir, topology, domain, dcn, power_w, price, half_rows, sources
) -> Device:
    return Device(
        id=id_,
        vendor="Google",
        name=name,
        year=year,
        peak_flops_per_s=peaks,
        memory=[
            MemoryLevel(
                name="hbm", kind="hbm", capacity_bytes=hbm, bytes_per_s=hbm_bw, efficiency=0.85, joules_per_byte=_HBM_J
            )
        ],
        interconnect=Interconnect(
            scale_up=Link(
                technology="ICI",
                bytes_per_s=ici_per_dir,
                topology=topology,
                domain_size=domain,
                latency_s=_ICI_HOP_S,
                efficiency=0.85,
                joules_per_byte=1.3e-12 * 8,
            ),
            scale_out=Link(
                technology="data center network (DCN)",
                bytes_per_s=dcn,
                domain_size=1_000_000,
                latency_s=20e-6,
                efficiency=0.8,
            ),
        ),
        power=Power(tdp_w=power_w, idle_w=0.2 * power_w),
        price=price,
        efficiency=Efficiency(
            gemm_max_default=0.7,
            gemm_half_rows=half_rows,
            vector_fraction=1.0,
            overhead_s=_OVERHEAD_S,
            attention_memory_fraction=0.8,
        ),
        sources=sources,
    )


V5E = _tpu(
    "tpu:v5e",
    "TPU v5e",
    2023,
    {"bf16": 197 * T, "int8": 393 * T},
    16 * GB,
    819 * GB,
    200 * GB,
    "torus2d",
    256,
    25e9 / 8,
    140.0,
    Price(usd_per_device_hour=1.20, provider="Google Cloud on demand, US", date="2025"),
    64,
    cite(
        URL,
        peak="gcp_tpu_v5e: 197 TFLOPS bf16, 393 TOPS int8",
        memory__hbm="gcp_tpu_v5e: 16 GB HBM2, 819 GB/s",
        interconnect__scale_up="gcp_tpu_v5e: ICI 1,600 Gbps = 400 GB/s bidirectional, 2D torus, 256-chip pod",
        interconnect__scale_out="gcp_tpu_v5e: 2 x 100 Gbps NIC per 8-chip host (25 Gbps per chip)",
        power__tdp_w="gcp_tpu_v4,assumption: estimate 0.70 W/TFLOPS (v4: 192 W max / 275 TF) x 197 TF",
        price="gcp_tpu_pricing: $1.20 per chip-hour (recalled in the reference, not re-read)",
        **_COMMON,
    ),
)

V5P = _tpu(
    "tpu:v5p",
    "TPU v5p",
    2023,
    {"bf16": 459 * T, "fp8": 459 * T, "int8": 918 * T},
    95 * GB,
    2765 * GB,
    600 * GB,
    "torus3d",
    8960,
    50e9 / 8,
    320.0,
    Price(usd_per_device_hour=4.20, provider="Google Cloud on demand, US", date="2025"),
    64,
    cite(
        URL,
        peak__bf16="gcp_tpu_v5p",
        peak__fp8="gcp_tpu_v5p: FP8 at the BF16 rate",
        peak__int8="scaling_book_tpus: 918 TOPS",
        memory__hbm="gcp_tpu_v5p: 95 GB HBM2e, 2,765 GB/s",
        interconnect__scale_up="gcp_tpu_v5p: 1,200 GB/s bidirectional ICI, 3D torus, 8,960-chip pod",
        interconnect__scale_out="gcp_tpu_v5p: DCN 50 Gbps per chip",
        power__tdp_w="gcp_tpu_v4,assumption: estimate 0.70 W/TFLOPS x 459 TF",
        price="gcp_tpu_pricing: $4.20 per chip-hour (recalled in the reference)",
        **_COMMON,
    ),
)

V6E = _tpu(
    "tpu:v6e",
    "TPU v6e (Trillium)",
    2024,
    {"bf16": 918 * T, "fp8": 918 * T, "int8": 1836 * T},
    32 * GB,
    1640 * GB,
    400 * GB,
    "torus2d",
    256,
    100e9 / 8,
    390.0,
    Price(usd_per_device_hour=2.70, provider="Google Cloud on demand", date="2024-12"),
    128,
    cite(
        URL,
        peak__bf16="gcp_tpu_v6e",
        peak__fp8="gcp_tpu7x: v6e FP8 = 918 (BF16 rate)",
        peak__int8="gcp_tpu_v6e",
        memory__hbm="gcp_tpu_v6e: 32 GB, 1,640 GB/s",
        interconnect__scale_up="gcp_tpu_v6e: 800 GB/s bidirectional ICI (3,200 Gbps), 2D torus, 256-chip pod",
        interconnect__scale_out="gcp_tpu_v6e: 4 x 200 Gbps NIC per 8-chip host (100 Gbps per chip)",
        power__tdp_w="trillium_claims,assumption: estimate v5e's 140 W x 4.7 / 1.67 = 394 W",
        price="neowin_trillium,gcp_tpu_pricing: $2.70 on demand ($1.89 1-yr, $1.22 3-yr)",
        **_COMMON,
    ),
)

IRONWOOD = _tpu(
    "tpu:ironwood",
    "TPU7x (Ironwood)",
    2025,
    {"bf16": 2307 * T, "fp8": 4614 * T},
    206158430208,
    7370 * GB,
    600 * GB,
    "torus3d",
    9216,
    100e9 / 8,
    980.0,
    _parity_price(2307),
    128,
    cite(
        URL,
        peak__bf16="gcp_tpu7x",
        peak__fp8="gcp_tpu7x,hc25_ironwood",
        memory__hbm="gcp_tpu7x,hc25_ironwood,google_ironwood_blog: 192 GiB HBM3e, 7.37 TB/s",
        interconnect__scale_up="hc25_ironwood,google_ironwood_blog: 1.2 TB/s bidirectional ICI, 3D torus "
        "with OCS, 9,216-chip pod",
        interconnect__scale_out="assumption: DCN as v6e, 100 Gbps per chip",
        power__tdp_w="google_ironwood_blog,assumption: estimate v6e 390 W x (4614/918) / 2 = 980 W",
        price="supercluster_dgx_price,assumption: estimate $24,875 x 2307 / 989.5 = $58,000 (no public Ironwood price)",
        **_COMMON,
    ),
)

DEVICES = [V5E, V5P, V6E, IRONWOOD]

# -- training systems (issue 13): pods ---------------------------------------------------------
# A pod's chips share one ICI torus (the device's scale-up link, domain = pod size); pods join
# over the data-center network (the scale-out link) [gcp_tpu_v5p, gcp_tpu_v6e].
V5P_POD = System(
    id="tpu:v5p-pod",
    name="TPU v5p pod (8,960 chips, 3D torus ICI)",
    device=V5P,
    device_count=8960,
    description="One ICI 3D torus of 8,960 v5p chips; multislice jobs cross the DCN.",
    sources=cite(URL, device_count="gcp_tpu_v5p: 8,960 chips per pod"),
)
V6E_256 = System(
    id="tpu:v6e-256",
    name="TPU v6e-256 slice (Trillium, 2D torus ICI)",
    device=V6E,
    device_count=256,
    description="One 16x16 ICI torus of 256 v6e chips; larger jobs are multislice over the DCN.",
    sources=cite(URL, device_count="gcp_tpu_v6e: 256 chips per pod"),
)
SYSTEMS = [V5P_POD, V6E_256]
