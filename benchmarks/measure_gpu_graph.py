"""GEMMs and small element-wise ops timed by CUDA-graph replay (no host launch floor, no L2 reuse).

    python benchmarks/measure_gpu_graph.py --out gpu-graph-<device>-<date>.json

measure_gpu.py times GEMMs by eager launches, which leaves small shapes on a 14-20 us host floor,
and reuses one weight, which a shape under 50 MB serves from L2. Here each (shape, dtype, M) is
a graph of ``copies`` matmuls, each on its own weight (copies x weight bytes >= 512 MB), replayed:
time per GEMM = replay time / copies, as a decode step under CUDA graphs sees it. The same is done
for RMSNorm and SiLU*mul at decode batch sizes (the vector operators of a Llama layer) to pin the
per-operator time of work-free kernels. Needs PyTorch with CUDA.
"""

from __future__ import annotations

import argparse
import datetime
import json

SHAPES = [(4096, 6144), (4096, 4096), (4096, 28672), (14336, 4096), (8192, 10240), (8192, 8192), (8192, 57344),
          (28672, 8192)]  # fmt: skip
ROWS = (1, 16, 64, 128, 256, 512)


def _replay_s(torch, fn, per: int) -> float:
    fn()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    for _ in range(3):
        graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        graph.replay()
    end.record()
    torch.cuda.synchronize()
    del graph
    return start.elapsed_time(end) / 1e3 / 10 / per


def _gemms(torch, dev) -> list[dict]:
    rows, one = [], torch.tensor(1.0, device=dev)
    for k, n in SHAPES:
        copies = max(2, min(32, -(-(512 << 20) // (k * n))))
        ws = [torch.randn(k, n, device=dev, dtype=torch.bfloat16) for _ in range(copies)]
        w8 = [w.t().contiguous().to(torch.float8_e4m3fn).t() for w in ws]
        for m in ROWS:
            a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
            t = _replay_s(torch, lambda a=a, ws=ws: [a @ w for w in ws], copies)
            rows.append({"dtype": "bf16", "m": m, "n": n, "k": k, "copies": copies, "seconds": t})
            if m % 16:
                continue
            a8 = a.to(torch.float8_e4m3fn)

            def fp8(a8=a8, w8=w8):
                return [torch._scaled_mm(a8, w, scale_a=one, scale_b=one, out_dtype=torch.bfloat16) for w in w8]

            rows.append(
                {"dtype": "fp8", "m": m, "n": n, "k": k, "copies": copies, "seconds": _replay_s(torch, fp8, copies)}
            )
        del ws, w8
        torch.cuda.empty_cache()
        print(f"gemm {k}x{n}", flush=True)
    return rows


def _vector_ops(torch, dev) -> list[dict]:
    F, rows, per = torch.nn.functional, [], 64
    for batch in (1, 64, 256):
        xs = [torch.randn(batch, 4096, device=dev, dtype=torch.bfloat16) for _ in range(per)]
        gs = [torch.randn(batch, 2 * 14336, device=dev, dtype=torch.bfloat16) for _ in range(per)]
        t = _replay_s(torch, lambda xs=xs: [F.rms_norm(x, (4096,)) for x in xs], per)
        rows.append({"op": "rms_norm", "batch": batch, "width": 4096, "seconds": t})

        def act(gs=gs):
            return [F.silu(g[:, :14336]) * g[:, 14336:] for g in gs]

        rows.append({"op": "silu_mul", "batch": batch, "width": 14336, "seconds": _replay_s(torch, act, per)})
    return rows


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="gpu-graph.json")
    args = parser.parse_args()
    dev = torch.device("cuda")
    out = {
        "date": datetime.date.today().isoformat(),
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "vector_ops": _vector_ops(torch, dev),
    }
    print(json.dumps(out["vector_ops"]), flush=True)
    out["gemm_graph"] = _gemms(torch, dev)
    with open(args.out, "w") as handle:
        json.dump(out, handle, indent=1)


if __name__ == "__main__":
    main()
