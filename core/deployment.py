"""What runs where, and what it serves: :class:`Deployment` and :class:`Workload`.

A :class:`Deployment` is a backend id, a device count, a parallel mapping and a precision per
tensor class. Fields left ``None`` are decided by tokenfab (the mapping search, the precision
defaults, the placement rules); every result carries the *resolved* deployment, with each
field filled in, so ``estimate(model, deployment=result.deployment, workload=result.workload)``
replays the same numbers.

Mapping vocabulary (one model replica is ``tp * pp * ep`` devices)::

    devices       = tp * pp * ep * dp
    tp            tensor-parallel degree (heads, MLP width, vocabulary split)
    pp            pipeline stages (whole layers per stage)
    ep            expert-parallel degree (MoE models); attention then runs data-parallel over
                  ``attention_dp = ep`` groups of ``tp`` devices (DeepSeek-V3's serving layout)
    dp            data-parallel replicas sharing the batch

A :class:`Workload` is what one deployment serves: ``batch`` concurrent sequences (or, for the
simulator, a request ``rate``) of ``input_tokens`` prompt and ``output_tokens`` generated
tokens, optionally with speculative decoding.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import attrs

from . import bounds
from .errors import ValidationError
from .hardware.protocol import PRECISION_BITS

#: Memory placements of weights a deployment may ask for (see docs/modelling.md, "On-chip placement").
PRECISION_FIELDS = ("weights", "activations", "kv", "attention")
MAPPING_FIELDS = ("tp", "pp", "ep", "dp", "attention_dp")
MAX_DRAFT_TOKENS = 64  # tokens drafted per cycle: beyond a few dozen, a^g makes them worthless


def _positive_int(owner: str, name: str, value: Any, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    return bounds.check_int(name, value, 1)  # integers only: no bool, fraction, inf, NaN or beyond 1e12


def _precision(owner: str, name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in PRECISION_BITS:
        raise ValidationError(f"{name}: precision must be one of {', '.join(PRECISION_BITS)}, got {value!r}")
    return value


def _memory_level(owner: str, name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{name}: must be a memory level name such as 'hbm' or 'sram', got {value!r}")
    return value


def checked_fields(cls: type, data: Any) -> Any:
    """Build ``cls`` from a mapping; an unknown key is a one-line :class:`ValidationError`."""
    if not isinstance(data, dict):
        raise ValidationError(
            f"{cls.__name__}: expected a mapping of fields, got {type(data).__name__}", field=cls.__name__
        )
    known = [f.name for f in attrs.fields(cls)]
    for key in data:
        if key not in known:
            raise ValidationError(f"{cls.__name__}: unknown field {key!r} (known: {', '.join(known)})", field=str(key))
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING and field.name not in data:
            raise ValidationError(f"{field.name}: required by {cls.__name__}, got no value", field=field.name)
    return data


@attrs.frozen(kw_only=True)
class Speculative:
    """Speculative decoding: ``draft`` (a model id, config, :class:`Model`, or ``"mtp"``) proposes
    ``tokens`` tokens per cycle, each accepted with probability ``acceptance``."""

    draft: Any
    tokens: int = 3
    acceptance: float = 0.7

    def __attrs_post_init__(self) -> None:
        if self.draft is None or (isinstance(self.draft, str) and not self.draft.strip()):
            raise ValidationError("speculative.draft: give a draft model (an id, a config, a Model or 'mtp'), got None")
        bounds.check_int("speculative.tokens", self.tokens, 1, MAX_DRAFT_TOKENS)
        bounds.check_number("speculative.acceptance", self.acceptance, 0.0, 1.0)

    @property
    def expected_tokens(self) -> float:
        """Tokens per sequence per cycle: ``(1 - a^(g+1)) / (1 - a)`` (``g + 1`` when ``a = 1``)."""
        a, g = float(self.acceptance), self.tokens
        return float(g + 1) if a == 1.0 else (1.0 - a ** (g + 1)) / (1.0 - a)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; a :class:`Model` draft is written as its id."""
        draft = self.draft if isinstance(self.draft, (str, dict)) else getattr(self.draft, "id", str(self.draft))
        return {"draft": draft, "tokens": self.tokens, "acceptance": float(self.acceptance)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Speculative:
        return cls(**checked_fields(cls, data))


@attrs.frozen(kw_only=True)
class Deployment:
    """Backend, device count, parallel mapping, precision per tensor class and memory placement.

    ``None`` means "let tokenfab decide". ``devices = tp * pp * ep * dp`` when all are given.
    ``weights_memory`` / ``kv_memory`` name the device memory level that holds weights / KV
    cache (``"sram"``, ``"hbm"``, ``"memoryx"``, ...); ``None`` uses the placement rules.
    """

    backend: str
    devices: int | None = None
    tp: int | None = None
    pp: int | None = None
    ep: int | None = None
    dp: int | None = None
    attention_dp: int | None = None
    weights: str | None = None
    activations: str | None = None
    kv: str | None = None
    attention: str | None = None
    weights_memory: str | None = None
    kv_memory: str | None = None

    def __attrs_post_init__(self) -> None:
        owner = "Deployment"
        if not isinstance(self.backend, str) or ":" not in self.backend:
            raise ValidationError(f"backend: must be an id like 'nvidia:h100-sxm', got {self.backend!r}")
        for name in ("devices", *MAPPING_FIELDS):
            object.__setattr__(self, name, _positive_int(owner, name, getattr(self, name)))
        for name in PRECISION_FIELDS:
            _precision(owner, name, getattr(self, name))
        for name in ("weights_memory", "kv_memory"):
            _memory_level(owner, name, getattr(self, name))
        if self.attention_dp is not None and self.attention_dp not in (1, self.ep or 1):
            raise ValidationError(
                f"attention_dp: must equal ep ({self.ep or 1}): attention runs data-parallel over "
                f"the ep groups, got {self.attention_dp}"
            )
        given = [getattr(self, n) for n in ("tp", "pp", "ep", "dp")]
        if self.devices is not None and all(v is not None for v in given):
            if math.prod(given) != self.devices:
                raise ValidationError(f"devices: must equal tp*pp*ep*dp = {math.prod(given)}, got {self.devices}")
        elif self.devices is not None:
            known = math.prod(v for v in given if v is not None)
            if self.devices % known:
                raise ValidationError(
                    f"devices: must be a multiple of tp*pp*ep*dp = {known} (those given), got {self.devices}"
                )

    @property
    def mapping(self) -> dict[str, int | None]:
        """The parallel mapping alone: ``{"tp", "pp", "ep", "dp", "attention_dp"}`` (``None`` = search)."""
        return {name: getattr(self, name) for name in MAPPING_FIELDS}

    @property
    def replica_devices(self) -> int | None:
        """Devices of one model replica, ``tp * pp * ep``, when all three are known."""
        parts = (self.tp, self.pp, self.ep)
        return None if any(p is None for p in parts) else math.prod(parts)

    @property
    def is_resolved(self) -> bool:
        """True when every mapping field and the device count are fixed (a result's deployment)."""
        return all(getattr(self, n) is not None for n in ("devices", "tp", "pp", "ep", "dp"))

    def evolve(self, **changes: Any) -> Deployment:
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        return cls(**checked_fields(cls, data))


#: Scheduler admission policies against the KV cache (see :class:`Workload`).
KV_RESERVATIONS = ("completion", "current")


@attrs.frozen(kw_only=True)
class Workload:
    """What a deployment serves: ``batch`` concurrent sequences (or ``rate`` requests/s) of
    ``input_tokens`` prompt and ``output_tokens`` generated tokens; optional speculative decoding.

    ``kv_reservation`` is how the scheduler admits a sequence against the KV cache:

    * ``"completion"`` (default): a sequence is admitted only when the cache can hold it to its
      last token, ``input_tokens + output_tokens`` per sequence, so no running sequence is ever
      evicted. This is TensorRT-LLM's default capacity policy ``GUARANTEED_NO_EVICT``
      (nvidia.github.io/TensorRT-LLM/performance/performance-tuning-guide/useful-runtime-flags.html).
    * ``"current"``: admitted against the tokens cached now (vLLM's policy); the staggered steady
      state holds ``I + O (B + 1) / (2 B)`` tokens per sequence. Only an optimistic bound when
      memory is full: the preemptions and recomputation that policy then needs are not costed.

    ``host_s_per_sequence`` is the serving stack's host (CPU) time per running sequence per engine
    step (scheduling, sampling, stop checks, response updates); 0, the default, leaves the host out.
    An engine step then lasts ``max(device time, b * host_s_per_sequence)`` for the ``b`` sequences
    its scheduler runs (:mod:`tokenfab.serving`; sourced figures in ``serving.HOST_S_PER_SEQUENCE``).
    """

    input_tokens: int
    output_tokens: int
    batch: int = 1
    rate: float | None = None
    speculative: Speculative | None = None
    kv_reservation: str = "completion"
    host_s_per_sequence: float = 0.0

    def __attrs_post_init__(self) -> None:
        owner = "Workload"
        host = self.host_s_per_sequence
        if isinstance(host, bool) or not isinstance(host, (int, float)) or not 0 <= host < 1:
            raise ValidationError(f"host_s_per_sequence: must be seconds in [0, 1), got {host!r}")
        object.__setattr__(self, "host_s_per_sequence", float(host))
        for name in ("input_tokens", "output_tokens", "batch"):
            object.__setattr__(self, name, _positive_int(owner, name, getattr(self, name), optional=False))
        if self.rate is not None:
            ok = not isinstance(self.rate, bool) and isinstance(self.rate, (int, float)) and math.isfinite(self.rate)
            if not ok or not 0 < self.rate <= bounds.MAX_COUNT:
                raise ValidationError(f"rate: must be a number of requests/s in (0, 1e12], got {self.rate!r}")
            object.__setattr__(self, "rate", float(self.rate))
        if self.kv_reservation not in KV_RESERVATIONS:
            raise ValidationError(
                f"kv_reservation: must be one of {', '.join(KV_RESERVATIONS)}, got {self.kv_reservation!r}"
            )
        if self.speculative is not None and not isinstance(self.speculative, Speculative):
            if isinstance(self.speculative, dict):
                object.__setattr__(self, "speculative", Speculative.from_dict(self.speculative))
            else:
                raise ValidationError(
                    f"{owner}: speculative must be a Speculative or a mapping, got {type(self.speculative).__name__}"
                )

    @property
    def context_tokens(self) -> int:
        """Longest context a sequence reaches: ``input_tokens + output_tokens``."""
        return self.input_tokens + self.output_tokens

    def evolve(self, **changes: Any) -> Workload:
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=False)
        out["speculative"] = self.speculative.to_dict() if self.speculative is not None else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workload:
        return cls(**checked_fields(cls, data))


