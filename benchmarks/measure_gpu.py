"""Measure what the NVIDIA pack claims, on a real GPU (needs PyTorch with CUDA; tokenfab optional).

    python benchmarks/measure_gpu.py --out gpu-<device>-<date>.json
    python benchmarks/measure_gpu.py --predict gpu-<device>-<date>.json   # later, where tokenfab is installed

Measures, with CUDA events after warm-up (each figure the mean of ``repeat`` timed calls):

* GEMM rate, bf16 and fp8 (``torch._scaled_mm``), by shape: M in 1..8192 against the (K, N) of
  Llama-3.1-8B's and Llama-3.1-70B's projections at TP1 -> the pack's efficiency curve
  ``gemm_max * M / (M + gemm_half_rows)``;
* HBM bandwidth: device-to-device copy and a read-reduction over 1 and 4 GiB -> ``efficiency``;
* per-operation overhead: 100 tiny kernels launched eagerly, and replayed from a CUDA graph
  (serving stacks replay graphs in decode) -> ``overhead_s``;
* attention: ``scaled_dot_product_attention`` decode (1 query token over a KV cache) and causal
  prefill, giving achieved KV-read bandwidth and attention FLOP rate;
* Llama-3.1-8B-shaped decode steps built from torch ops (random weights, no download) at batch
  1..256 and context 1k..16k, and prefill of one prompt of 512..8192 tokens. Every layer has its
  own weights and its own KV cache, so nothing is served from the 60 MB L2 that a real model
  would read from HBM.

The GPU machine needs no tokenfab; ``--predict`` adds tokenfab's prediction beside every decode
and prefill measurement afterwards. Record results in docs/calibration.md with date and device.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform

GEMM_SHAPES = {  # (K, N) per projection at TP1
    "llama-3.1-8b": [(4096, 6144), (4096, 4096), (4096, 28672), (14336, 4096)],
    "llama-3.1-70b": [(8192, 10240), (8192, 8192), (8192, 57344), (28672, 8192)],
}
GEMM_ROWS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)


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


def _gemms(torch, dev) -> list[dict]:
    rows = []
    one = torch.tensor(1.0, device=dev)
    for model, shapes in GEMM_SHAPES.items():
        for k, n in shapes:
            b = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
            b8 = b.t().contiguous().to(torch.float8_e4m3fn).t()
            for m in GEMM_ROWS:
                a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
                flops = 2.0 * m * n * k
                seconds = _timed(torch, lambda a=a, b=b: a @ b)
                rows.append(
                    {
                        "model": model,
                        "dtype": "bf16",
                        "m": m,
                        "n": n,
                        "k": k,
                        "seconds": seconds,
                        "flops_per_s": flops / seconds,
                    }
                )
                if m % 16:
                    continue  # fp8 tensor-core GEMMs need every dimension a multiple of 16
                a8 = a.to(torch.float8_e4m3fn)
                try:
                    seconds = _timed(
                        torch,
                        lambda a8=a8, b8=b8: torch._scaled_mm(
                            a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16
                        ),
                    )
                except RuntimeError as exc:  # older torch or no fp8 support
                    rows.append({"model": model, "dtype": "fp8", "m": m, "error": str(exc)[:200]})
                    continue
                rows.append(
                    {
                        "model": model,
                        "dtype": "fp8",
                        "m": m,
                        "n": n,
                        "k": k,
                        "seconds": seconds,
                        "flops_per_s": flops / seconds,
                    }
                )
            del b, b8
    return rows


def _bandwidth(torch, dev) -> dict:
    out = {}
    for gib in (1, 4):
        size = gib << 30
        src = torch.empty(size, dtype=torch.uint8, device=dev)
        dst = torch.empty_like(src)
        out[f"copy_{gib}gib_bytes_per_s"] = 2 * size / _timed(torch, lambda src=src, dst=dst: dst.copy_(src))
        del dst
        x = src.view(torch.bfloat16)
        out[f"read_{gib}gib_bytes_per_s"] = size / _timed(torch, lambda x=x: x.sum())
        del src, x
    return out


def _overhead(torch, dev) -> dict:
    tiny = torch.zeros(1, device=dev)
    eager = _timed(torch, lambda: [tiny.add_(1) for _ in range(100)], repeat=10) / 100
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(100):
            tiny.add_(1)
    replay = _timed(torch, graph.replay, repeat=20) / 100
    return {"eager_launch_s": eager, "graph_kernel_s": replay}


def _attention(torch, dev) -> list[dict]:
    import torch.nn.functional as F

    rows, bf = [], torch.bfloat16
    heads, kv_heads, hd = 32, 8, 128
    for batch, context in ((1, 4096), (8, 4096), (64, 4096), (32, 16384), (128, 8192)):
        q = torch.randn(batch, heads, 1, hd, device=dev, dtype=bf)
        k = torch.randn(batch, kv_heads, context, hd, device=dev, dtype=bf)
        v = torch.randn_like(k)
        seconds = _timed(torch, lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
        kv_bytes = 2 * k.numel() * 2
        rows.append(
            {
                "phase": "decode",
                "batch": batch,
                "context": context,
                "heads": heads,
                "kv_heads": kv_heads,
                "head_dim": hd,
                "seconds": seconds,
                "kv_bytes_per_s": kv_bytes / seconds,
            }
        )
        del q, k, v
    for tokens in (1024, 4096, 16384):
        q = torch.randn(1, heads, tokens, hd, device=dev, dtype=bf)
        k = torch.randn(1, kv_heads, tokens, hd, device=dev, dtype=bf)
        v = torch.randn_like(k)
        seconds = _timed(
            torch, lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        )
        flops = 4.0 * heads * hd * tokens * (tokens + 1) / 2  # QK^T and PV over the causal half
        rows.append(
            {
                "phase": "prefill",
                "tokens": tokens,
                "heads": heads,
                "kv_heads": kv_heads,
                "head_dim": hd,
                "seconds": seconds,
                "flops_per_s": flops / seconds,
            }
        )
    return rows


class _Llama8B:
    """Llama-3.1-8B shapes in torch ops, random weights, one KV cache per layer."""

    d, heads, kv_heads, hd, inter, vocab, layers = 4096, 32, 8, 128, 14336, 128256, 32

    def __init__(self, torch, dev):
        bf, s = torch.bfloat16, 0.01
        d, hd, L = self.d, self.hd, self.layers
        self.torch, self.dev = torch, dev
        self.w_qkv = [torch.randn(d, (self.heads + 2 * self.kv_heads) * hd, device=dev, dtype=bf) * s for _ in range(L)]
        self.w_o = [torch.randn(self.heads * hd, d, device=dev, dtype=bf) * s for _ in range(L)]
        self.w_up = [torch.randn(d, 2 * self.inter, device=dev, dtype=bf) * s for _ in range(L)]
        self.w_down = [torch.randn(self.inter, d, device=dev, dtype=bf) * s for _ in range(L)]
        self.w_head = torch.randn(d, self.vocab, device=dev, dtype=bf) * s

    def layer_mlp(self, h, i):
        F = self.torch.nn.functional
        gate, up = (F.rms_norm(h, (self.d,)) @ self.w_up[i]).chunk(2, dim=-1)
        return h + (F.silu(gate) * up) @ self.w_down[i]

    def decode(self, x, ks, vs):
        F, B = self.torch.nn.functional, x.shape[0]
        h = x
        for i in range(self.layers):
            qkv = F.rms_norm(h, (self.d,)) @ self.w_qkv[i]
            q = qkv[:, : self.heads * self.hd].view(B, self.heads, 1, self.hd)
            attn = F.scaled_dot_product_attention(q, ks[i], vs[i], enable_gqa=True)
            h = h + attn.reshape(B, self.heads * self.hd) @ self.w_o[i]
            h = self.layer_mlp(h, i)
        return F.rms_norm(h[:, :], (self.d,)) @ self.w_head

    def prefill(self, x):
        F, T = self.torch.nn.functional, x.shape[0]
        h = x
        for i in range(self.layers):
            qkv = F.rms_norm(h, (self.d,)) @ self.w_qkv[i]
            q, k, v = qkv.split([self.heads * self.hd, self.kv_heads * self.hd, self.kv_heads * self.hd], dim=-1)
            q = q.view(T, self.heads, self.hd).transpose(0, 1)[None]
            k = k.view(T, self.kv_heads, self.hd).transpose(0, 1)[None]
            v = v.view(T, self.kv_heads, self.hd).transpose(0, 1)[None]
            attn = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            h = h + attn[0].transpose(0, 1).reshape(T, self.heads * self.hd) @ self.w_o[i]
            h = self.layer_mlp(h, i)
        return F.rms_norm(h[-1:], (self.d,)) @ self.w_head


def _graph_time(torch, fn) -> float:
    fn()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    seconds = _timed(torch, graph.replay, repeat=10, warmup=3)
    del graph
    return seconds


def _steps(torch, dev) -> list[dict]:
    model, bf, results = _Llama8B(torch, dev), torch.bfloat16, []
    m = model
    for batch in (1, 8, 32, 64, 128, 256):
        for context in (1024, 4096, 16384):
            kv_bytes = 2 * m.layers * m.kv_heads * m.hd * 2 * batch * context
            if kv_bytes > 0.7 * torch.cuda.mem_get_info()[0]:
                continue
            shape = (batch, m.kv_heads, context, m.hd)
            ks = [torch.randn(shape, device=dev, dtype=bf) for _ in range(m.layers)]
            vs = [torch.randn(shape, device=dev, dtype=bf) for _ in range(m.layers)]
            x = torch.randn(batch, m.d, device=dev, dtype=bf)
            seconds = _graph_time(torch, lambda x=x, ks=ks, vs=vs: m.decode(x, ks, vs))
            results.append(
                {
                    "model": "llama-3.1-8b",
                    "phase": "decode",
                    "batch": batch,
                    "context": context,
                    "seconds": seconds,
                    "note": "torch ops + CUDA graph, per-layer KV, bf16",
                }
            )
            del ks, vs, x
    for tokens in (512, 2048, 8192):
        x = torch.randn(tokens, m.d, device=dev, dtype=bf)
        seconds = _timed(torch, lambda x=x: m.prefill(x), repeat=5, warmup=2)
        results.append(
            {
                "model": "llama-3.1-8b",
                "phase": "prefill",
                "batch": 1,
                "tokens": tokens,
                "context": 0,
                "seconds": seconds,
                "note": "torch ops, eager, SDPA causal, bf16",
            }
        )
    return results


def measure(torch) -> dict:
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    out: dict = {
        "date": datetime.date.today().isoformat(),
        "device": torch.cuda.get_device_name(0),
        "multiprocessors": props.multi_processor_count,
        "memory_bytes": props.total_memory,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "host": platform.node(),
    }
    for name, fn in (
        ("bandwidth", _bandwidth),
        ("overhead", _overhead),
        ("gemm", _gemms),
        ("attention", _attention),
        ("steps", _steps),
    ):
        out[name] = fn(torch, dev)
        torch.cuda.empty_cache()
        print(f"measured {name}", flush=True)
    return out


def predict(data: dict, backend: str) -> None:
    """Add tokenfab's prediction beside every decode/prefill step measured."""
    import tokenfab

    for row in data["steps"]:
        if row["phase"] == "decode":
            cost = tokenfab.decode_step(row["model"], backend, batch=row["batch"], context=row["context"], devices=1)
        else:
            cost = tokenfab.prefill(row["model"], backend, tokens=row["tokens"], devices=1)
        row["predicted_s"] = float(cost.seconds)
        print(
            f"{row['phase']:7s} b={row['batch']:4d} ctx={row.get('context', 0):6d} tok={row.get('tokens', 1):5d} "
            f"measured {row['seconds'] * 1e3:8.3f} ms predicted {row['predicted_s'] * 1e3:8.3f} ms "
            f"ratio {row['predicted_s'] / row['seconds']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="gpu-calibration.json")
    parser.add_argument("--predict", metavar="JSON", help="add tokenfab predictions to a measured file")
    parser.add_argument("--backend", default=None, help="tokenfab backend to compare with (default from the name)")
    args = parser.parse_args()
    if args.predict:
        with open(args.predict) as handle:
            data = json.load(handle)
    else:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("measure_gpu.py needs a CUDA GPU")
        data = measure(torch)
        with open(args.out, "w") as handle:
            json.dump(data, handle, indent=2)
    name = data["device"].lower()
    backend = args.backend or ("nvidia:h200" if "h200" in name else "nvidia:h100-sxm" if "h100" in name else None)
    try:
        if backend:
            predict(data, backend)
    except ImportError:
        print("tokenfab is not installed here: run --predict on the JSON where it is")
    print(json.dumps({k: v for k, v in data.items() if k not in ("gemm", "steps", "attention")}, indent=2))
    if args.predict:
        with open(args.predict, "w") as handle:
            json.dump(data, handle, indent=2)


if __name__ == "__main__":
    main()
