"""Service-level objectives: limits on time to first token and time per output token.

An :class:`SLO` holds a TTFT limit, a TPOT limit (or, equivalently, a floor on tokens/s per
user: ``tpot_s = 1 / tokens_per_s_per_user``) and the percentile at which they hold when requests
arrive at a rate (p99 by default, as MLPerf Inference Server and ``vllm bench --goodput`` judge
tail latency). Without a rate the limits apply to the steady-state estimate.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..errors import ValidationError
from ..units import parse_quantity


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    seconds = parse_quantity(value, field=name)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValidationError(f"{name}: must be a time > 0 (e.g. 2s, 50ms), got {value!r}")
    return seconds


@attrs.frozen(kw_only=True)
class SLO:
    """Latency limits in seconds; ``None`` = no limit. ``percentile`` (0-100] applies under load."""

    ttft_s: float | None = attrs.field(default=None, converter=lambda v: _seconds("ttft", v))
    tpot_s: float | None = attrs.field(default=None, converter=lambda v: _seconds("tpot", v))
    percentile: float = 99.0

    def __attrs_post_init__(self) -> None:
        ok = isinstance(self.percentile, (int, float)) and not isinstance(self.percentile, bool)
        if not ok or not 0.0 < float(self.percentile) <= 100.0:
            raise ValidationError(f"SLO: percentile must be in (0, 100], got {self.percentile!r}", field="percentile")

    @classmethod
    def of(cls, slo: Any) -> SLO:
        """An :class:`SLO` from an SLO, a dict of its fields (``ttft_s``, ``tpot_s``, ``percentile``) or ``None``."""
        if slo is None or isinstance(slo, SLO):
            return slo or cls()
        if not isinstance(slo, dict):
            raise ValidationError(f"slo: expected a tokenfab SLO or a dict, got {type(slo).__name__}", field="slo")
        known = [f.name for f in attrs.fields(cls)]
        unknown = [key for key in slo if key not in known]
        if unknown:
            raise ValidationError(f"slo: unknown field {unknown[0]!r} (known: {', '.join(known)})", field="slo")
        return cls(**slo)

    @classmethod
    def from_options(
        cls,
        *,
        ttft: Any = None,
        tpot: Any = None,
        tokens_per_s_per_user: float | None = None,
        percentile: float = 99.0,
    ) -> SLO:
        """``tokens_per_s_per_user`` is the alternative to ``tpot`` (give one of them)."""
        if tokens_per_s_per_user is not None:
            if tpot is not None:
                raise ValidationError("tokens_per_s_per_user: give either tpot or tokens/s per user, not both")
            number = isinstance(tokens_per_s_per_user, (int, float)) and not isinstance(tokens_per_s_per_user, bool)
            if not number or not 0 < float(tokens_per_s_per_user) < math.inf:
                raise ValidationError(f"tokens_per_s_per_user: must be > 0, got {tokens_per_s_per_user!r}")
            tpot = 1.0 / float(tokens_per_s_per_user)
        return cls(ttft_s=ttft, tpot_s=tpot, percentile=percentile)

    def violations(self, ttft_s: float, tpot_s: float) -> dict[str, float]:
        """``{limit: measured / limit}`` for each limit exceeded (ratios > 1)."""
        out = {}
        if self.ttft_s is not None and ttft_s > self.ttft_s:
            out["ttft"] = ttft_s / self.ttft_s
        if self.tpot_s is not None and tpot_s > self.tpot_s:
            out["tpot"] = tpot_s / self.tpot_s
        return out

    def met(self, ttft_s: float, tpot_s: float) -> bool:
        return not self.violations(ttft_s, tpot_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ttft_s": self.ttft_s,
            "tpot_s": self.tpot_s,
            "tokens_per_s_per_user": None if self.tpot_s is None else 1.0 / self.tpot_s,
            "percentile": float(self.percentile),
        }

    def describe(self) -> str:
        parts = []
        if self.ttft_s is not None:
            parts.append(f"TTFT <= {self.ttft_s * 1e3:g} ms")
        if self.tpot_s is not None:
            parts.append(f"TPOT <= {self.tpot_s * 1e3:.3g} ms ({1 / self.tpot_s:.3g} tok/s/user)")
        return ", ".join(parts) or "no latency limit"
