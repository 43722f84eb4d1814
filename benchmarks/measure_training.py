"""Measure the training kernels tokenfab's training model prices, on a real GPU (PyTorch + CUDA).

    python benchmarks/measure_training.py --out training-<device>-<date>.json

With CUDA events after warm-up, each figure the mean of the timed calls:

* GEMM rate of the three GEMMs of a linear layer in training, bf16: forward ``[T, K] x [K, N]``,
  input gradient ``[T, N] x [N, K]``, weight gradient ``[K, T] x [T, N]`` (reduction over the
  tokens), for Llama-3.1-8B's projections at T = 8192 tokens;
* causal flash attention (``scaled_dot_product_attention``) forward and backward, bf16, 32 heads
  of 128, 4k and 8k tokens: FLOP rate with the causal pair count ``s (s + 1) / 2``;
* element-wise work forward + backward (RMSNorm, SwiGLU, residual add) in eager PyTorch:
  achieved bytes per second;
* one whole Llama-3.1-8B decoder layer (eager PyTorch, SDPA) forward + backward at 8k tokens, to
  compare with the sum of its parts.
"""

# ruff: noqa: B023  (closures are timed at once, inside the loop)
from __future__ import annotations

import argparse
import json
import platform
from functools import partial

from measure_gpu import _timed as _cuda_timed

# The CUDA-event timer of measure_gpu.py (same folder), with this script's shorter repeat counts.
_timed = partial(_cuda_timed, repeat=10, warmup=3)


def gemms(torch, dev, tokens: int = 8192) -> list[dict]:
    rows = []
    for k, n in [(4096, 6144), (4096, 4096), (4096, 28672), (14336, 4096)]:
        x = torch.randn(tokens, k, device=dev, dtype=torch.bfloat16)
        w = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
        g = torch.randn(tokens, n, device=dev, dtype=torch.bfloat16)
        flops = 2.0 * tokens * k * n
        for name, fn in (("fwd", lambda: x @ w), ("dgrad", lambda: g @ w.t()), ("wgrad", lambda: x.t() @ g)):
            seconds = _timed(torch, fn)
            rows.append(
                {"k": k, "n": n, "tokens": tokens, "gemm": name, "seconds": seconds, "tflops": flops / seconds / 1e12}
            )
    return rows


def attention(torch, dev) -> list[dict]:
    import torch.nn.functional as F

    rows = []
    for seq in (4096, 8192):
        q, k, v = (torch.randn(1, 32, seq, 128, device=dev, dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
        pairs = seq * (seq + 1) / 2.0
        flops = 4.0 * 32 * 128 * pairs
        fwd = _timed(torch, lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        grad = torch.randn_like(out)

        def both():
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            o.backward(grad)

        total = _timed(torch, both)
        rows.append(
            {
                "seq": seq,
                "fwd_s": fwd,
                "bwd_s": total - fwd,
                "fwd_tflops": flops / fwd / 1e12,
                "bwd_tflops_2x": 2.0 * flops / (total - fwd) / 1e12,
                "bwd_tflops_2_5x": 2.5 * flops / (total - fwd) / 1e12,
            }
        )
    return rows


def elementwise(torch, dev, tokens: int = 8192, d: int = 4096, f: int = 14336) -> list[dict]:
    import torch.nn.functional as F

    rows = []
    x = torch.randn(tokens, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
    wn = torch.ones(d, device=dev, dtype=torch.bfloat16, requires_grad=True)
    gu = torch.randn(tokens, 2 * f, device=dev, dtype=torch.bfloat16, requires_grad=True)
    cases = {
        # (function, bytes moved forward + backward at the minimum: reads and writes of bf16 tensors)
        "rmsnorm": (lambda: F.rms_norm(x, (d,), wn), 2 * (2 + 3) * tokens * d),
        "swiglu": (lambda: F.silu(gu[:, :f]) * gu[:, f:], 2 * (3 + 5) * tokens * f),
        "residual_add": (lambda: x + x * 0.5, 2 * (2 + 2) * tokens * d),
    }
    for name, (fn, nbytes) in cases.items():
        out = fn()
        grad = torch.randn_like(out)

        def step(fn=fn, grad=grad):
            fn().backward(grad)

        seconds = _timed(torch, step)
        rows.append({"op": name, "seconds": seconds, "min_bytes": nbytes, "gb_per_s": nbytes / seconds / 1e9})
    return rows


def layer(torch, dev, tokens: int = 8192) -> dict:
    """One Llama-3.1-8B layer forward + backward, eager, SDPA, bf16, random weights."""
    import torch.nn.functional as F

    d, f, h, kv, hd = 4096, 14336, 32, 8, 128
    p = {
        name: torch.randn(*shape, device=dev, dtype=torch.bfloat16, requires_grad=True) * 0.02
        for name, shape in (("qkv", (d, (h + 2 * kv) * hd)), ("o", (h * hd, d)), ("gu", (d, 2 * f)), ("down", (f, d)))
    }
    p = {k: v.detach().requires_grad_() for k, v in p.items()}
    n1 = torch.ones(d, device=dev, dtype=torch.bfloat16, requires_grad=True)
    n2 = torch.ones(d, device=dev, dtype=torch.bfloat16, requires_grad=True)
    x = torch.randn(tokens, d, device=dev, dtype=torch.bfloat16, requires_grad=True)

    def forward():
        a = F.rms_norm(x, (d,), n1) @ p["qkv"]
        q, k, v = a.split([h * hd, kv * hd, kv * hd], dim=-1)
        q = q.view(1, tokens, h, hd).transpose(1, 2)
        k = k.view(1, tokens, kv, hd).transpose(1, 2).repeat_interleave(h // kv, dim=1)
        v = v.view(1, tokens, kv, hd).transpose(1, 2).repeat_interleave(h // kv, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(tokens, h * hd)
        y = x + o @ p["o"]
        g = F.rms_norm(y, (d,), n2) @ p["gu"]
        return y + (F.silu(g[:, :f]) * g[:, f:]) @ p["down"]

    out = forward()
    grad = torch.randn_like(out)
    fwd = _timed(torch, forward)
    total = _timed(torch, lambda: forward().backward(grad))
    gemm_flops = 2.0 * tokens * (d * (h + 2 * kv) * hd + h * hd * d + d * 2 * f + f * d)
    attn_flops = 4.0 * h * hd * tokens * (tokens + 1) / 2.0
    return {
        "tokens": tokens,
        "fwd_s": fwd,
        "fwd_bwd_s": total,
        "gemm_flops_fwd": gemm_flops,
        "attention_flops_fwd": attn_flops,
        "model_tflops": 3.0 * (gemm_flops + attn_flops) / total / 1e12,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="training-kernels.json")
    args = parser.parse_args()
    import torch

    dev = torch.device("cuda")
    result = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "host": platform.node(),
        "gemms": gemms(torch, dev),
        "attention": attention(torch, dev),
        "elementwise": elementwise(torch, dev),
        "layer": layer(torch, dev),
    }
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
