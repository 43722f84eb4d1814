"""AMD Instinct data. Every figure cites its source next to it (keys resolve in URL below and in
shared/reference/hardware.yaml). AMD publishes dense and sparse rates side by side: the dense
ones are used. Infinity Fabric figures are bidirectional totals in AMD material; per-direction
values (half) are used here.
"""

from __future__ import annotations

from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price
from tokenfab.sources import cite

T, GB = 1e12, 1e9

URL = {
    "rocm_mi300": "https://rocm.docs.amd.com/en/latest/conceptual/gpu-arch/mi300.html",
    "rocm_gpu_specs": "https://rocm.docs.amd.com/en/latest/reference/gpu-specs.html",
    "rocm_mi250": "https://rocm.docs.amd.com/en/latest/conceptual/gpu-arch/mi250.html",
    "amd_mi300x_datasheet": "https://www.amd.com/content/dam/amd/en/documents/instinct-tech-docs/data-sheets/amd-instinct-mi300x-data-sheet.pdf",
    "amd_mi325x_page": "https://www.amd.com/en/products/accelerators/instinct/mi300/mi325x.html",
    "awesome_mi325x": "https://awesomeagents.ai/hardware/amd-mi325x",
    "wiaix_mi325x": "https://wiaix.com/amd-instincttm-mi325x-accelerators",
    "amd_mi250x_page": "https://www.amd.com/en/products/accelerators/instinct/mi200/mi250x.html",
    "zexron_mi250x": "https://zexron.com/amd-mi250-x-aldebaran-as-mcm-with-up-to-479-teraflop-s-and-560-watt-tdp",
    "wsm_mi250x": "https://www.worldstockmarket.net/video-card-with-128-gb-of-memory-8192-bit-bus-tbp-500-w-and-the-worlds-first-dual-chip-gpu-amd-instinct-mi250-accelerators-presented",
    "amd_cdna4_whitepaper": "https://www.amd.com/content/dam/amd/en/documents/instinct-tech-docs/white-papers/amd-cdna-4-architecture-whitepaper.pdf",
    "isscc_mi355x": "https://www.world-today-news.com/?p=7253162 (ISSCC 2025 MI355X per-CU rates)",
    "hume_mi355x": "https://humeconsulting.co/amd-mi355x-strong-node-level-inference-but-not-yet-rack-scale",
    "toms_mi355x": "https://www.tomshardware.com/pc-components/gpus/amds-instinct-mi355x-accelerator-will-consume-1-400-watts",
    "aiwiki_mi355x": "https://aiwiki.ai/wiki/amd_instinct_mi355x",
    "sth_mi300x": "https://servethehome.com/amd-instinct-mi300x-gpu-and-mi300a-apus-launched-for-ai-era/3",
    "cliff_amd_prices": "https://www.cliffcenter.com/research/amd-inference-economics (2026-05-18: MI300X $1.50 "
    "TensorWave, $1.85 Vultr; MI325X $1.95 TensorWave)",
    "cal:azure_mi300x": "calibration.yaml micro-azure-ndmi300xv5-hbm-copy / -fp8-gemm / -rccl-allreduce "
    "(https://github.com/yosoyjay/AI-benchmarking-guide/blob/main/Azure_Results/ND_MI300X_v5_results.md)",
    "cal:flashmla": "calibration.yaml micro-flashmla-h800-decode-bandwidth (https://github.com/deepseek-ai/FlashMLA)",
    "supercluster_dgx_price": "https://www.supercluster.blog/p/4-nvidia-dgx-h100-hardware (DGX H100 ~$199K; secondary)",
    "flashgenius_dgx": "https://flashgenius.net/guides/ai-server-systems-amp-platform-design-ncp-aii-guide (DGX H100 10.2 kW)",
    "assumption": "tokenfab modelling assumption, documented in docs/modelling.md",
}

# Per-kernel overhead under HIP graphs: assumed a little above CUDA's 3 us.
_OVERHEAD_S = 4e-6
# RCCL small-message all-reduce is ~2x NCCL's on the Azure guides (1 MB: 22.4 vs 43.7 GB/s bus bandwidth)
# [cal:azure_mi300x]; 6 us per step assumed for the one-shot kernels serving engines use.
_XGMI_STEP_S = 6e-6
_HBM_J_PER_BYTE = 60e-12  # as the NVIDIA pack: HBM ~3.5-4 pJ/bit plus on-chip path (assumption)
_ATTN = 0.8  # share of streaming bandwidth reached by paged KV reads (assumption, FlashMLA 0.9 upper bound)

