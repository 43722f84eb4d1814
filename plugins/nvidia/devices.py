"""NVIDIA device data. Every figure cites its source next to it.

Source keys in square brackets resolve in ``shared/reference/hardware.yaml`` (``sources``)
and in the ``sources`` mapping of each device, which carries the URL. Peak tensor rates are
dense: NVIDIA's headline figures assume 2:4 sparsity and are halved here.
Calibration data (``efficiency``) cites ``shared/reference/calibration.yaml`` entry ids.
"""

from __future__ import annotations

from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price, System
from tokenfab.sources import cite

T = 1e12
GB = 1e9

URL = {
    "nv_a100_datasheet": "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    "nv_h100_page": "https://www.nvidia.com/en-us/data-center/h100/",
    "hpctech_h100": "https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html",
    "nv_h200_page": "https://www.nvidia.com/en-us/data-center/h200/",
    "mlperf_h200_sys": "https://raw.githubusercontent.com/mlcommons/inference_results_v4.1/main/closed/NVIDIA/systems/H200-SXM-141GBx8_TRT_MaxQ.json",
    "nv_blackwell_spec_table": "https://www.nvidia.com/en-us/data-center/gb200-nvl72/",
    "nv_dgx_b200_ug": "https://docs.nvidia.com/dgx/dgxb200-user-guide/introduction-to-dgxb200.html",
    "nv_dgx_gb200_ug": "https://docs.nvidia.com/dgx/dgxgb200-user-guide/hardware.html",
    "nv_basepod": "https://docs.nvidia.com/dgx-basepod/reference-architecture-infrastructure-foundation-enterprise-ai/latest/core-components.html",
    "nv_nvlink_blog": "https://blogs.nvidia.com/blog/what-is-nvidia-nvlink/ (NVLink 1.3 pJ/bit)",
    "chipsandcheese_h100": "https://chipsandcheese.com/2023/07/02/nvidias-h100-funny-l2-and-tons-of-bandwidth/",
    "costnimbus_prices": "https://costnimbus.com/article/gpu-cost-management-ml-teams (AWS P5 after the June 2025 cut, ~$3.90/GPU-h)",
    "aws_p4": "https://aws.amazon.com/ec2/instance-types/p4/ (p4de.24xlarge, 8 x A100 80GB, $40.96/h on demand; "
    "p4d.24xlarge is the 40 GB part) -- not re-read in the reference set",
    "flashgenius_dgx": "https://flashgenius.net/guides/ai-server-systems-amp-platform-design-ncp-aii-guide (DGX system power: "
    "A100 6.5 kW, H100 10.2 kW max for 8 GPUs; secondary)",
    "spheron_2026": "https://www.spheron.network/blog/nvidia-h200-vs-b200-vs-gb200 (on-demand 2026-03-17: H200 $4.54/h, "
    "B200 $6.03/h, GB200 superchip $9.08/h = 2 GPUs)",
    "gb200_power_secondary": "https://kshirol-dev.github.io/learnAI/AIInfrastructure/08-training-clusters.html (~120 kW per rack)",
    "supercluster_dgx_price": "https://www.supercluster.blog/p/4-nvidia-dgx-h100-hardware (DGX H100 ~$199K, ~$24.9K per GPU; secondary)",
    "cal:azure_h100": "calibration.yaml micro-azure-ndh100v5-hbm-copy / -fp8-gemm / -nccl-allreduce "
    "(https://github.com/Azure/AI-benchmarking-guide/blob/main/Azure_Results/ND_H100_v5_results.md)",
    "cal:azure_h200": "calibration.yaml micro-azure-ndh200v5-hbm-copy / -fp8-gemm "
    "(https://github.com/Azure/AI-benchmarking-guide/blob/main/Azure_Results/ND_H200_v5_results.md)",
    "cal:azure_a100": "calibration.yaml micro-azure-nda100v4-hbm-copy / -fp16-gemm "
    "(https://github.com/Azure/AI-benchmarking-guide/blob/main/Azure_Results/ND_A100_v4_results.md)",
    "cal:azure_gb200": "calibration.yaml micro-azure-ndgb200v6-fp8-gemm / -fp4-gemm "
    "(https://github.com/Azure/AI-benchmarking-guide/blob/main/Azure_Results/ND_GB200_v6_results.md)",
    "cal:flashmla": "calibration.yaml micro-flashmla-h800-decode-bandwidth (https://github.com/deepseek-ai/FlashMLA)",
    "cal:nccl": "nccl-tests all-reduce bus bandwidth, 1 KB-8 GB, Azure AI-benchmarking-guide ND A100 v4 / ND H200 v5 "
    "(NVLS) / ND GB200 v6 (ring) results; fit in plugins/nvidia/devices.py (_NCCL)",
    "vllm_custom_ar": "https://github.com/vllm-project/vllm/blob/main/vllm/distributed/device_communicators/"
    "custom_all_reduce.py (CustomAllreduce max_size = 8192 * 1024: larger messages go to NCCL)",
    "cal:h200_2026_11_30": "benchmarks/results/gpu-h200-2026-11-30.json: measured 2026-11-30 on one NVIDIA H200 SXM "
    "(torch 2.11, CUDA 13, driver 580.159.04) with benchmarks/measure_gpu.py; fitted by "
    "benchmarks/fit_gpu_calibration.py (held equal by tests/test_gpu_calibration.py)",
    "ptx_tcgen05": "https://docs.nvidia.com/cuda/parallel-thread-execution/ (tcgen05.mma shapes: cta_group::1 "
    "M = 64 or 128, cta_group::2 M = 128 or 256; wgmma.mma_async M = 64)",
    "cutlass_bw_gemm": "https://github.com/NVIDIA/cutlass/tree/main/examples/cute/tutorial/blackwell (SM100 "
    "tcgen05.mma tutorials: a 1SM MMA of 128 rows; a 2SM MMA where each of 2 peer CTAs holds 128 rows of A and C)",
    "vllm_issue_27508": "https://github.com/vllm-project/vllm/issues/27508 (H100 80GB: PyTorch OOM message "
    "'GPU 0 has a total capacity of 79.11 GiB')",
    "ootd_issue_235": "https://github.com/levihsu/OOTDiffusion/issues/235 (A100 80GB: PyTorch OOM message "
    "'79.25 GiB total capacity')",
    "trtllm_kv_blocks": "https://github.com/NVIDIA/TensorRT-LLM cpp/tensorrt_llm/batch_manager/kvCacheManager.cpp "
    "KVCacheManager::calculateMaxNumBlocks (KV tokens = freeGpuMemoryFraction x cudaMemGetInfo free / bytes per token)",
    "cal:deepgemm_h800": "DeepGEMM FP8 GEMMs on H800 SXM5: README tables at commit 55ab91f "
    "(https://github.com/deepseek-ai/DeepGEMM/blob/55ab91f72f76e8a6db0e86282c3169a88d93df1b/README.md) and the "
    "tile comparisons of PRs #74 and #81 (https://github.com/deepseek-ai/DeepGEMM/pull/74, /pull/81); "
    "benchmarks/results/deepgemm-h800-2025.json, benchmarks/fit_gemm_k.py, tests/test_gemm_k.py",
    "deepgemm_epilogue": "DeepGEMM deep_gemm/include/deep_gemm/fp8_gemm.cuh at 55ab91f: after a tile's K loop the "
    "math warpgroups write the accumulators to shared memory as BF16 and issue a TMA store, then wait for it "
    "(tma_store_wait<0>) before the next tile",
    "vllm_pr_20646": "https://github.com/vllm-project/vllm/pull/20646 (B200, vLLM's NVFP4 CUTLASS GEMM, Llama-3.1-8B "
    "N=6144 K=4096, 'Before' table, TFLOP/s at M = 8192 / 16384: nvfp4-noquant 3778.8 / 3904.3, nvfp4 with the "
    "activation quantization 3025.5 / 3038.8)",
    "flashinfer_pr_1979": "https://github.com/flashinfer-ai/flashinfer/pull/1979 (B200, CUDA 13, cuDNN 9.15, mm_fp4 "
    "nvfp4 M=1024 N=7168 K=4608, GEMM only: cutlass 3440.6, cudnn 3797.9, trtllm 2187.4 TFLOP/s)",
    "trtllm_nvfp4_linear": "https://github.com/NVIDIA/TensorRT-LLM tensorrt_llm/_torch/modules/linear.py (NVFP4 "
    "linear: torch.ops.trtllm.fp4_quantize on a bf16 input, then torch.ops.trtllm.nvfp4_gemm, CUTLASS by default)",
    "assumption": "tokenfab modelling assumption, documented in docs/modelling.md; replace with a measurement "
    "(benchmarks/measure_gpu.py) when one is available",
}


