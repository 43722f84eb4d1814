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
"""

from __future__ import annotations

import math

from .protocol import Link


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


def point_to_point(link: Link) -> tuple[float, float]:
    return 1.0, link.latency_s


def all_to_all(link: Link, devices: int) -> tuple[float, float]:
    """(wire-bytes factor, latency) of an expert-parallel dispatch plus combine. The message size
    already counts the remote share ``(n - 1) / n``; each of the two phases takes one direct step
    where peers are one hop away, ``ceil(log2 n)`` steps otherwise."""
    if devices <= 1:
        return 0.0, 0.0
    return 1.0, allreduce_steps(link.topology, devices) * link.latency_s
