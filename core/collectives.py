"""Alpha-beta cost of collectives on a link, by topology.

For ``n`` devices and a message of ``M`` bytes per device::

    all-reduce   bytes on the wire per device = 2 (n - 1) / n * M
                 latency = steps * link.latency_s
    point-to-point  bytes = M, latency = 1 step

Latency steps by topology (the number of serialised hops of the algorithm):
``switch`` / ``fully_connected`` / ``wafer``: 2 (one-shot reduce-scatter then all-gather through
the switch); ``ring``: 2 (n - 1); ``torus2d`` / ``mesh``: 2 * 2 (sqrt(n) - 1) (ring per dimension);
``torus3d``: 2 * 3 (cbrt(n) - 1); ``dragonfly``: 2 * 3 (local, global, local hop).
Time = latency + wire bytes / (link.bytes_per_s * link.efficiency).
"""

from __future__ import annotations

from .protocol import Link


def allreduce_steps(topology: str, devices: int) -> float:
    n = float(devices)
    if devices <= 1:
        return 0.0
    if topology in ("switch", "fully_connected", "wafer"):
        return 2.0
    if topology == "ring":
        return 2.0 * (n - 1.0)
    if topology in ("torus2d", "mesh"):
        return 4.0 * max(n**0.5 - 1.0, 1.0)
    if topology == "torus3d":
        return 6.0 * max(n ** (1.0 / 3.0) - 1.0, 1.0)
    if topology == "dragonfly":
        return 6.0
    raise ValueError(f"unknown topology {topology!r}")


def allreduce(link: Link, devices: int) -> tuple[float, float]:
    """(wire-bytes factor per message byte, latency seconds) of an all-reduce over ``devices``."""
    if devices <= 1:
        return 0.0, 0.0
    return 2.0 * (devices - 1) / devices, allreduce_steps(link.topology, devices) * link.latency_s


def point_to_point(link: Link) -> tuple[float, float]:
    return 1.0, link.latency_s