# Capex estimate for devices with no public price: a DGX H100's ~$199K per 8 GPUs ($24,875 per GPU,
# host and network share included) [supercluster_dgx_price] scaled by dense BF16 peak relative to H100's
# 989.5 TFLOPS (compute parity). A labelled estimate (price_basis "capex-estimate"); override with --capex.
_DGX_H100_USD_PER_GPU = 199_000 / 8
# Host CPUs, NICs and switches per GPU: AMD publishes no 8-GPU platform power; a DGX H100's share
# (10.2 kW / 8 - 700 W = 575 W) [flashgenius_dgx] is assumed for the same class of 8-GPU x86 server.
_HOST_W = 10200 / 8 - 700

_SHARED = dict(
    power__host_w="flashgenius_dgx,assumption: DGX H100's 575 W host, NIC and switch share per GPU (8-GPU x86 server)",
    memory__hbm__joules_per_byte="assumption: 60 pJ/B",
    efficiency__overhead_s="assumption: 4 us per kernel",
    efficiency__attention_memory_fraction="cal:flashmla: upper bound 0.9; 0.8 assumed",
    interconnect__scale_up__latency_s="cal:azure_mi300x,assumption: 6 us per step",
    interconnect__scale_up__efficiency="cal:azure_mi300x: RCCL all-reduce bus bandwidth 316.8 GB/s at 8 GB of 448 per direction = 0.71",
    interconnect__scale_out="assumption: one 400 Gb/s NIC per GPU is the common platform (AMD states none)",
    power__idle_w="assumption: ~12% of board power, not vendor-published",
)


def _xgmi(per_direction: float) -> Link:
    return Link(
        technology="Infinity Fabric (xGMI), fully connected 8-GPU mesh",
        bytes_per_s=per_direction,
        topology="fully_connected",
        domain_size=8,
        latency_s=_XGMI_STEP_S,
        efficiency=0.71,
        joules_per_byte=1.3e-12 * 8,
    )


_NIC = Link(
    technology="400 Gb/s NIC (RoCE / InfiniBand)",
    bytes_per_s=50 * GB,
    domain_size=100_000,
    latency_s=10e-6,
    efficiency=0.9,
)

MI300X = Device(
    id="amd:mi300x",
    vendor="AMD",
    name="Instinct MI300X (192 GB, 750 W)",
    year=2023,
    peak_flops_per_s={
        "fp64": 163.4 * T,
        "fp32": 163.4 * T,
        "tf32": 653.7 * T,
        "bf16": 1307.4 * T,
        "fp16": 1307.4 * T,
        "fp8": 2614.9 * T,
        "int8": 2614.9 * T,
    },
    memory=[
        MemoryLevel(
            name="infinity_cache", kind="sram", capacity_bytes=256 * 2**20, bytes_per_s=17 * T, holds_weights=False
        ),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=192 * GB,
            bytes_per_s=5.3 * T,
            efficiency=0.80,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_xgmi(448 * GB), scale_out=_NIC),
    power=Power(tdp_w=750, idle_w=90, host_w=_HOST_W),
    price=Price(usd_per_device_hour=1.85, provider="Vultr on demand", date="2026-05"),
    efficiency=Efficiency(
        gemm_max_default=0.47, gemm_half_rows=64, overhead_s=_OVERHEAD_S, attention_memory_fraction=_ATTN
    ),
    sources=cite(
        URL,
        peak__fp64="rocm_mi300: matrix FP64 163.4",
        peak__fp32="rocm_mi300",
        peak__tf32="rocm_mi300",
        peak__bf16="rocm_mi300,amd_mi300x_datasheet: dense",
        peak__fp16="rocm_mi300: dense",
        peak__fp8="rocm_mi300,amd_mi300x_datasheet: dense",
        peak__int8="rocm_mi300: dense",
        memory__infinity_cache="rocm_gpu_specs,sth_mi300x: 256 MB, 17 TB/s peak",
        memory__hbm="rocm_mi300,amd_mi300x_datasheet: 192 GB HBM3, 5.3 TB/s",
        memory__hbm__efficiency="cal:azure_mi300x: STREAM copy 4.15, mul 4.28 TB/s of 5.3 -> 0.80",
        interconnect__scale_up="rocm_mi300,amd_mi300x_datasheet: 7 links x 128 GB/s = 896 GB/s bidirectional, 448 per direction",
        power__tdp_w="amd_mi300x_datasheet: 750 W typical board power",
        price="cliff_amd_prices: Vultr $1.85 (TensorWave $1.50, Azure/Oracle $6)",
        efficiency__gemm_max="cal:azure_mi300x: hipBLASLt FP8 1222.9 TFLOPS at 8192^3 = 0.47 of 2614.9; BF16 assumed alike",
        efficiency__gemm_half_rows="assumption: 64-row tile",
        **_SHARED,
    ),
)

