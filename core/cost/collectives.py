"""Alpha-beta cost of collectives on a link, by topology.

For ``n`` devices and a message of ``M`` bytes per device::

    all-reduce   bytes on the wire per device = 2 (n - 1) / n * M
                 latency = steps * link.latency_s
    point-to-point  bytes = M, latency = 1 step

Latency steps (serialised hops of the algorithm): ``switch`` / ``fully_connected`` / ``wafer``:
2 (one-shot reduce-scatter then all-gather, every peer one hop away); every other topology
(``ring``, ``torus2d``, ``torus3d``, ``mesh``, ``dragonfly``): ``2 * ceil(log2 n)``, the recursive
halving/doubling (Rabenseifner) schedule that collective libraries use for the small messages of
inference, which moves the same ``2 (n - 1) / n * M`` bytes as a ring.
Time = latency + wire bytes / (link.bytes_per_s * link.efficiency).

All-reduce by message size (links with ``library_latency_s > 0``, see :func:`allreduce_regime`):
serving engines run messages up to ``custom_max_bytes`` (vLLM's custom all-reduce: 8 MiB) on
their own one-/two-shot kernels and larger ones through NCCL, whose cost is
``library_latency_s + wire / (bytes_per_s * efficiency)`` (fitted to nccl-tests bus bandwidth).
The custom kernels keep the step latency; their bandwidth is the one at which both costs meet
at ``custom_max_bytes`` (an engine switches where NCCL becomes the faster), and the all-reduce
takes the cheaper of the two, so its time grows continuously with the message.

Inside a serving step the tensor-parallel all-reduce reaches only ``SERVING_ALLREDUCE_FRACTION``
of the bus bandwidth that nccl-tests measure on idle GPUs: both regimes' bandwidths are scaled by
it (latencies unchanged). The fraction is calibrated on published serving results, see
:data:`SERVING_ALLREDUCE_FRACTION`.
"""

from __future__ import annotations

import math

import numpy as np

from ..hardware.protocol import Link

#: Fraction of nccl-tests' isolated all-reduce bus bandwidth that a serving engine's tensor-parallel
#: all-reduce reaches inside a forward step (TensorRT-LLM fuses it with the residual add and RMSNorm,
#: and it runs between GEMMs on loaded, power-limited GPUs). Calibrated (docs/modelling.md,
#: ``benchmarks/fit_allreduce_fraction.py``) on the TensorRT-LLM v0.17 H200 Llama-3.1-70B FP8 rows at
#: TP2, TP4 and TP8 (27 points, role ``calibration``): the value that makes the published throughput
#: ratios across tp (same workload) match the predicted ones. Checked on H100/A100/B200/GB200 rows.
SERVING_ALLREDUCE_FRACTION = 0.73


def allreduce_steps(topology: str, devices: int) -> float:
    n = float(devices)
    if devices <= 1:
        return 0.0
    if topology in ("switch", "fully_connected", "wafer"):
        return 2.0
    if topology in ("ring", "torus2d", "torus3d", "mesh", "dragonfly"):
        return 2.0 * math.ceil(math.log2(n))
    raise ValueError(f"unknown topology {topology!r}")


def allreduce(link: Link, devices: int) -> tuple[float, float]:
    """(wire-bytes factor per message byte, latency seconds) of an all-reduce over ``devices``."""
    if devices <= 1:
        return 0.0, 0.0
    return 2.0 * (devices - 1) / devices, allreduce_steps(link.topology, devices) * link.latency_s


def allreduce_regime(
    link: Link, devices: int, wire_bytes: np.ndarray, fraction: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(latency s, bytes/s) per message of an all-reduce moving ``wire_bytes`` per device.

    With ``eta = efficiency * f`` (``f`` = ``fraction``, default :data:`SERVING_ALLREDUCE_FRACTION`):
    ``custom = steps * latency_s + wire / (bytes_per_s * eta_c)`` and
    ``library = library_latency_s + wire / (bytes_per_s * eta)``, with ``eta_c`` such that
    they are equal at ``W_s = 2 (n - 1) / n * custom_max_bytes``::

        eta_c = W_s / (W_s / eta + (library_latency_s - steps * latency_s) * bytes_per_s)

    The cheaper applies. Without library figures: the step model at full ``efficiency``."""
    factor, step_latency = allreduce(link, devices)
    wire = np.asarray(wire_bytes, dtype=np.float64)
    if link.library_latency_s <= 0.0 or link.custom_max_bytes <= 0.0 or devices <= 1:
        return np.full(wire.shape, step_latency), np.full(wire.shape, link.effective_bytes_per_s)
    eta = link.efficiency * (SERVING_ALLREDUCE_FRACTION if fraction is None else fraction)
    switch = factor * link.custom_max_bytes
    gap = max(link.library_latency_s - step_latency, 0.0)
    eta_custom = switch / (switch / eta + gap * link.bytes_per_s)
    custom_bw, library_bw = link.bytes_per_s * eta_custom, link.bytes_per_s * eta
    custom = step_latency + wire / custom_bw
    library = link.library_latency_s + wire / library_bw
    use_custom = custom <= library
    return np.where(use_custom, step_latency, link.library_latency_s), np.where(use_custom, custom_bw, library_bw)


def point_to_point(link: Link) -> tuple[float, float]:
    return 1.0, link.latency_s


def all_to_all(link: Link, devices: int) -> tuple[float, float]:
    """(wire-bytes factor, latency) of an expert-parallel dispatch plus combine. The message size
    already counts the remote share ``(n - 1) / n``; each of the two phases takes one direct step
    where peers are one hop away, ``ceil(log2 n)`` steps otherwise."""
    if devices <= 1:
        return 0.0, 0.0
    return 1.0, allreduce_steps(link.topology, devices) * link.latency_s