def _src(**figures: str) -> dict[str, str]:
    return cite(URL, **figures)


# -- shared modelling assumptions (documented in docs/modelling.md) ---------------------------
# Per-kernel overhead: launch + prologue/epilogue gap between back-to-back kernels under CUDA
# graphs; 3 us is the order seen in decode traces. Not vendor data -> "assumption".
_OVERHEAD_S = 3e-6
# KV-cache reads by paged attention kernels reach ~0.8 of a streaming read (FlashMLA's best case
# is 0.90 of HBM3 peak on H800 [cal:flashmla]; GQA paged decode kernels sit below it).
_ATTN_FRACTION = 0.8
# HBM a process can allocate: the total cudaMemGetInfo reports, from which every serving stack sizes
# its KV cache [trtllm_kv_blocks]; less than the marketed "80GB" / "141GB" read as GiB (ECC and driver
# reservations), more than read as 1e9 bytes. PyTorch prints it in its out-of-memory message. It
# matters most where weights nearly fill the device: Llama-3.1-70B FP8 on one H100 keeps ~8 GB for its
# KV cache, not the ~5 GB that 80e9 bytes leave (docs/modelling.md section 6, "KV capacity").
_A100_80GB_HBM_BYTES = 79.25 * 2**30  # 85.09e9 B [ootd_issue_235]
_H100_80GB_HBM_BYTES = 79.11 * 2**30  # 84.94e9 B [vllm_issue_27508]; H800 shares H100's memory levels
_H200_HBM_BYTES = 150_109_880_320  # 139.80 GiB, torch total_memory measured on one H200 [cal:h200_2026_11_30]
# HBM energy: ~3.5-4 pJ/bit at the device (reference README) plus the on-chip path
# (L2, NoC, shared memory): 60 pJ/byte end to end.
_HBM_J_PER_BYTE = 60e-12
# Hopper (GH100: H100, H200, H800), measured on H200 2026-11-30 [cal:h200_2026_11_30] and fitted with
# the engine's own operator rule, max(compute, memory) + overhead, over 135 GEMMs (8 Llama-3.1-8B/70B
# projection shapes, M 1..8192, bf16 and fp8 jointly; rms log error 0.15):
# * gemm_max: the tensor-core fraction a large GEMM reaches, bf16 0.79, fp8 0.69 (cuBLASLt);
# * gemm_half_rows 72: the rows at which a GEMM reaches half that fraction (Hopper WGMMA tiles are
#   64 rows; the old 64-row assumption was close);
# * overhead_s and attention_memory_fraction keep the shared assumptions (3 us, 0.8), bracketed but
#   not fitted: a bare CUDA-graph kernel node costs 0.923 us, but graph-replayed RMSNorm / SiLU*mul at batch 1
#   take 3.05 / 2.41 us and memory-bound GEMMs 3.3-5.6 us above their weight read (gpu-graph-h200-2026-11-30.json),
#   which brackets the 3 us; torch's contiguous decode
#   attention read its KV at 4.47-4.62 TB/s (batch >= 64), above the 4.24-4.27 TB/s copy rate (fraction
#   1.0), but paged serving kernels were not measured (FlashMLA's paged 0.90 of peak is MLA-shaped).
#   Same die and clocks: the GEMM fits transfer to H100/H800. Blackwell keeps its own figures
#   (tcgen05 MMA tiles and a different cuBLASLt: not measured).
_HOPPER_GEMM_MAX = {"bf16": 0.79, "fp16": 0.79, "fp8": 0.69}
# Sustained GEMMs (training runs them back to back for seconds): in the same H200 run the rate falls with
# a GEMM's duration as the clocks settle at the power limit; median of the GEMMs lasting >= 2 ms:
# bf16 0.686 (6 shapes, 0.677-0.708), fp8 0.639 (3 shapes, 0.618-0.655) [cal:h200_2026_11_30].
_HOPPER_GEMM_SUSTAINED = {"bf16": 0.69, "fp16": 0.69, "fp8": 0.64}
_HOPPER_HALF_ROWS = 72.0
# GEMM contraction length (docs/modelling.md, "GEMM contraction length"): the epilogue stores each output
# tile as BF16 (2 bytes per element) after the tile's K loop, not overlapped with it [deepgemm_epilogue], so a
# GEMM of length K runs at K / (K + h), h = 2 B * R / (2 * HBM bandwidth); H800 fp8: 475 elements, against
# 446 fitted freely on DeepGEMM's H800 table [cal:deepgemm_h800]. gemm_max was fitted on K >= 4096.
_GEMM_EPILOGUE_BYTES = 2.0
_HOPPER_K_REF = 4096.0
_HOPPER_OVERHEAD_S = _OVERHEAD_S
_HOPPER_ATTN_FRACTION = _ATTN_FRACTION
_HOPPER_SOURCES = dict(
    efficiency__gemm_max="cal:h200_2026_11_30: joint fit over 135 GEMMs (Llama-3.1-8B/70B projections, M 1..8192) "
    "of max(compute, memory) + overhead: bf16 0.79, fp8 0.69 (cuBLASLt FP8 16384^3 on H100 [cal:azure_h100] "
    "0.70 is a check); other precisions take the bf16 figure",
    efficiency__gemm_half_rows="cal:h200_2026_11_30: same joint fit, 72 rows (was a 64-row assumption)",
    efficiency__gemm_epilogue_bytes="deepgemm_epilogue,cal:deepgemm_h800: BF16 output tile stored after the K loop; "
    "h = 2 R / (2 B) = 475 on H800 fp8 against 446 fitted on DeepGEMM's table",
    efficiency__gemm_k_ref="cal:h200_2026_11_30: the shortest K of the fitted GEMMs (4096)",
    efficiency__gemm_sustained="cal:h200_2026_11_30: median fraction of the GEMMs lasting >= 2 ms (power-limited "
    "clocks), bf16 0.686 over 6 shapes, fp8 0.639 over 3 (benchmarks/results/gpu-h200-2026-11-30.json)",
    efficiency__overhead_s="assumption,cal:h200_2026_11_30: 3 us, checked by CUDA-graph replay on H200 "
    "(benchmarks/results/gpu-graph-h200-2026-11-30.json): work-free RMSNorm / SiLU*mul at batch 1 take 3.05 / 2.41 us, "
    "memory-bound GEMMs 3.3-5.6 us above their weight read; a bare kernel node 0.92 us",
    efficiency__attention_memory_fraction="cal:flashmla,cal:h200_2026_11_30: 0.8 assumed for paged GQA kernels; "
    "contiguous torch SDPA decode reads 4.47-4.62 TB/s (fraction 1.0, an upper bound)",
)
# NVLink signalling energy 1.3 pJ/bit [nv_nvlink_blog] = 10.4 pJ/byte.
_NVLINK_J_PER_BYTE = 1.3e-12 * 8
# Latency per serialised step of an all-reduce on NVLink/NVSwitch. nccl-tests on ND H100 v5 fit
# ~36 us per all-reduce at >= 1 MB [cal:azure_h100], but serving engines use one-shot custom
# all-reduce kernels for the KB-sized decode messages; 3 us per step (6 us per all-reduce) assumed.
_NVLINK_STEP_S = 3e-6
_IB_STEP_S = 10e-6