MI325X = Device(
    id="amd:mi325x",
    vendor="AMD",
    name="Instinct MI325X (256 GB, 1000 W)",
    year=2024,
    peak_flops_per_s=dict(MI300X.peak_flops_per_s),
    memory=[
        MemoryLevel(
            name="infinity_cache", kind="sram", capacity_bytes=256 * 2**20, bytes_per_s=17 * T, holds_weights=False
        ),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=256 * GB,
            bytes_per_s=6 * T,
            efficiency=0.80,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_xgmi(448 * GB), scale_out=_NIC),
    power=Power(tdp_w=1000, idle_w=120, host_w=_HOST_W),
    price=Price(usd_per_device_hour=2.00, provider="neocloud on demand ($2.00-2.25)", date="2025-2026"),
    efficiency=Efficiency(
        gemm_max_default=0.47, gemm_half_rows=64, overhead_s=_OVERHEAD_S, attention_memory_fraction=_ATTN
    ),
    sources=cite(
        URL,
        peak="amd_mi325x_page,awesome_mi325x,rocm_mi300: same CDNA3 compute as MI300X, dense",
        memory__infinity_cache="rocm_gpu_specs: as MI300X",
        memory__hbm="amd_mi325x_page,wiaix_mi325x: 256 GB HBM3E, 6 TB/s",
        memory__hbm__efficiency="cal:azure_mi300x: MI300X measurement, same memory system generation",
        interconnect__scale_up="wiaix_mi325x,rocm_mi300: 896 GB/s bidirectional, 448 per direction",
        power__tdp_w="awesome_mi325x: ~1,000 W (third-party table)",
        price="awesome_mi325x: neocloud $2.00-2.25",
        efficiency__gemm_max="cal:azure_mi300x: MI300X figure, same CDNA3 die",
        efficiency__gemm_half_rows="assumption",
        **_SHARED,
    ),
)

MI355X = Device(
    id="amd:mi355x",
    vendor="AMD",
    name="Instinct MI355X (288 GB, 1400 W)",
    year=2025,
    peak_flops_per_s={
        "fp64": 78.6 * T,
        "fp32": 157.3 * T,
        "bf16": 2516.6 * T,
        "fp16": 2516.6 * T,
        "fp8": 5033.2 * T,
        "fp6": 10066.3 * T,
        "fp4": 10066.3 * T,
    },
    memory=[
        MemoryLevel(
            name="infinity_cache", kind="sram", capacity_bytes=256 * 2**20, bytes_per_s=17 * T, holds_weights=False
        ),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=288 * GB,
            bytes_per_s=8 * T,
            efficiency=0.80,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_xgmi(537.6 * GB), scale_out=_NIC),
    power=Power(tdp_w=1400, idle_w=160, host_w=_HOST_W),
    price=Price(
        capex_usd=_DGX_H100_USD_PER_GPU * 2516.6 / 989.5,
        provider="estimate: DGX H100 per GPU x BF16 peak ratio",
        date="2023-2024 anchor",
    ),
    efficiency=Efficiency(
        gemm_max_default=0.47, gemm_half_rows=64, overhead_s=_OVERHEAD_S, attention_memory_fraction=_ATTN
    ),
    sources=cite(
        URL,
        peak__fp64="hume_mi355x,amd_cdna4_whitepaper",
        peak__fp32="amd_cdna4_whitepaper: 157.3 vector (not re-read)",
        peak__bf16="isscc_mi355x: 256 CU x 4096 FLOP/clk x 2.4 GHz",
        peak__fp16="isscc_mi355x: as BF16",
        peak__fp8="isscc_mi355x: 8192 FLOP/clk/CU",
        peak__fp6="hume_mi355x,toms_mi355x: FP6 at the FP4 rate, dense",
        peak__fp4="hume_mi355x: up to 10 PF FP4 dense",
        memory__infinity_cache="rocm_gpu_specs: 256 MB; bandwidth assumed as MI300X (not published)",
        memory__hbm="toms_mi355x,aiwiki_mi355x: 288 GB HBM3E, 8 TB/s",
        memory__hbm__efficiency="cal:azure_mi300x: MI300X figure (no MI355X STREAM figure)",
        interconnect__scale_up="hume_mi355x,amd_cdna4_whitepaper: 7 x 153.6 GB/s bidirectional = 1075 GB/s, 537.6 per direction",
        power__tdp_w="toms_mi355x,aiwiki_mi355x: 1,400 W liquid-cooled",
        price="supercluster_dgx_price,assumption: estimate $24,875 x 2516.6 / 989.5 = $63,260 (no public MI355X price)",
        efficiency__gemm_max="cal:azure_mi300x: MI300X fraction (no MI355X measurement)",
        efficiency__gemm_half_rows="assumption",
        **_SHARED,
    ),
    notes="No public price: priced by a labelled capex estimate (compute parity with a DGX H100 per GPU).",
)