def check_deployment_fields(options: dict[str, Any]) -> None:
    """Validate the :class:`Deployment` fields among ``options`` once, before any backend is tried:
    ``tp=-1`` is the user's error (exit 2), never a row per backend."""
    names = {f.name for f in attrs.fields(Deployment)} - {"backend"}
    Deployment(backend="input:check", **{k: v for k, v in options.items() if k in names})


def backend_id(backend: Any) -> str:
    """The id of a backend given as an id, a :class:`Device` or a :class:`System`."""
    if isinstance(backend, str):
        return backend
    return backend.id if hasattr(backend, "id") else repr(backend)  # repr only when needed: a Device's is long


def as_deployment(backend: Any, deployment: Deployment | None, **overrides: Any) -> Deployment:
    """One :class:`Deployment` from a backend (id or object), an optional deployment, and keyword
    overrides (``devices=``, ``tp=``, ``weights=`` ...; ``None`` values leave the field as it is).

    A backend given both positionally and in the deployment must name the same id. Answers for a
    backend id (or none) and hashable overrides are remembered (:func:`_remembered_deployment`:
    the answer is a frozen value, and a repeated question skips the validators); errors are not."""
    if (backend is None or isinstance(backend, str)) and (deployment is None or isinstance(deployment, Deployment)):
        try:  # keyed by type too: True == 1 and 8.0 == 8, but only some of them are valid
            key = tuple((name, type(value), value) for name, value in sorted(overrides.items()))
            hash(key)
        except TypeError:  # an unhashable override (a list ...): worked out, not remembered
            key = None
        if key is not None:
            return _remembered_deployment(backend, deployment, key)
    return _as_deployment(backend, deployment, overrides)


