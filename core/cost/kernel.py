"""Binding to the native cost kernel, and the numpy reference of the same maths.

The maths (per scenario s, operator o, one instance on one device; see native/tokenfab_kernel.c)::

    eff      = rows / (rows + half_rows)         if half_rows > 0 else 1
    compute  = flops / (flop_rate * eff)         (0 when flops == 0)
    memory   = sum_l level_bytes[l] / (level_bytes_per_s[l] * bandwidth_scale)
    comm     = comm_latency + comm_bytes / comm_bytes_per_s
    seconds  = count * (max(compute, memory, comm) + overhead)
    dynamic  = count * (flops*J_flop + sum_l bytes_l*J_l + comm_bytes*J_comm)
    joules   = min(dynamic + idle_w * seconds, max_w * seconds)
    bound    = argmax(compute, memory, comm, overhead)  (0, 1, 2, 3; first on ties)

:func:`evaluate` runs the C kernel (one call for all scenarios); :func:`reference_evaluate`
is the numpy twin the tests hold equal to it.

Compute and memory combine as ``max`` (the roofline). A 2-norm (``hypot``) was tried: it fits
Azure's GB200 skinny GEMM (802816 x 192 x 768) better, but direct H200 measurements
(benchmarks/results/gpu-h200-2026-11-30.json, 150 cuBLAS GEMMs of Llama shapes, M = 1-8192)
put the max at 8.0% median |error| and the 2-norm at 11.2% (1.2-1.45x slow near the ridge),
so the max stays.
"""

from __future__ import annotations

import os
import warnings

import attrs
import numpy as np

from ..errors import KernelError

#: Set to a non-empty value other than ``0`` to run on the numpy reference even when the C kernel is built.
NO_NATIVE_ENV = "TOKENFAB_NO_NATIVE"


def _load_native() -> tuple[object, object, str | None]:
    """(ffi, lib, None) for the C kernel built at install time (native/build_kernel.py), or
    (None, None, why not): the env var :data:`NO_NATIVE_ENV` is set, or the extension is missing
    (no compiler at install time) or cannot be loaded."""
    if os.environ.get(NO_NATIVE_ENV, "") not in ("", "0"):
        return None, None, f"{NO_NATIVE_ENV}={os.environ[NO_NATIVE_ENV]} is set"
    try:
        from .._native import ffi, lib
    except ImportError as exc:
        return None, None, f"the C extension tokenfab._native could not be loaded ({exc})"
    return ffi, lib, None


_ffi, _lib, NATIVE_UNAVAILABLE = _load_native()

SO_FIELDS = (
    "flops",
    "flop_rate",
    "gemm_rows",
    "gemm_half_rows",
    "comm_bytes",
    "comm_bytes_per_s",
    "comm_latency_s",
    "overhead_s",
    "joules_per_flop",
    "bandwidth_scale",
)
SL_FIELDS = ("level_bytes_per_s", "joules_per_byte")
S_FIELDS = ("joules_per_comm_byte", "idle_w", "max_w")
OUT_SO = ("compute_s", "memory_s", "comm_s", "overhead_s", "seconds", "joules", "bound")
BOUND_NAMES = ("compute", "memory", "communication", "overhead")
_warned = False
_STATUS = {
    -1: "array sizes do not match",
    -2: "negative, NaN or infinite input",
    -3: "zero FLOP rate for an op with FLOPs",
    -4: "zero bandwidth for a level with bytes",
    -5: "zero link bandwidth for an op with communication",
    -6: "bandwidth_scale outside (0, 1]",
}


@attrs.frozen(kw_only=True)
class KernelInputs:
    """Contiguous float64 arrays: [S,O] for SO_FIELDS, [S,O,L] level_bytes, [S,L] SL_FIELDS, [O] count, [S] S_FIELDS."""

    flops: np.ndarray
    flop_rate: np.ndarray
    gemm_rows: np.ndarray
    gemm_half_rows: np.ndarray
    comm_bytes: np.ndarray
    comm_bytes_per_s: np.ndarray
    comm_latency_s: np.ndarray
    overhead_s: np.ndarray
    joules_per_flop: np.ndarray
    bandwidth_scale: np.ndarray
    level_bytes: np.ndarray
    level_bytes_per_s: np.ndarray
    joules_per_byte: np.ndarray
    count: np.ndarray
    joules_per_comm_byte: np.ndarray
    idle_w: np.ndarray
    max_w: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.level_bytes.shape  # (S, O, L)


def native_available() -> bool:
    """True when the C kernel is loaded; else :data:`NATIVE_UNAVAILABLE` says why."""
    return _lib is not None


def warn_fallback() -> None:
    """Warn once per process that the numpy reference runs instead of the C kernel, and why."""
    global _warned
    if _lib is None and not _warned:
        _warned = True
        warnings.warn(
            f"tokenfab: using the numpy reference instead of the C kernel: {NATIVE_UNAVAILABLE}",
            RuntimeWarning,
            stacklevel=3,
        )


def _array(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), shape))
    if arr.dtype != np.float64 or not arr.flags.c_contiguous or arr.shape != shape:
        raise KernelError(f"kernel input {name}: expected contiguous float64 of shape {shape}")
    return arr


