"""Pipeline stages split by bytes, whole layers each.

A replica of ``pp`` stages holds the ``L`` decoder layers in contiguous runs, the embedding table on
the first stage and the final norm and LM head on the last. With ``w`` the bytes of the heaviest
layer on one device (per-layer ops after the tensor split; for models that mix layer kinds, e.g.
dense and MoE MLPs, the heavier kind), ``e1`` and ``e2`` the first and last stage's extra bytes,
a split with at most ``M`` bytes on any device holds

    n1 = floor((M - e1) / w),   n_mid = floor(M / w),   n2 = floor((M - e2) / w)

layers on the first, middle and last stages, and is feasible when every stage holds at least one
layer and ``n1 + (pp - 2) n_mid + n2 >= L``. The split used is the one with the smallest such ``M``
(the end stages, which carry the embedding and LM head, get fewer layers). ``pp = 1``: one stage
holds everything, ``L w + e1 + e2``. The KV cache per device then scales with the most layers a
stage holds, ``max(n1, n_mid, n2)`` capped so the other stages keep one layer each.

Before, every stage held ``ceil(L / pp)`` layers plus the larger end: Llama-3.1-405B in bf16 on
CS-3 wafers (6.36 GB a layer, 4.2 GB embedding and LM head, 41.8 GB usable) needed 26 wafers
(``ceil(126 / 26) = 5`` layers + 4.2 GB); by bytes it needs 22 (middle stages 6 layers, 38.2 GB;
end stages 5 layers and the 4.2 GB table, 36 GB; ``2 x 5 + 20 x 6 = 130 >= 126``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import attrs

_TOLERANCE = 1e-9  # relative slack for floating-point floors of exact multiples


@attrs.frozen
class StageSplit:
    """Bytes of weights on the fullest device of a pipeline, and the most layers a stage holds."""

    weight_bytes: float
    max_layers: int


def heaviest_layer_bytes(ops: Sequence, num_layers: int) -> float:
    """Per-device weight bytes of the heaviest decoder layer: ops in every layer, plus the heaviest
    group of ops that only some layers have (grouped by their layer count)."""
    common, partial = 0.0, defaultdict(float)
    for op in ops:
        if not op.layer:
            continue
        if op.count >= num_layers:
            common += op.stored_bytes
        else:
            partial[op.count] += op.stored_bytes
    return common + max(partial.values(), default=0.0)


def _layers(budget: float, w: float) -> int:
    if budget < 0:
        return -1
    return int(math.floor(budget / w * (1.0 + _TOLERANCE))) if w > 0 else 10**9


def _feasible(M: float, w: float, first: float, last: float, L: int, pp: int) -> bool:
    n1, n2, mid = _layers(M - first, w), _layers(M - last, w), _layers(M, w)
    return min(n1, n2, mid) >= 1 and n1 + n2 + (pp - 2) * mid >= L


def split_stages(ops: Sequence, num_layers: int, pp: int) -> StageSplit:
    """The byte-balanced split of :mod:`this module <tokenfab.planning.stages>`."""
    w = heaviest_layer_bytes(ops, num_layers)
    ends = {op.name: op.stored_bytes * op.count for op in ops if not op.layer}
    first = ends.get("embedding", 0.0)
    last = sum(v for name, v in ends.items() if name != "embedding")
    if pp <= 1:
        layer_bytes = sum(op.stored_bytes * op.count for op in ops if op.layer)
        return StageSplit(weight_bytes=layer_bytes + first + last, max_layers=num_layers)
    candidates = sorted({k * w + extra for k in range(1, num_layers + 1) for extra in (0.0, first, last)})
    low, high = 0, len(candidates) - 1  # the largest candidate (L layers + the larger end) is feasible
    while low < high:
        mid = (low + high) // 2
        if _feasible(candidates[mid], w, first, last, num_layers, pp):
            high = mid
        else:
            low = mid + 1
    M = candidates[low]
    most = max(_layers(M - first, w), _layers(M, w) if pp > 2 else 0, _layers(M - last, w))
    return StageSplit(weight_bytes=M, max_layers=min(most, num_layers - (pp - 1)))