MI250X = Device(
    id="amd:mi250x",
    vendor="AMD",
    name="Instinct MI250X (128 GB, two GCDs)",
    year=2021,
    peak_flops_per_s={
        "fp64": 95.7 * T,
        "fp32": 95.7 * T,
        "bf16": 383 * T,
        "fp16": 383 * T,
        "int8": 383 * T,
        "int4": 383 * T,
    },
    memory=[
        MemoryLevel(name="l2", kind="sram", capacity_bytes=16 * 2**20, bytes_per_s=6.5 * T, holds_weights=False),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=128 * GB,
            bytes_per_s=3.2 * T,
            efficiency=0.80,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(
        scale_up=Link(
            technology="Infinity Fabric (xGMI), 8 links x 50 GB/s per direction",
            bytes_per_s=400 * GB,
            topology="fully_connected",
            domain_size=8,
            latency_s=_XGMI_STEP_S,
            efficiency=0.71,
        ),
        scale_out=Link(technology="Slingshot 200 Gb/s", bytes_per_s=25 * GB, domain_size=100_000, latency_s=10e-6),
    ),
    power=Power(tdp_w=560, idle_w=70, host_w=_HOST_W),
    price=Price(
        capex_usd=_DGX_H100_USD_PER_GPU * 383 / 989.5,
        provider="estimate: DGX H100 per GPU x BF16 peak ratio",
        date="2023-2024 anchor",
    ),
    efficiency=Efficiency(
        gemm_max_default=0.5, gemm_half_rows=64, overhead_s=_OVERHEAD_S, attention_memory_fraction=_ATTN
    ),
    sources=cite(
        URL,
        peak__fp64="zexron_mi250x,amd_mi250x_page: matrix FP64 95.7",
        peak__fp32="zexron_mi250x: matrix/packed FP32 95.7",
        peak__bf16="zexron_mi250x,amd_mi250x_page",
        peak__fp16="zexron_mi250x,amd_mi250x_page",
        peak__int8="zexron_mi250x",
        peak__int4="zexron_mi250x: AMD lists INT4 at the INT8 rate",
        memory__l2__capacity_bytes="rocm_gpu_specs: 8 MiB per GCD x 2",
        memory__l2__bytes_per_s="assumption: L2 bandwidth not in the reference; level holds no weights",
        memory__hbm="zexron_mi250x,rocm_mi250: 128 GB HBM2e, 3.2 TB/s (software sees two 64 GB GPUs)",
        memory__hbm__efficiency="assumption: MI300X measured fraction",
        interconnect__scale_up="rocm_mi250,wsm_mi250x: 8 links x 100 GB/s bidirectional (50 per direction each)",
        interconnect__scale_out="rocm_mi250: HPE Cray EX Slingshot 200 Gb/s per GCD pair (platform-dependent)",
        power__tdp_w="wsm_mi250x,zexron_mi250x: 500 W TBP, 560 W peak",
        power__host_w="flashgenius_dgx,assumption: DGX H100's 575 W host, NIC and switch share per GPU",
        price="supercluster_dgx_price,assumption: estimate $24,875 x 383 / 989.5 = $9,630 (no public MI250X price)",
        power__idle_w="assumption: ~12% of board power",
        efficiency__gemm_max="assumption: no MI250X GEMM measurement in the reference set",
        efficiency__gemm_half_rows="assumption",
        memory__hbm__joules_per_byte="assumption: 60 pJ/B",
        efficiency__overhead_s="assumption",
        efficiency__attention_memory_fraction="assumption",
        interconnect__scale_up__latency_s="assumption",
        interconnect__scale_up__efficiency="cal:azure_mi300x: RCCL fraction",
    ),
    notes="Modelled as one package of two GCDs (frameworks see two 64 GB GPUs). No public price: labelled capex estimate.",
)

DEVICES = [MI250X, MI300X, MI325X, MI355X]
