"""Measure what the NVIDIA pack claims, on a real GPU (needs PyTorch with CUDA).

    python benchmarks/measure_gpu.py --out calibration-<device>-<date>.json

Measures, with CUDA events after warm-up:

* GEMM rate (bf16, and fp8 via torch._scaled_mm where available) by shape: M in
  1..8192 against the N, K of Llama-3.1-8B's projections -> the efficiency curve
  ``gemm_max * M / (M + gemm_half_rows)`` in the pack;
* device-to-device copy and read-reduction bandwidth over 1 GiB -> HBM ``efficiency``;
* an empty-kernel chain -> per-operation ``overhead_s``;
* a Llama-3.1-8B-shaped decode step built from torch ops (random weights, no model download)
  at batch 1..256 and context 1k..16k -> decode step seconds to compare with
  ``tokenfab.decode_step``.

It prints tokenfab's prediction beside every measurement, and writes all figures with the date,
device name, driver and library versions to ``--out``. Record results in docs/calibration.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform


def _timed(torch, fn, repeat: int = 20, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeat):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / repeat


def measure(torch) -> dict:
    dev = torch.device("cuda")
    out: dict = {
        "date": datetime.date.today().isoformat(),
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "host": platform.node(),
        "gemm": [],
        "bandwidth": {},
        "decode": [],
    }
    shapes = [(4096, 6144), (4096, 4096), (4096, 28672), (14336, 4096)]  # (K, N) of qkv, o, up, down
    for m in (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192):
        for k, n in shapes:
            a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
            b = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
            seconds = _timed(torch, lambda a=a, b=b: a @ b)
            out["gemm"].append(
                {"dtype": "bf16", "m": m, "n": n, "k": k, "seconds": seconds, "flops_per_s": 2 * m * n * k / seconds}
            )
            if hasattr(torch, "_scaled_mm") and hasattr(torch, "float8_e4m3fn"):
                try:
                    a8 = a.to(torch.float8_e4m3fn)
                    b8 = b.t().contiguous().to(torch.float8_e4m3fn).t()
                    one = torch.tensor(1.0, device=dev)
                    seconds = _timed(
                        torch,
                        lambda a8=a8, b8=b8, one=one: torch._scaled_mm(
                            a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16
                        ),
                    )
                    out["gemm"].append(
                        {
                            "dtype": "fp8",
                            "m": m,
                            "n": n,
                            "k": k,
                            "seconds": seconds,
                            "flops_per_s": 2 * m * n * k / seconds,
                        }
                    )
                except RuntimeError:
                    pass
    size = 1 << 30
    src = torch.empty(size, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    out["bandwidth"]["copy_bytes_per_s"] = 2 * size / _timed(torch, lambda: dst.copy_(src))
    x = torch.empty(size // 2, dtype=torch.bfloat16, device=dev)
    out["bandwidth"]["read_bytes_per_s"] = size / _timed(torch, lambda: x.sum())
    tiny = torch.zeros(1, device=dev)
    out["overhead_s"] = _timed(torch, lambda: [tiny.add_(1) for _ in range(100)], repeat=10) / 100
    out["decode"] = _decode_steps(torch, dev)
    return out


def _decode_steps(torch, dev) -> list[dict]:
    """A Llama-3.1-8B-shaped decode step from torch ops: the 32 layers share one weight set to
    save memory, which keeps the bytes read per step equal to the real model's."""
    import torch.nn.functional as F

    d, heads, kv_heads, hd, inter, vocab, layers = 4096, 32, 8, 128, 14336, 128256, 32
    bf = torch.bfloat16
    w_qkv = [torch.randn(d, (heads + 2 * kv_heads) * hd, device=dev, dtype=bf) * 0.01 for _ in range(layers)]
    w_o = [torch.randn(heads * hd, d, device=dev, dtype=bf) * 0.01 for _ in range(layers)]
    w_up = [torch.randn(d, 2 * inter, device=dev, dtype=bf) * 0.01 for _ in range(layers)]
    w_down = [torch.randn(inter, d, device=dev, dtype=bf) * 0.01 for _ in range(layers)]
    w_head = torch.randn(d, vocab, device=dev, dtype=bf) * 0.01
    results = []
    for batch in (1, 8, 32, 64, 128, 256):
        for context in (1024, 4096, 16384):
            kv_bytes = 2 * layers * kv_heads * hd * 2 * batch * context
            if kv_bytes > 0.6 * torch.cuda.mem_get_info()[0]:
                continue
            k = torch.randn(batch, kv_heads, context, hd, device=dev, dtype=bf)
            v = torch.randn_like(k)
            x = torch.randn(batch, d, device=dev, dtype=bf)

            def step(x=x, k=k, v=v, batch=batch):
                h = x
                for i in range(layers):
                    qkv = F.rms_norm(h, (d,)) @ w_qkv[i]
                    q = qkv[:, : heads * hd].view(batch, kv_heads, heads // kv_heads, hd)
                    attn = F.scaled_dot_product_attention(q, k, v)  # same K, V per layer: bytes match
                    h = h + attn.reshape(batch, heads * hd) @ w_o[i]
                    gate, up = (F.rms_norm(h, (d,)) @ w_up[i]).chunk(2, dim=-1)
                    h = h + (F.silu(gate) * up) @ w_down[i]
                return F.rms_norm(h, (d,)) @ w_head

            graph = torch.cuda.CUDAGraph()
            step()
            torch.cuda.synchronize()
            with torch.cuda.graph(graph):
                step()
            seconds = _timed(torch, graph.replay)
            results.append(
                {
                    "model": "llama-3.1-8b",
                    "batch": batch,
                    "context": context,
                    "seconds": seconds,
                    "note": "torch ops + CUDA graph, one K/V tensor per step reused by every layer",
                }
            )
            del k, v, graph
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="gpu-calibration.json")
    parser.add_argument("--backend", default=None, help="tokenfab backend to compare with (default from the name)")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("measure_gpu.py needs a CUDA GPU")
    data = measure(torch)
    name = data["device"].lower()
    backend = args.backend or ("nvidia:h200" if "h200" in name else "nvidia:h100-sxm" if "h100" in name else None)
    if backend:
        import tokenfab

        for row in data["decode"]:
            row["predicted_s"] = float(
                tokenfab.decode_step(
                    "llama-3.1-8b", backend, batch=row["batch"], context=row["context"], devices=1
                ).seconds
            )
            print(
                f"decode b={row['batch']:4d} ctx={row['context']:6d} measured {row['seconds'] * 1e3:7.2f} ms "
                f"predicted {row['predicted_s'] * 1e3:7.2f} ms ratio {row['predicted_s'] / row['seconds']:.2f}"
            )
    print(json.dumps({k: v for k, v in data.items() if k not in ("gemm", "decode")}, indent=2))
    with open(args.out, "w") as handle:
        json.dump(data, handle, indent=2)


if __name__ == "__main__":
    main()
