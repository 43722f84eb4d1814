"""Step-time tables for the serving simulator: the cost model evaluated once on a grid, then
interpolated, so that a simulation of thousands of steps costs no kernel calls.

Three tables from one plan (each one kernel call):

* ``decode[b, c]``: a decode step of ``b`` sequences at mean context ``c``;
* ``mixed[b, c, k]``: the same step carrying ``k`` prompt tokens of chunked prefill (a
  :class:`tokenfab.engine.Part` beside the decode tokens, sharing the weight reads);
* ``prefill[k]``: a step of ``k`` prompt tokens alone.

Interpolation is linear in ``log b``, ``c`` and ``log k`` between grid points (clamped at the
ends); a chunk's own prefix (earlier chunks of the same prompt) is taken as half the chunk, the
mean over a prompt's chunks being ``I / 2`` for the attention pairs it adds, see docs/planning.md.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..cost.engine import Part, Plan, run_plan


def _axis(values: np.ndarray, x: np.ndarray | float, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """(lower index, weight of the upper point) of ``x`` on a sorted grid, clamped."""
    grid = np.log(values) if log else values
    x = np.log(np.maximum(x, values[0])) if log else np.asarray(x, dtype=np.float64)
    x = np.clip(x, grid[0], grid[-1])
    if len(grid) == 1:
        return np.zeros(np.shape(x), dtype=int), np.zeros(np.shape(x))
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    w = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i, w


@attrs.frozen(kw_only=True)
class StepTimes:
    """Step times in seconds on grids of batch, context and chunk tokens (see module docstring)."""

    batch: np.ndarray = attrs.field(eq=False)
    context: np.ndarray = attrs.field(eq=False)
    chunk: np.ndarray = attrs.field(eq=False)
    decode_s: np.ndarray = attrs.field(eq=False)  # [batch, context]
    mixed_s: np.ndarray = attrs.field(eq=False)  # [batch, context, chunk]
    prefill_s: np.ndarray = attrs.field(eq=False)  # [chunk]

    @classmethod
    def constant(cls, *, decode_s: float, prefill_s: float) -> StepTimes:
        """Every decode step takes ``decode_s`` and every step with prompt tokens ``prefill_s``:
        the deterministic server of queueing theory (used to check the simulator against M/D/1)."""
        one = np.array([1.0])
        return cls(
            batch=one,
            context=np.array([0.0]),
            chunk=one,
            decode_s=np.full((1, 1), decode_s),
            mixed_s=np.full((1, 1, 1), prefill_s),
            prefill_s=np.full(1, prefill_s),
        )

    @classmethod
    def from_plan(
        cls, plan: Plan, *, max_batch: int, max_context: int, chunk_tokens: int, host_s_per_sequence: float = 0.0
    ) -> StepTimes:
        """Tables for one replica of ``plan`` (three kernel calls). With ``host_s_per_sequence`` = ``h``
        (``Workload.host_s_per_sequence``) a step of ``n`` sequences lasts at least ``n h / ep``, as in
        :func:`tokenfab.serving.host_paced`: ``n = b`` decoding, ``b + 1`` with a prompt chunk, 1 alone."""
        batch = np.unique(np.round(np.geomspace(1, max(max_batch, 1), num=min(max_batch, 12)))).astype(np.float64)
        context = np.floor(np.linspace(0.0, float(max_context), 6))  # whole tokens: run_plan takes integer contexts
        chunk = np.unique(np.round(np.geomspace(1, max(chunk_tokens, 1), num=10))).astype(np.float64)
        decode = np.asarray(run_plan(plan, "decode", batch[:, None], 1, context[None, :], check_fit=False).seconds)
        b, c, k = (a.ravel() for a in np.meshgrid(batch, context, chunk, indexing="ij"))
        extra = Part(batch=np.ones_like(k), tokens=k, context=np.floor(k / 2.0), sampled=True)
        mixed = np.asarray(run_plan(plan, "decode", b, 1, c, check_fit=False, extra=extra).seconds)
        prefill = np.atleast_1d(run_plan(plan, "prefill", 1, chunk, np.floor(chunk / 2.0), check_fit=False).seconds)
        host = host_s_per_sequence / plan.mapping.ep
        decode = np.maximum(decode, batch[:, None] * host)
        mixed, prefill = np.maximum(mixed, (b + 1.0) * host), np.maximum(prefill, host)
        return cls(
            batch=batch,
            context=context,
            chunk=chunk,
            decode_s=decode.reshape(len(batch), len(context)),
            mixed_s=mixed.reshape(len(batch), len(context), len(chunk)),
            prefill_s=prefill,
        )

    def decode(self, batch: int, context: np.ndarray) -> np.ndarray:
        """Decode step times of ``batch`` sequences at each mean ``context`` (an array)."""
        bi, bw = _axis(self.batch, float(batch), log=True)
        bi, bw = int(bi), float(bw)
        ci, cw = _axis(self.context, np.asarray(context, dtype=np.float64), log=False)
        b1, c1 = min(int(bi) + 1, len(self.batch) - 1), np.minimum(ci + 1, len(self.context) - 1)
        t = self.decode_s
        low = t[bi, ci] * (1 - cw) + t[bi, c1] * cw
        high = t[b1, ci] * (1 - cw) + t[b1, c1] * cw
        return low * (1 - bw) + high * bw

    def step(self, batch: int, context: float, chunk: int) -> float:
        """One step: ``batch`` decoding sequences at mean ``context`` plus ``chunk`` prompt tokens."""
        if chunk <= 0:
            return float(self.decode(batch, np.array([context]))[0])
        ki, kw = _axis(self.chunk, float(chunk), log=True)
        if batch == 0:
            p = self.prefill_s
            return float(p[ki] * (1 - kw) + p[min(ki + 1, len(p) - 1)] * kw)
        bi, bw = _axis(self.batch, float(batch), log=True)
        ci, cw = _axis(self.context, float(context), log=False)
        total = 0.0
        for db, wb in ((0, 1 - bw), (1, bw)):
            for dc, wc in ((0, 1 - cw), (1, cw)):
                for dk, wk in ((0, 1 - kw), (1, kw)):
                    weight = float(wb * wc * wk)
                    if weight:
                        total += weight * float(
                            self.mixed_s[
                                min(bi + db, len(self.batch) - 1),
                                min(ci + dc, len(self.context) - 1),
                                min(ki + dk, len(self.chunk) - 1),
                            ]
                        )
        return total