def _normalised(inputs: KernelInputs) -> dict[str, np.ndarray]:
    S, O, L = inputs.shape
    arrays = {name: _array(getattr(inputs, name), (S, O), name) for name in SO_FIELDS}
    arrays["level_bytes"] = _array(inputs.level_bytes, (S, O, L), "level_bytes")
    arrays.update({name: _array(getattr(inputs, name), (S, L), name) for name in SL_FIELDS})
    arrays["count"] = _array(inputs.count, (O,), "count")
    arrays.update({name: _array(getattr(inputs, name), (S,), name) for name in S_FIELDS})
    return arrays


def native_evaluate(inputs: KernelInputs) -> dict[str, np.ndarray]:
    """Run the C kernel; returns [S,O] arrays OUT_SO plus [S] ``total_s`` and ``total_joules``."""
    if _lib is None:
        raise KernelError(f"native kernel unavailable: {NATIVE_UNAVAILABLE}")
    S, O, L = inputs.shape
    arrays = _normalised(inputs)
    outputs = {name: np.empty((S, O)) for name in OUT_SO}
    outputs["total_s"], outputs["total_joules"] = np.empty(S), np.empty(S)
    keep = []  # keep cdata buffers alive during the call

    def buf(arr: np.ndarray):
        ptr = _ffi.from_buffer("double[]", arr)
        keep.append(ptr)
        return ptr

    c_in = _ffi.new("tf_inputs *")
    c_in.n_scenarios, c_in.n_ops, c_in.n_levels = S, O, L
    c_in.len_so, c_in.len_sol, c_in.len_sl, c_in.len_o, c_in.len_s = S * O, S * O * L, S * L, O, S
    for name, arr in arrays.items():
        setattr(c_in, name, buf(arr))
    c_out = _ffi.new("tf_outputs *")
    for name, arr in outputs.items():
        setattr(c_out, name, _ffi.from_buffer("double[]", arr, require_writable=True))
    bad = _ffi.new("size_t *")
    status = _lib.tf_evaluate(c_in, c_out, bad)
    if status != 0:
        raise KernelError(f"native kernel: {_STATUS.get(status, status)} (element {bad[0]})")
    return outputs


def reference_evaluate(inputs: KernelInputs) -> dict[str, np.ndarray]:
    """The numpy reference of :func:`native_evaluate` (same maths, same checks)."""
    a = _normalised(inputs)
    for name, arr in a.items():
        if not np.all(np.isfinite(arr) & (arr >= 0)):
            raise KernelError(f"reference kernel: {_STATUS[-2]} ({name})")
    flops, rate, rows, half = a["flops"], a["flop_rate"], a["gemm_rows"], a["gemm_half_rows"]
    scale = a["bandwidth_scale"]
    if np.any(~((scale > 0) & (scale <= 1))):
        raise KernelError(f"reference kernel: {_STATUS[-6]}")
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(half > 0, rows / (rows + half), 1.0)
        needs = flops > 0
        if np.any(needs & ~((rate > 0) & (eff > 0))):
            raise KernelError(f"reference kernel: {_STATUS[-3]}")
        compute = np.where(needs, flops / (rate * eff), 0.0)
        lb, bw = a["level_bytes"], a["level_bytes_per_s"][:, None, :] * scale[:, :, None]
        if np.any((lb > 0) & ~(bw > 0)):
            raise KernelError(f"reference kernel: {_STATUS[-4]}")
        has = lb > 0
        memory = np.zeros(flops.shape)
        dyn_levels = np.zeros(flops.shape)
        for level in range(lb.shape[2]):  # sequential sum, as in C
            memory = memory + np.where(has[:, :, level], lb[:, :, level] / bw[:, :, level], 0.0)
            dyn_levels = dyn_levels + np.where(
                has[:, :, level], lb[:, :, level] * a["joules_per_byte"][:, None, level], 0.0
            )
        cb, cbw, clat = a["comm_bytes"], a["comm_bytes_per_s"], a["comm_latency_s"]
        if np.any((cb > 0) & ~(cbw > 0)):
            raise KernelError(f"reference kernel: {_STATUS[-5]}")
        comm = np.where(cb > 0, clat + cb / cbw, np.where(clat > 0, clat, 0.0))
    dyn = flops * a["joules_per_flop"] + dyn_levels
    dyn = dyn + np.where(cb > 0, cb * a["joules_per_comm_byte"][:, None], 0.0)
    over, count = a["overhead_s"], a["count"][None, :]
    stacked = np.stack([compute, memory, comm, over])
    longest = np.maximum(np.maximum(compute, memory), comm)
    bound = np.argmax(stacked, axis=0).astype(np.float64)
    seconds = count * (longest + over)
    joules = np.minimum(count * dyn + a["idle_w"][:, None] * seconds, a["max_w"][:, None] * seconds)
    return {
        "compute_s": count * compute,
        "memory_s": count * memory,
        "comm_s": count * comm,
        "overhead_s": count * over,
        "seconds": seconds,
        "joules": joules,
        "bound": bound,
        "total_s": seconds.sum(axis=1),
        "total_joules": joules.sum(axis=1),
    }


def evaluate(inputs: KernelInputs) -> dict[str, np.ndarray]:
    """The engine's entry point: the native kernel, or (warning once) the reference without it."""
    if _lib is not None:
        return native_evaluate(inputs)
    warn_fallback()
    return reference_evaluate(inputs)
