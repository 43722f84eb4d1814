"""Intel Gaudi 3 for tokenfab: an example third-party pack, its own distribution.

Figures from Intel's Hot Chips 2024 Gaudi 3 talk (R. Kaplan), https://hc2024.hotchips.org/
(read via the mirror https://www.sgpjbg.com/baogao/465025.html), as compiled in tokenfab's
shared/reference/hardware.yaml (entry intel_gaudi3_oam).
"""

from tokenfab import (
    HOOKSPEC_VERSION,
    Device,
    Efficiency,
    Interconnect,
    Link,
    MemoryLevel,
    Power,
    Price,
    hookimpl,
)

assert HOOKSPEC_VERSION == 1, "tokenfab-gaudi 0.1 was written against tokenfab hookspec version 1"

HC24 = "Intel Hot Chips 2024, Gaudi 3 (https://hc2024.hotchips.org/)"

GAUDI3 = Device(
    id="gaudi:gaudi3",
    vendor="Intel",
    name="Gaudi 3 (OAM, 900 W air-cooled)",
    year=2024,
    peak_flops_per_s={"bf16": "1835 TFLOPS", "fp8": "1835 TFLOPS"},  # MME dense, vendor figure [HC24]
    memory=[
        MemoryLevel(
            name="sram", kind="sram", capacity_bytes="96 MB", bytes_per_s="12.8 TB/s", holds_weights=False
        ),  # on-die L2/L3 [HC24]
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes="128 GB",
            bytes_per_s="3.67 TB/s",
            efficiency=0.8,
            joules_per_byte=60e-12,
        ),  # 8 HBM2e stacks [HC24]
    ],
    interconnect=Interconnect(
        # 24 x 200 GbE RoCE = 1.2 TB/s bidirectional, 600 GB/s per direction, 8 cards all-to-all [HC24]
        scale_up=Link(
            technology="RoCEv2 24x200GbE",
            bytes_per_s="600 GB/s",
            topology="fully_connected",
            domain_size=8,
            latency_s="5 us",
            efficiency=0.8,
        ),
    ),
    power=Power(tdp_w=900, idle_w=100),  # 900 W air-cooled [HC24]
    price=Price(capex_usd=125_000 / 8, provider="8-chip kit list price / 8", date="2024"),
    efficiency=Efficiency(gemm_max_default=0.7, gemm_half_rows=128, overhead_s=5e-6),
    sources={
        "peak.bf16": HC24,
        "peak.fp8": HC24,
        "memory.sram": HC24 + " -- 96 MB, 12.8 TB/s",
        "memory.hbm": HC24 + " -- 128 GB, 3.67 TB/s",
        "memory.hbm.efficiency": "assumption: no public STREAM figure; 0.8",
        "interconnect.scale_up": HC24 + " -- 1200 GB/s bidirectional, 24x 200GbE",
        "interconnect.scale_up.latency_s": "assumption: 5 us per step for RoCE",
        "power.tdp_w": HC24 + " -- 900 W air-cooled, 1200 W liquid",
        "power.idle_w": "assumption: ~11% of TDP",
        "price": "https://y-ic.de/news/intel-officially-launches-gaudi3-ai-chip-slower-than-nvidia-h100,"
        "but-at-a-lower-cost.html -- 8-chip kit $125,000",
        "efficiency": "assumption: no public Gaudi 3 GEMM measurement in the reference set",
    },
)


@hookimpl
def tokenfab_devices():
    return [GAUDI3]