@functools.lru_cache(maxsize=256)
def _remembered_deployment(backend: str | None, deployment: Deployment | None, overrides: tuple) -> Deployment:
    return _as_deployment(backend, deployment, {name: value for name, _, value in overrides})


def _as_deployment(backend: Any, deployment: Deployment | None, overrides: dict[str, Any]) -> Deployment:
    if isinstance(backend, Deployment):
        backend, deployment = deployment, backend
    if deployment is not None and not isinstance(deployment, Deployment):
        raise ValidationError(f"deployment: expected a tokenfab.Deployment, got {type(deployment).__name__}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    if deployment is None:
        if backend is None:
            raise ValidationError("backend: give a backend id like 'nvidia:h100-sxm' or a Deployment")
        return Deployment(**{"backend": backend_id(backend), **changes})  # one construction, one validation
    if backend is not None and backend_id(backend).strip().lower() != deployment.backend.strip().lower():
        raise ValidationError(
            f"backend: {backend_id(backend)!r} differs from the deployment's backend {deployment.backend!r}"
        )
    return attrs.evolve(deployment, **changes) if changes else deployment


def as_workload(workload: Workload | None, **overrides: Any) -> Workload:
    """One :class:`Workload` from an optional workload and keyword overrides (``None`` = keep)."""
    if workload is not None and not isinstance(workload, Workload):
        raise ValidationError(f"workload: expected a tokenfab.Workload, got {type(workload).__name__}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    if workload is None:
        for name in ("input_tokens", "output_tokens"):
            if name not in changes:
                raise ValidationError(f"{name}: required (or give workload=Workload(...)), got None")
        return Workload(**changes)
    return attrs.evolve(workload, **changes) if changes else workload


__all__ = [
    "Deployment",
    "Speculative",
    "Workload",
    "as_deployment",
    "as_workload",
    "backend_id",
    "check_deployment_fields",
    "checked_fields",
]