_NDR = Link(
    technology="ConnectX-7 400 Gb/s (InfiniBand NDR)",
    bytes_per_s=50 * GB,
    topology="switch",
    domain_size=100_000,
    latency_s=_IB_STEP_S,
    efficiency=0.9,
    joules_per_byte=5.5e-12 * 8,
)


# NCCL all-reduce by NVLink generation (nccl-tests bus bandwidth, Azure AI-benchmarking-guide),
# fitted as library_latency_s + 2 (n-1)/n M / (link * efficiency) over 8-134 MB messages:
#   NVLink 3, ND A100 v4 (8 GPUs): 90 / 109 / 133 GB/s at 8 / 16 / 33 MB -> 90 us, 170 GB/s = 0.57 of 300;
#   NVLink 4, ND H200 v5 (8 GPUs, NVLS): 182 / 240 / 301 / 412 GB/s at 8 / 16 / 33 / 134 MB -> 45 us,
#     400 GB/s = 0.89 of 450;
#   NVLink 5, ND GB200 v6 (4 GPUs, ring): 253 / 331 / 423 / 551 GB/s at 8 / 16 / 33 / 67 MB, 680 at 8 GB
#     -> 35 us, 0.755 of 900.
# Messages up to 8 MiB run on the engines' custom all-reduce kernels (vLLM CustomAllreduce
# max_size = 8192 * 1024), larger ones on NCCL (tokenfab.collectives.allreduce_regime).
_NCCL = {300 * GB: (90e-6, 0.57), 450 * GB: (45e-6, 0.89), 900 * GB: (35e-6, 0.755)}
_CUSTOM_ALLREDUCE_MAX_BYTES = 8 * 2**20


def _nvlink(tech: str, per_direction: float, domain: int) -> Link:
    library_latency_s, efficiency = _NCCL[per_direction]
    return Link(
        technology=tech,
        bytes_per_s=per_direction,
        topology="switch",
        domain_size=domain,
        latency_s=_NVLINK_STEP_S,
        efficiency=efficiency,
        joules_per_byte=_NVLINK_J_PER_BYTE,
        library_latency_s=library_latency_s,
        custom_max_bytes=_CUSTOM_ALLREDUCE_MAX_BYTES,
    )


A100 = Device(
    id="nvidia:a100-80gb",
    vendor="NVIDIA",
    name="A100 80GB SXM4",
    year=2020,
    peak_flops_per_s={
        "fp64": 19.5 * T,
        "fp32": 19.5 * T,
        "tf32": 156 * T,
        "bf16": 312 * T,
        "fp16": 312 * T,
        "int8": 624 * T,
        "int4": 1248 * T,
    },
    memory=[
        MemoryLevel(name="l2", kind="sram", capacity_bytes=40 * 2**20, bytes_per_s=4.8 * T, holds_weights=False),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=_A100_80GB_HBM_BYTES,
            bytes_per_s=2039 * GB,
            efficiency=0.83,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(
        scale_up=_nvlink("NVLink 3 (NVSwitch gen 2)", 300 * GB, 8),
        scale_out=Link(
            technology="ConnectX-6 200 Gb/s",
            bytes_per_s=25 * GB,
            domain_size=100_000,
            latency_s=_IB_STEP_S,
            efficiency=0.9,
        ),
    ),
    power=Power(tdp_w=400, idle_w=50, host_w=6500 / 8 - 400),
    price=Price(
        usd_per_device_hour=40.96 / 8, provider="AWS p4de.24xlarge on demand (8 x A100 80GB) / 8", date="2024-2026"
    ),
    efficiency=Efficiency(
        gemm_max_default=0.82,
        gemm_half_rows=64,
        vector_fraction=0.5,
        overhead_s=_OVERHEAD_S,
        attention_memory_fraction=_ATTN_FRACTION,
    ),
    sources=_src(
        peak__fp64="nv_a100_datasheet: FP64 Tensor Core 19.5 TFLOPS",
        peak__fp32="nv_a100_datasheet",
        peak__tf32="nv_a100_datasheet: 312 sparse / 2",
        peak__bf16="nv_a100_datasheet: 624 sparse / 2",
        peak__fp16="nv_a100_datasheet: 624 sparse / 2",
        peak__int8="nv_a100_datasheet: 1248 sparse / 2",
        peak__int4="nv_a100_datasheet: 2496 sparse / 2",
        memory__l2__capacity_bytes="nv_a100_datasheet: 40 MB L2, reported as MiB",
        memory__l2__bytes_per_s="chipsandcheese_h100: A100 L2 measured ~4.8 TB/s in the same article",
        memory__hbm__capacity_bytes="nv_a100_datasheet,ootd_issue_235: 80 GB HBM2e; a process sees 79.25 GiB",
        memory__hbm__bytes_per_s="nv_a100_datasheet: 2,039 GB/s",
        memory__hbm__efficiency="cal:azure_a100: copy 1.61 / dot 1.75 TB/s of 2.039 -> 0.83",
        memory__hbm__joules_per_byte="assumption: 60 pJ/B HBM + on-chip path",
        interconnect__scale_up="nv_a100_datasheet: NVLink 600 GB/s bidirectional = 300 GB/s per direction",
        interconnect__scale_up__efficiency="cal:nccl: large-message NCCL fit",
        interconnect__scale_up__library_latency_s="cal:nccl",
        interconnect__scale_up__custom_max_bytes="vllm_custom_ar",
        interconnect__scale_out="nv_basepod: DGX A100 200 Gb/s per GPU",
        power__tdp_w="nv_a100_datasheet: 400 W",
        power__idle_w="assumption: ~12% of TDP, not vendor-published",
        power__host_w="flashgenius_dgx: DGX A100 6.5 kW max / 8 - 400 W GPU = 412.5 W host, NIC and switch share",
        price="aws_p4: p4de.24xlarge $40.96/h / 8 = $5.12 per A100 80GB hour (the p4d price is the 40 GB part)",
        efficiency__gemm_max="cal:azure_a100: FP16 GEMM 256.5 TFLOPS at 16384^3 = 0.82 of 312",
        efficiency__gemm_half_rows="assumption: 64-row tensor-core tile",
        efficiency__overhead_s="assumption",
        efficiency__attention_memory_fraction="cal:flashmla: upper bound 0.9; 0.8 assumed",
    ),
)

H100 = Device(
    id="nvidia:h100-sxm",
    vendor="NVIDIA",
    name="H100 SXM5 80GB",
    year=2022,
    peak_flops_per_s={
        "fp64": 67 * T,
        "fp32": 67 * T,
        "tf32": 494.5 * T,
        "bf16": 989.5 * T,
        "fp16": 989.5 * T,
        "fp8": 1979 * T,
        "int8": 1979 * T,
    },
    memory=[
        MemoryLevel(name="l2", kind="sram", capacity_bytes=50 * 2**20, bytes_per_s=5.5 * T, holds_weights=False),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=_H100_80GB_HBM_BYTES,
            bytes_per_s=3350 * GB,
            efficiency=0.90,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_nvlink("NVLink 4 (NVSwitch gen 3)", 450 * GB, 8), scale_out=_NDR),
    power=Power(tdp_w=700, idle_w=80, host_w=10200 / 8 - 700),
    price=Price(usd_per_device_hour=3.90, provider="AWS EC2 P5 on demand after the June 2025 cut", date="2026-03"),
    efficiency=Efficiency(
        gemm_max_default=_HOPPER_GEMM_MAX["bf16"],
        gemm_max=_HOPPER_GEMM_MAX,
        gemm_half_rows=_HOPPER_HALF_ROWS,
        gemm_epilogue_bytes=_GEMM_EPILOGUE_BYTES,
        gemm_k_ref=_HOPPER_K_REF,
        gemm_sustained=_HOPPER_GEMM_SUSTAINED,
        vector_fraction=0.5,
        overhead_s=_HOPPER_OVERHEAD_S,
        attention_memory_fraction=_HOPPER_ATTN_FRACTION,
    ),
    sources=_src(
        peak__fp64="nv_h100_page,hpctech_h100: FP64 Tensor Core 67",
        peak__fp32="nv_h100_page,hpctech_h100",
        peak__tf32="nv_h100_page,hpctech_h100: 989 sparse / 2",
        peak__bf16="nv_h100_page,hpctech_h100: 1,979 sparse / 2",
        peak__fp16="nv_h100_page,hpctech_h100: 1,979 sparse / 2",
        peak__fp8="nv_h100_page,hpctech_h100: 3,958 sparse / 2",
        peak__int8="nv_h100_page,hpctech_h100: 3,958 sparse / 2",
        memory__l2__capacity_bytes="hpctech_h100: 50 MB, as MiB",
        memory__l2__bytes_per_s="chipsandcheese_h100: ~5.5 TB/s measured on H100 PCIe; SXM assumed no lower",
        memory__hbm__capacity_bytes="nv_h100_page,hpctech_h100,vllm_issue_27508: 80 GB HBM3; a process sees 79.11 GiB",
        memory__hbm__bytes_per_s="nv_h100_page: 3.35 TB/s",
        memory__hbm__efficiency="cal:azure_h100: STREAM copy 2.90, dot 3.18 TB/s of 3.35 (0.87-0.95) -> 0.90",
        memory__hbm__joules_per_byte="assumption: 60 pJ/B HBM + on-chip path",
        interconnect__scale_up="nv_h100_page: NVLink 900 GB/s bidirectional, 450 per direction, 8-GPU HGX",
        interconnect__scale_up__efficiency="cal:nccl: large-message NCCL fit",
        interconnect__scale_up__library_latency_s="cal:nccl",
        interconnect__scale_up__custom_max_bytes="vllm_custom_ar",
        interconnect__scale_up__latency_s="cal:azure_h100,assumption: 3 us per step",
        interconnect__scale_up__joules_per_byte="nv_nvlink_blog: 1.3 pJ/bit",
        interconnect__scale_out="nv_basepod: one ConnectX-7 400 Gb/s per GPU",
        power__tdp_w="hpctech_h100: up to 700 W",
        power__idle_w="assumption: ~11% of TDP, not vendor-published",
        power__host_w="flashgenius_dgx: DGX H100 10.2 kW max / 8 - 700 W GPU = 575 W host, NIC and switch share",
        price="costnimbus_prices",
        **_HOPPER_SOURCES,
    ),
)

H200 = Device(
    id="nvidia:h200",
    vendor="NVIDIA",
    name="H200 SXM 141GB",
    year=2024,
    peak_flops_per_s=dict(H100.peak_flops_per_s),
    memory=[
        MemoryLevel(name="l2", kind="sram", capacity_bytes=50 * 2**20, bytes_per_s=5.5 * T, holds_weights=False),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=_H200_HBM_BYTES,
            bytes_per_s=4800 * GB,
            efficiency=0.88,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_nvlink("NVLink 4 (NVSwitch gen 3)", 450 * GB, 8), scale_out=_NDR),
    power=Power(tdp_w=700, idle_w=80, host_w=10200 / 8 - 700),
    price=Price(usd_per_device_hour=4.54, provider="Spheron on demand", date="2026-03-17"),
    efficiency=Efficiency(
        gemm_max_default=_HOPPER_GEMM_MAX["bf16"],
        gemm_max=_HOPPER_GEMM_MAX,
        gemm_half_rows=_HOPPER_HALF_ROWS,
        gemm_epilogue_bytes=_GEMM_EPILOGUE_BYTES,
        gemm_k_ref=_HOPPER_K_REF,
        gemm_sustained=_HOPPER_GEMM_SUSTAINED,
        vector_fraction=0.5,
        overhead_s=_HOPPER_OVERHEAD_S,
        attention_memory_fraction=_HOPPER_ATTN_FRACTION,
    ),
    sources=_src(
        peak__fp64="nv_h200_page",
        peak__fp32="nv_h200_page",
        peak__tf32="nv_h200_page: sparse / 2",
        peak__bf16="nv_h200_page: 1,979 sparse / 2",
        peak__fp16="nv_h200_page: 1,979 sparse / 2",
        peak__fp8="nv_h200_page: 3,958 sparse / 2",
        peak__int8="nv_h200_page: 3,958 sparse / 2",
        memory__l2__capacity_bytes="hpctech_h100: same GH100 die as H100 (H200 L2 not published)",
        memory__l2__bytes_per_s="chipsandcheese_h100: H100 figure, same die",
        memory__hbm__capacity_bytes="nv_h200_page,cal:h200_2026_11_30: 141 GB; a process sees 150,109,880,320 B "
        "(measured torch total_memory)",
        memory__hbm__bytes_per_s="nv_h200_page: 4.8 TB/s",
        memory__hbm__efficiency="cal:azure_h200,cal:h200_2026_11_30: Azure copy 4.01, dot 4.48 TB/s of 4.8; measured "
        "copy 4.24-4.27, read 4.22-4.27 TB/s (0.88-0.89) -> 0.88",
        memory__hbm__joules_per_byte="assumption: 60 pJ/B HBM + on-chip path",
        interconnect__scale_up="mlperf_h200_sys: NVLink 900 GB/s bidirectional, 8 GPUs",
        interconnect__scale_up__efficiency="cal:nccl: large-message NCCL fit",
        interconnect__scale_up__library_latency_s="cal:nccl",
        interconnect__scale_up__custom_max_bytes="vllm_custom_ar",
        interconnect__scale_up__latency_s="cal:azure_h100,assumption: 3 us per step",
        interconnect__scale_out="nv_basepod",
        power__tdp_w="mlperf_h200_sys: H200 TGP 700 W",
        power__idle_w="assumption: ~11% of TDP, not vendor-published",
        power__host_w="flashgenius_dgx,assumption: DGX H100's 575 W per GPU (same chassis, 700 W GPUs; DGX H200 not sourced)",
        price="spheron_2026",
        **_HOPPER_SOURCES,
    ),
)

# Blackwell (B200, GB200) GEMM tile: a tcgen05.mma issued by one SM computes M = 128 rows (M = 64 only at
# half the rate; M = 256 over a CTA pair), where Hopper's wgmma computes M = 64 [ptx_tcgen05, cutlass_bw_gemm].
# Hopper's measured half-ceiling rows are 72 for its 64-row tile [cal:h200_2026_11_30]; the same ratio over
# Blackwell's 128-row tile gives 128 * 72 / 64 = 144 rows. A decode GEMM at 400 rows reaches
# 400 / (400 + 144) = 0.74 of its ceiling (0.86 at the old 64-row assumption). Not measured on Blackwell.
_BLACKWELL_HALF_ROWS = 128.0 * _HOPPER_HALF_ROWS / 64.0
# Blackwell takes Hopper's non-overlapped BF16 epilogue (not measured on Blackwell: its TMEM accumulators let
# a kernel overlap the epilogue with the next tile); gemm_max was measured at 16384^3 [cal:azure_gb200].
_BLACKWELL_K_REF = 16384.0
# Serving NVFP4 GEMM rate (docs/modelling.md, "Blackwell NVFP4 GEMM rate"). TensorRT-LLM's NVFP4 linear layer runs
# fp4_quantize (costed as its own op, act_quantize) and then nvfp4_gemm, a CUTLASS GEMM [trtllm_nvfp4_linear]:
# the GEMM's rate is the kernel's without the quantization. CALIBRATION, vLLM's NVFP4 CUTLASS GEMM on B200 at
# N = 6144, K = 4096, nvfp4-noquant [vllm_pr_20646]: 3778.8 / 3904.3 TFLOP/s at M = 8192 / 16384 are
# 3778.8 / (9000 x 8192 / 8336) = 0.4272 and 3904.3 / (9000 x 16384 / 16528) = 0.4376 of the peak over the rows
# curve, mean 0.4324 at K = 4096. Referred to the K = 16384 of gemm_k_ref through the contraction-length factor
# (h = 9000 x g / 6545 = 660 elements at g = 0.48: (4096 / 4756) x (17044 / 16384) = 0.8959), g = 0.4324 / 0.8959
# = 0.4826 -> 0.48. CHECKS, not fitted: FlashInfer's mm_fp4 on B200 at M = 1024, N = 7168, K = 4608
# [flashinfer_pr_1979] is predicted 9000 x 0.48 x 0.911 x 1024 / 1168 = 3446 TFLOP/s against CUTLASS 3441
# (1.00), cuDNN 3798 (0.91) and the trtllm-gen kernels 2187 (1.58; not what TensorRT-LLM's linear layer calls);
# the same PR's nvfp4 column (quantization included) is predicted 1.02-1.10x by the GEMM plus act_quantize ops.
# GB200 takes the same fraction of its 10 PF peak (not measured). The cuBLASLt 16384^3 fraction [cal:azure_gb200],
# 0.76, measures large square GEMMs on pre-quantized operands back to back: it stays the training figure.
_BLACKWELL_FP4_SERVING = 0.48
_BLACKWELL_FP4_SUSTAINED = 0.76

_BLACKWELL_SOURCES = dict(
    memory__hbm__joules_per_byte="assumption: 60 pJ/B HBM + on-chip path",
    interconnect__scale_up__latency_s="assumption: as NVLink 4, 3 us per step",
    interconnect__scale_up__joules_per_byte="nv_nvlink_blog: 1.3 pJ/bit",
    memory__hbm__efficiency="assumption: no public Blackwell STREAM figure; 0.85, mean of A100/H100/H200 measurements",
    efficiency__gemm_max="cal:azure_gb200,vllm_pr_20646,trtllm_nvfp4_linear: cuBLASLt FP8 2906.9 TFLOPS of 5000 (0.58), "
    "BF16 assumed as FP8; FP4 0.48: vLLM's NVFP4 CUTLASS GEMM without the activation quantization on B200, "
    "N=6144 K=4096, M=8192/16384 (0.4324 at K=4096, / 0.8959 K factor); checked by flashinfer_pr_1979 "
    "(CUTLASS 1.00, cuDNN 0.91 of predicted)",
    efficiency__gemm_sustained="cal:azure_gb200: FP4 cuBLASLt 7627.6 TFLOPS of 10000 at 16384^3 (0.76), training",
    efficiency__gemm_half_rows="ptx_tcgen05,cutlass_bw_gemm,cal:h200_2026_11_30: 128-row tcgen05 tile x Hopper's "
    "fitted 72 rows per 64-row wgmma tile = 144 rows",
    efficiency__gemm_epilogue_bytes="deepgemm_epilogue,assumption: Hopper's non-overlapped BF16 epilogue, not "
    "measured on Blackwell",
    efficiency__gemm_k_ref="cal:azure_gb200: gemm_max measured on 16384^3 GEMMs",
    efficiency__overhead_s="assumption",
    efficiency__attention_memory_fraction="cal:flashmla: upper bound 0.9; 0.8 assumed",
    memory__l2__capacity_bytes="assumption: Blackwell L2 size not in the reference; 2 x 63 MiB dies not sourced -- "
    "level kept out of weight placement",
)

B200 = Device(
    id="nvidia:b200",
    vendor="NVIDIA",
    name="B200 (HGX B200, 1000 W)",
    year=2024,
    peak_flops_per_s={
        "fp64": 37 * T,
        "fp32": 75 * T,
        "tf32": 1100 * T,
        "bf16": 2250 * T,
        "fp16": 2250 * T,
        "fp8": 4500 * T,
        "fp6": 4500 * T,
        "fp4": 9000 * T,
        "int8": 4500 * T,
    },
    memory=[
        MemoryLevel(name="l2", kind="sram", capacity_bytes=126 * 2**20, bytes_per_s=11 * T, holds_weights=False),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=180 * GB,
            bytes_per_s=7700 * GB,
            efficiency=0.85,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_nvlink("NVLink 5 (NVSwitch gen 4)", 900 * GB, 8), scale_out=_NDR),
    power=Power(tdp_w=1000, idle_w=110, host_w=14300 / 8 - 1000),
    price=Price(usd_per_device_hour=6.03, provider="Spheron on demand", date="2026-03-17"),
    efficiency=Efficiency(
        gemm_max_default=0.58,
        gemm_max={"fp4": _BLACKWELL_FP4_SERVING},
        gemm_sustained={"fp4": _BLACKWELL_FP4_SUSTAINED},
        gemm_half_rows=_BLACKWELL_HALF_ROWS,
        gemm_epilogue_bytes=_GEMM_EPILOGUE_BYTES,
        gemm_k_ref=_BLACKWELL_K_REF,
        vector_fraction=0.5,
        overhead_s=_OVERHEAD_S,
        attention_memory_fraction=_ATTN_FRACTION,
    ),
    sources=_src(
        peak__fp64="nv_blackwell_spec_table",
        peak__fp32="nv_blackwell_spec_table",
        peak__tf32="nv_blackwell_spec_table: HGX B200 2.2 PF sparse / 2",
        peak__bf16="nv_blackwell_spec_table: 4.5 PF sparse / 2",
        peak__fp16="nv_blackwell_spec_table: 4.5 PF sparse / 2",
        peak__fp8="nv_blackwell_spec_table: 9 PF sparse / 2",
        peak__fp6="nv_blackwell_spec_table: 9 PF sparse / 2",
        peak__fp4="nv_blackwell_spec_table: 18 PF sparse / 2",
        peak__int8="nv_blackwell_spec_table: 9 POPS sparse / 2",
        memory__l2__bytes_per_s="assumption: 2x H100 L2 (two dies); level holds no weights",
        memory__hbm__capacity_bytes="nv_blackwell_spec_table,nv_dgx_b200_ug: 180 GB (HGX table)",
        memory__hbm__bytes_per_s="nv_blackwell_spec_table: 7.7 TB/s (HGX B200)",
        interconnect__scale_up="nv_blackwell_spec_table: NVLink 5 1.8 TB/s bidirectional, 900 per direction, 8 GPUs",
        interconnect__scale_up__efficiency="cal:nccl: large-message NCCL fit",
        interconnect__scale_up__library_latency_s="cal:nccl",
        interconnect__scale_up__custom_max_bytes="vllm_custom_ar",
        interconnect__scale_out="nv_dgx_b200_ug: ConnectX-7 400 Gb/s per GPU",
        power__tdp_w="nv_blackwell_spec_table: configurable up to 1,000 W",
        power__idle_w="assumption: ~11% of TDP, not vendor-published",
        power__host_w="nv_dgx_b200_ug: DGX B200 14.3 kW max / 8 - 1,000 W GPU = 787.5 W host, NIC and switch share",
        price="spheron_2026",
        **_BLACKWELL_SOURCES,
    ),
)

GB200 = Device(
    id="nvidia:gb200",
    vendor="NVIDIA",
    name="GB200 Blackwell GPU (NVL72, 1200 W)",
    year=2024,
    peak_flops_per_s={
        "fp64": 40 * T,
        "fp32": 80 * T,
        "tf32": 1250 * T,
        "bf16": 2500 * T,
        "fp16": 2500 * T,
        "fp8": 5000 * T,
        "fp6": 5000 * T,
        "fp4": 10000 * T,
        "int8": 5000 * T,
    },
    memory=[
        MemoryLevel(name="l2", kind="sram", capacity_bytes=126 * 2**20, bytes_per_s=11 * T, holds_weights=False),
        MemoryLevel(
            name="hbm",
            kind="hbm",
            capacity_bytes=186 * GB,
            bytes_per_s=8000 * GB,
            efficiency=0.85,
            joules_per_byte=_HBM_J_PER_BYTE,
        ),
    ],
    interconnect=Interconnect(scale_up=_nvlink("NVLink 5 via NVLink Switch trays", 900 * GB, 72), scale_out=_NDR),
    power=Power(tdp_w=1200, idle_w=130, host_w=120_000 / 72 - 1200),
    price=Price(
        usd_per_device_hour=9.08 / 2, provider="Spheron on demand, GB200 superchip (2 GPUs) / 2", date="2026-03-17"
    ),
    efficiency=Efficiency(
        gemm_max_default=0.58,
        gemm_max={"fp4": _BLACKWELL_FP4_SERVING},
        gemm_sustained={"fp4": _BLACKWELL_FP4_SUSTAINED},
        gemm_half_rows=_BLACKWELL_HALF_ROWS,
        gemm_epilogue_bytes=_GEMM_EPILOGUE_BYTES,
        gemm_k_ref=_BLACKWELL_K_REF,
        vector_fraction=0.5,
        overhead_s=_OVERHEAD_S,
        attention_memory_fraction=_ATTN_FRACTION,
    ),
    sources=_src(
        peak__fp64="nv_blackwell_spec_table",
        peak__fp32="nv_blackwell_spec_table",
        peak__tf32="nv_blackwell_spec_table: GB200 per GPU, sparse / 2",
        peak__bf16="nv_blackwell_spec_table: 5 PF sparse / 2",
        peak__fp16="nv_blackwell_spec_table: 5 PF sparse / 2",
        peak__fp8="nv_blackwell_spec_table: 10 PF sparse / 2",
        peak__fp6="nv_blackwell_spec_table: 10 PF sparse / 2",
        peak__fp4="nv_blackwell_spec_table: 20 PF sparse / 2",
        peak__int8="nv_blackwell_spec_table: sparse / 2",
        memory__l2__bytes_per_s="assumption: 2x H100 L2 (two dies); level holds no weights",
        memory__hbm__capacity_bytes="nv_blackwell_spec_table: 186 GB per GPU",
        memory__hbm__bytes_per_s="nv_blackwell_spec_table: 8 TB/s per GPU",
        interconnect__scale_up="nv_blackwell_spec_table,nv_dgx_gb200_ug: NVLink 5 1.8 TB/s bidirectional, 72-GPU domain",
        interconnect__scale_up__efficiency="cal:nccl: large-message NCCL fit",
        interconnect__scale_up__library_latency_s="cal:nccl",
        interconnect__scale_up__custom_max_bytes="vllm_custom_ar",
        interconnect__scale_out="nv_dgx_gb200_ug: 400 Gb/s per GPU",
        power__tdp_w="nv_blackwell_spec_table: configurable up to 1,200 W",
        power__host_w="gb200_power_secondary: ~120 kW per NVL72 rack / 72 - 1,200 W GPU = 467 W (Grace, NVLink switches, NICs)",
        power__idle_w="assumption: ~11% of TDP, not vendor-published",
        price="spheron_2026",
        **_BLACKWELL_SOURCES,
    ),
    notes="Grace LPDDR5X (480 GB per 2 GPUs over NVLink-C2C) is not modelled as a weight tier: its bandwidth per "
    "GPU is not sourced.",
)

GB200_NVL72 = System(
    id="nvidia:gb200-nvl72",
    name="GB200 NVL72 rack (72 GPUs, 36 Grace CPUs)",
    device=GB200,
    device_count=72,
    description="72 Blackwell GPUs in one NVLink 5 domain; rack power ~120 kW including CPUs, switches and cooling.",
    sources=_src(device_count="nv_blackwell_spec_table,nv_dgx_gb200_ug", power="gb200_power_secondary"),
)

DEVICES = [A100, H100, H200, B200, GB200]
SYSTEMS = [GB200_NVL72]

# -- training systems (issue 13): H800 and InfiniBand clusters ------------------------------------
URL.update(
    {
        "h800_philisun": "https://www.philisun.com/technical-analysis/nvidia-h800-vs-h100-a-technical-deep-dive-into-"
        "politically-defined-ai-chips/ (H800: H100 compute, NVLink 400 GB/s)",
        "h800_tumgag": "https://www.tumgag.com/tag/nvidia%20h100 (H800: NVLink 400 GB/s, FP64 1 TFLOPS)",
        "deepseek_v3_report": "https://arxiv.org/abs/2412.19437 (DeepSeek-V3 report: H800 cluster, NVLink 160 GB/s and "
        "IB 50 GB/s achievable per GPU; $2 per H800 GPU-hour rental assumption)",
        "nv_superpod_h100": "https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100/"
        "latest/network-fabrics.html (rail-optimised NDR 400 Gb/s compute fabric, 32 DGX per SU)",
    }
)

H800 = Device(
    id="nvidia:h800-sxm",
    vendor="NVIDIA",
    name="H800 SXM5 80GB",
    year=2023,
    peak_flops_per_s={**H100.peak_flops_per_s, "fp64": 1 * T},  # same GH100 die, FP64 fused off
    memory=list(H100.memory),
    interconnect=Interconnect(
        scale_up=Link(
            technology="NVLink 4, reduced (NVSwitch gen 3)",
            bytes_per_s=200 * GB,
            topology="switch",
            domain_size=8,
            latency_s=_NVLINK_STEP_S,
            efficiency=0.8,
            joules_per_byte=_NVLINK_J_PER_BYTE,
        ),
        scale_out=_NDR,
    ),
    power=Power(tdp_w=700, idle_w=80),
    price=Price(usd_per_device_hour=2.0, provider="DeepSeek-V3 report's rental assumption", date="2024-12"),
    efficiency=H100.efficiency,
    sources=_src(
        peak__fp64="h800_tumgag,h800_philisun: FP64 fused off to ~1 TFLOPS",
        peak__fp32="h800_philisun: as H100 SXM (same GH100 die; NVIDIA H800 datasheet not read)",
        peak__bf16="h800_philisun: 1,979 sparse / 2, as H100",
        peak__fp16="h800_philisun: as H100",
        peak__tf32="h800_philisun: as H100",
        peak__fp8="h800_philisun: 3,958 sparse / 2, as H100",
        peak__int8="h800_philisun: as H100",
        memory="h800_philisun: 80 GB HBM3, 3.35 TB/s, as H100 SXM",
        interconnect__scale_up="h800_tumgag,h800_philisun: NVLink 400 GB/s bidirectional = 200 per direction, 8 GPUs",
        interconnect__scale_up__efficiency="deepseek_v3_report: 160 GB/s achievable of 200 -> 0.8",
        interconnect__scale_out="deepseek_v3_report: InfiniBand 400 Gb/s (50 GB/s) per GPU",
        power__tdp_w="h800_philisun: 700 W",
        power__idle_w="assumption: as H100",
        price="deepseek_v3_report: $2 per GPU-hour",
        efficiency="cal:h200_2026_11_30: same GH100 die and clocks as H100/H200 (Hopper fit)",
    ),
    notes="China-market H100 variant: H100 compute, NVLink cut to 400 GB/s, FP64 fused off.",
)

# DGX SuperPOD scalable unit: 32 DGX nodes (256 GPUs), one NDR 400 Gb/s rail per GPU in a
# rail-optimised fat tree [nv_superpod_h100]; larger clusters are several units on the same fabric.
DGX_H100_SUPERPOD = System(
    id="nvidia:dgx-h100-superpod",
    name="DGX SuperPOD scalable unit, 32 x DGX H100 (256 GPUs, NDR 400G)",
    device=H100,
    device_count=256,
    description="8 H100 per NVLink node; one ConnectX-7 400 Gb/s per GPU, rail-optimised InfiniBand fat tree.",
    sources=_src(device_count="nv_superpod_h100", interconnect="nv_basepod,nv_superpod_h100"),
)
DGX_B200_SUPERPOD = System(
    id="nvidia:dgx-b200-superpod",
    name="32 x DGX B200 (256 GPUs, NDR 400G rail-optimised)",
    device=B200,
    device_count=256,
    description="8 B200 per NVLink 5 node; one ConnectX-7 400 Gb/s per GPU, rail-optimised fat tree.",
    sources=_src(
        device_count="nv_superpod_h100: 32-node scalable unit, as for H100",
        interconnect="nv_dgx_b200_ug: ConnectX-7 400 Gb/s per GPU",
    ),
)
H800_CLUSTER = System(
    id="nvidia:h800-cluster",
    name="2,048 H800 over InfiniBand (the DeepSeek-V3 training cluster)",
    device=H800,
    device_count=2048,
    description="256 nodes of 8 H800 (NVLink within a node, InfiniBand across nodes).",
    sources=_src(device_count="deepseek_v3_report: 2,048 H800 GPUs"),
)

DEVICES.append(H800)
SYSTEMS.extend([DGX_H100_SUPERPOD, DGX_B200_SUPERPOD, H800_CLUSTER])
