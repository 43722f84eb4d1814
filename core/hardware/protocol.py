"""The backend protocol: what a hardware pack hands the core.

Frozen attrs classes, validated on construction, SI units throughout (bytes, bytes/s,
FLOP/s, seconds, watts, US dollars). Convenience strings such as ``"3.35 TB/s"`` are
accepted where a number is expected and converted by :func:`tokenfab.units.parse_quantity`.

Every figure a pack states should carry a source in ``Device.sources``, keyed by the
figure's path (``"peak.bf16"``, ``"memory.hbm.bytes_per_s"``, ``"power.tdp_w"``, ...).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import UnsupportedPrecisionError, ValidationError
from ..units import parse_quantity

#: Fixed precision vocabulary -> storage bits per element (block-scaled formats include their scales).
PRECISION_BITS: dict[str, float] = {
    "fp64": 64,
    "fp32": 32,
    "tf32": 32,
    "bf16": 16,
    "fp16": 16,
    "fp8": 8,
    "fp6": 6,
    "fp4": 4,
    "int8": 8,
    "int4": 4,
    # OCP MX formats: one 8-bit shared scale per 32 elements.
    "mxfp8": 8.25,
    "mxfp6": 6.25,
    "mxfp4": 4.25,
    # NVIDIA NVFP4: one FP8 scale per 16 elements.
    "nvfp4": 4.5,
}
#: Precision whose matrix-unit peak executes a variant when the device lists no separate figure.
PRECISION_COMPUTE_ALIAS: dict[str, str] = {"mxfp8": "fp8", "mxfp6": "fp6", "mxfp4": "fp4", "nvfp4": "fp4"}

MEMORY_KINDS = ("register", "sram", "hbm", "dram", "host", "external")
TOPOLOGIES = ("switch", "ring", "torus2d", "torus3d", "mesh", "wafer", "dragonfly", "fully_connected")


def _number(field: str):
    def convert(value: Any) -> float:
        return parse_quantity(value, field=field)

    return convert


def _as_dict(value: Any) -> dict:
    """``dict(value)``. A Python function, not the builtin, as an attrs converter: attrs reads a
    builtin's signature from its text form, which imports and compiles the tokenizer (~5 ms)."""
    return dict(value)


def _as_tuple(value: Any) -> tuple:
    """``tuple(value)`` (see :func:`_as_dict`)."""
    return tuple(value)


def _optional_number(field: str):
    def convert(value: Any) -> float | None:
        return None if value is None else parse_quantity(value, field=field)

    return convert


# Limits on a pack's figures: a hundred to a thousand times beyond the largest real device, so a
# typo or a hostile pack (1e300, 1e-300) is reported at load instead of giving NaN or 1e+296 J/token.
# Largest today: Cerebras WSE-3 125 PFLOP/s and 21 PB/s on-chip (cerebras.ai/chip), MemoryX 1.2 PB,
# a CS-3 system 23 kW; the slowest link hop is milliseconds. Prices: see tokenfab.economics.
MAX_FLOPS_PER_S = 1e21
MIN_BYTES_PER_S = 1e3
MAX_BYTES_PER_S = 1e19
MAX_CAPACITY_BYTES = 1e18
MAX_WATTS = 1e7
MAX_LATENCY_S = 1.0
MAX_DOMAIN_SIZE = 10**7
MAX_USD_PER_DEVICE_HOUR = 1e5  # a rack-scale NVL72 rents for about $300/h
MAX_CAPEX_USD = 1e9  # a Cerebras CS-3 system sells for a few $M


def _check(
    owner: str,
    field: str,
    value: float,
    *,
    low: float = 0.0,
    inclusive: bool = False,
    high: float | None = None,
    unit: str = "",
) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValidationError(f"{owner}: {field} must be a number, got {value!r:.60}")
    try:
        ok = math.isfinite(value) and (value >= low if inclusive else value > low)
    except OverflowError:  # an int beyond float64
        ok = False
    if high is not None:
        ok = ok and value <= high
    if not ok:
        rng = f"{'>=' if inclusive else '>'} {low:g}" + (f" and <= {high:g}" if high is not None else "")
        raise ValidationError(f"{owner}: {field} must be {rng}{' ' + unit if unit else ''}, got {value!r}")


def _check_bandwidth(owner: str, bytes_per_s: float) -> None:
    _check(owner, "bytes_per_s", bytes_per_s, low=MIN_BYTES_PER_S, inclusive=True, high=MAX_BYTES_PER_S, unit="bytes/s")


@attrs.frozen(kw_only=True)
class Precision:
    """A numeric format from the fixed vocabulary, with its storage size in bits per element."""

    name: str

    def __attrs_post_init__(self) -> None:
        if self.name not in PRECISION_BITS:
            raise ValidationError(f"Precision: name must be one of {', '.join(PRECISION_BITS)}, got {self.name!r}")

    @property
    def bits(self) -> float:
        return PRECISION_BITS[self.name]

    @property
    def bytes_per_element(self) -> float:
        return self.bits / 8.0


@attrs.frozen(kw_only=True)
class MemoryLevel:
    """One level of the memory hierarchy of a device, innermost first.

    ``bytes_per_s`` is the vendor peak per device; ``efficiency`` is the achievable fraction
    of it for streaming reads (measured where possible, source in the device's ``sources``).
    ``holds_weights`` says whether a placement may keep weights or KV cache here
    (a GPU's L2 cache does not hold a model; Groq's SRAM does).
    """

    name: str
    kind: str
    capacity_bytes: float = attrs.field(converter=_number("capacity_bytes"))
    bytes_per_s: float = attrs.field(converter=_number("bytes_per_s"))
    efficiency: float = 1.0
    latency_s: float | None = attrs.field(default=None, converter=_optional_number("latency_s"))
    joules_per_byte: float = 0.0
    holds_weights: bool = True

    def __attrs_post_init__(self) -> None:
        owner = f"MemoryLevel {self.name!r}"
        if self.kind not in MEMORY_KINDS:
            raise ValidationError(f"{owner}: kind must be one of {', '.join(MEMORY_KINDS)}, got {self.kind!r}")
        _check(owner, "capacity_bytes", self.capacity_bytes, high=MAX_CAPACITY_BYTES, unit="bytes")
        _check_bandwidth(owner, self.bytes_per_s)
        _check(owner, "efficiency", self.efficiency, high=1.0)
        _check(owner, "joules_per_byte", self.joules_per_byte, inclusive=True, unit="J/byte")
        if self.latency_s is not None:
            _check(owner, "latency_s", self.latency_s, inclusive=True, high=MAX_LATENCY_S, unit="s")

    @property
    def effective_bytes_per_s(self) -> float:
        return self.bytes_per_s * self.efficiency


@attrs.frozen(kw_only=True)
class Link:
    """A fabric between devices: scale-up (NVLink, ICI, ...) or scale-out (NIC).

    ``bytes_per_s`` is per device and per direction (halve a vendor's bidirectional total).
    ``latency_s`` is the per-hop (per collective step) latency; ``domain_size`` the most
    devices one such fabric joins. ``efficiency`` is the achievable fraction of
    ``bytes_per_s`` for large collectives (NCCL bus bandwidth / link peak, for example).

    Optional collective-library figures (see :func:`tokenfab.collectives.allreduce_regime`):
    ``library_latency_s`` is the fixed cost of one all-reduce in the collective library (NCCL,
    RCCL) fitted to its measured bus bandwidth between 8 and ~100 MB, and ``custom_max_bytes``
    the largest message serving engines send through their own one-/two-shot all-reduce kernels
    (0: the step model above holds at every size).
    """

    technology: str
    bytes_per_s: float = attrs.field(converter=_number("bytes_per_s"))
    topology: str = "switch"
    domain_size: int = 8
    latency_s: float = attrs.field(default=5e-6, converter=_number("latency_s"))
    efficiency: float = 1.0
    joules_per_byte: float = 0.0
    library_latency_s: float = 0.0
    custom_max_bytes: float = 0.0

    def __attrs_post_init__(self) -> None:
        owner = f"Link {self.technology!r}"
        _check_bandwidth(owner, self.bytes_per_s)
        if self.topology not in TOPOLOGIES:
            raise ValidationError(f"{owner}: topology must be one of {', '.join(TOPOLOGIES)}, got {self.topology!r}")
        size = self.domain_size
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_DOMAIN_SIZE:
            raise ValidationError(
                f"{owner}: domain_size must be an integer >= 1 and <= {MAX_DOMAIN_SIZE:g}, got {size!r}"
            )
        _check(owner, "latency_s", self.latency_s, inclusive=True, high=MAX_LATENCY_S, unit="s")
        _check(owner, "efficiency", self.efficiency, high=1.0)
        _check(owner, "joules_per_byte", self.joules_per_byte, inclusive=True, unit="J/byte")
        _check(owner, "library_latency_s", self.library_latency_s, inclusive=True, high=MAX_LATENCY_S, unit="s")
        _check(owner, "custom_max_bytes", self.custom_max_bytes, inclusive=True, unit="bytes")

    @property
    def effective_bytes_per_s(self) -> float:
        return self.bytes_per_s * self.efficiency


@attrs.frozen(kw_only=True)
class Interconnect:
    """Scale-up fabric within a domain (node, rack, pod) and scale-out network between domains."""

    scale_up: Link | None = None
    scale_out: Link | None = None

    def link_for(self, devices: int) -> Link | None:
        """The link a collective over ``devices`` devices crosses: scale-up inside its domain."""
        if devices <= 1:
            return None
        if self.scale_up is not None and devices <= self.scale_up.domain_size:
            return self.scale_up
        return self.scale_out if self.scale_out is not None else self.scale_up


@attrs.frozen(kw_only=True)
class Efficiency:
    """Achievable fraction of peak, by op kind and shape.

    Matrix products: ``efficiency(rows) = gemm_max[precision] * rows / (rows + gemm_half_rows)``
    where ``rows`` is the M dimension (tokens in the step). ``gemm_max`` falls back to
    ``gemm_max_default`` for precisions without an entry. Vector (element-wise) work runs at
    ``vector_fraction`` of the fp32 peak. ``overhead_s`` is the per-kernel launch/sync cost
    added to every operator. ``attention_memory_fraction`` is the share of the level's achievable
    bandwidth that KV-cache reads of attention kernels reach (paged, gathered reads by head
    reach less than a weight stream). ``memory_reserve_fraction`` of each memory level is kept free
    for the runtime (CUDA context, allocator slack) when checking fit. ``gemm_sustained`` is the
    fraction GEMMs keep when the device computes back to back for seconds (training): clocks settle
    at the power limit; it falls back to ``gemm_max`` where that was measured on long GEMMs already.

    Short contraction lengths: a GEMM kernel whose epilogue (convert and store each output tile)
    does not overlap its K loop writes ``gemm_epilogue_bytes`` per output element at the memory's
    bandwidth ``B`` after computing it at the matrix rate ``R``, so a GEMM of contraction length
    ``K`` runs at ``K / (K + h)`` of ``R`` with ``h = gemm_epilogue_bytes * R / (2 * B)``.
    ``gemm_max`` was measured on GEMMs of ``K >= gemm_k_ref``, so the factor is taken relative to
    that length and capped at 1 (:meth:`gemm_k_factor`); ``gemm_epilogue_bytes`` 0: no K term.
    """

    gemm_max_default: float = 0.7
    gemm_max: Mapping[str, float] = attrs.field(factory=dict, converter=_as_dict)
    gemm_half_rows: float = 64.0
    vector_fraction: float = 0.5
    overhead_s: float = 4e-6
    attention_memory_fraction: float = 1.0
    memory_reserve_fraction: float = 0.05
    gemm_sustained: Mapping[str, float] = attrs.field(factory=dict, converter=dict)
    gemm_epilogue_bytes: float = 0.0
    gemm_k_ref: float = 4096.0

    def __attrs_post_init__(self) -> None:
        _check("Efficiency", "gemm_max_default", self.gemm_max_default, high=1.0)
        _check("Efficiency", "gemm_epilogue_bytes", self.gemm_epilogue_bytes, inclusive=True, high=16.0, unit="bytes")
        _check("Efficiency", "gemm_k_ref", self.gemm_k_ref, unit="elements")
        for name, value in self.gemm_max.items():
            if name not in PRECISION_BITS:
                raise ValidationError(f"Efficiency: gemm_max key must be a precision, got {name!r}")
            _check("Efficiency", f"gemm_max[{name!r}]", value, high=1.0)
        for name, value in self.gemm_sustained.items():
            if name not in PRECISION_BITS:
                raise ValidationError(f"Efficiency: gemm_sustained key must be a precision, got {name!r}")
            _check("Efficiency", f"gemm_sustained[{name!r}]", value, high=1.0)
        _check("Efficiency", "gemm_half_rows", self.gemm_half_rows, inclusive=True, unit="rows")
        _check("Efficiency", "vector_fraction", self.vector_fraction, high=1.0)
        _check("Efficiency", "overhead_s", self.overhead_s, inclusive=True, unit="s")
        _check("Efficiency", "attention_memory_fraction", self.attention_memory_fraction, high=1.0)
        _check("Efficiency", "memory_reserve_fraction", self.memory_reserve_fraction, inclusive=True, high=0.9)

    def gemm_fraction(self, precision: str) -> float:
        return self.gemm_max.get(precision, self.gemm_max_default)

    def sustained_gemm_fraction(self, precision: str) -> float:
        """GEMM fraction under sustained load (training): ``gemm_sustained``, else ``gemm_fraction``."""
        return self.gemm_sustained.get(precision, self.gemm_fraction(precision))

    def gemm_half_k(self, rate: float, bytes_per_s: float) -> float:
        """``h = gemm_epilogue_bytes * rate / (2 * bytes_per_s)``: the contraction length at which a
        GEMM at the matrix rate ``rate`` (FLOP/s) spends as long storing its output at
        ``bytes_per_s`` as computing it (2 FLOP per multiply-add)."""
        return self.gemm_epilogue_bytes * rate / (2.0 * bytes_per_s) if bytes_per_s > 0 else 0.0

    def gemm_k_factor(self, k: float, half_k: float) -> float:
        """Rate factor of a GEMM of contraction length ``k`` against the GEMMs ``gemm_max`` was
        measured on: ``min(1, (k / (k + h)) / (k_ref / (k_ref + h)))`` with ``h = half_k`` and
        ``k_ref = gemm_k_ref``; 1 without ``h`` or ``k``."""
        if half_k <= 0.0 or k <= 0.0:
            return 1.0
        return min(1.0, (k / (k + half_k)) * ((self.gemm_k_ref + half_k) / self.gemm_k_ref))


@attrs.frozen(kw_only=True)
class Power:
    """Power of one device: ``tdp_w`` is the board's ceiling, ``idle_w`` its static draw while powered.

    ``host_w`` is the device's share of the system around it that the board figure leaves out
    (host CPUs and memory, NICs, switches, fans): ``(system power - devices * tdp_w) / devices``
    from a sourced system figure (DGX H100: 10.2 kW for 8 x 700 W GPUs -> 575 W). It is drawn for
    the whole time a device serves and is added to J/token by the serving estimate."""

    tdp_w: float = attrs.field(converter=_number("tdp_w"))
    idle_w: float = attrs.field(converter=_number("idle_w"))
    host_w: float = attrs.field(default=0.0, converter=_number("host_w"))

    def __attrs_post_init__(self) -> None:
        _check("Power", "tdp_w", self.tdp_w, high=MAX_WATTS, unit="W")
        _check("Power", "idle_w", self.idle_w, inclusive=True, unit="W")
        _check("Power", "host_w", self.host_w, inclusive=True, high=MAX_WATTS, unit="W")
        if self.idle_w >= self.tdp_w:
            raise ValidationError(f"Power: idle_w must be < tdp_w ({self.tdp_w:g} W), got {self.idle_w!r}")


@attrs.frozen(kw_only=True)
class TokenPrice:
    """A vendor's public price for tokens of one model (basis ``list-price-per-token``): dollars per
    million input and per million output tokens, with where and when it was published."""

    model: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    source: str
    date: str = ""

    def __attrs_post_init__(self) -> None:
        owner = f"TokenPrice {self.model!r}"
        _check(owner, "usd_per_mtok_input", self.usd_per_mtok_input, inclusive=True, unit="$/Mtok")
        _check(owner, "usd_per_mtok_output", self.usd_per_mtok_output, unit="$/Mtok")
        if not self.source:
            raise ValidationError(f"{owner}: source must name where the price was published")


def _token_prices(value: Any) -> list[Any]:
    """TokenPrice entries, from TokenPrice objects or mappings (TOML packs)."""
    return [TokenPrice(**entry) if isinstance(entry, Mapping) else entry for entry in value]


@attrs.frozen(kw_only=True)
class Price:
    """What one device costs, on one basis.

    ``usd_per_device_hour`` is a cloud on-demand rate (basis ``cloud``, power included);
    otherwise ``capex_usd`` is a purchase price per device, system share included (basis
    ``capex-estimate``: amortised plus electricity). ``provider`` and ``date`` say whose price
    and when; the citation is ``Device.sources["price"]``. ``per_token`` lists the vendor's public
    prices for tokens of given models (basis ``list-price-per-token``), shown beside the modelled
    cost, never used in it."""

    usd_per_device_hour: float | None = None
    capex_usd: float | None = None
    provider: str = ""
    date: str = ""
    per_token: tuple[TokenPrice, ...] = attrs.field(default=(), converter=lambda v: tuple(_token_prices(v)))

    def __attrs_post_init__(self) -> None:
        if self.usd_per_device_hour is None and self.capex_usd is None:
            raise ValidationError("Price: give usd_per_device_hour or capex_usd")
        if self.usd_per_device_hour is not None:
            _check("Price", "usd_per_device_hour", self.usd_per_device_hour, high=MAX_USD_PER_DEVICE_HOUR, unit="$/h")
        if self.capex_usd is not None:
            _check("Price", "capex_usd", self.capex_usd, high=MAX_CAPEX_USD, unit="$")
        for entry in self.per_token:
            if not isinstance(entry, TokenPrice):
                raise ValidationError(f"Price: per_token entries must be TokenPrice, got {type(entry).__name__}")

    @property
    def basis(self) -> str:
        """``cloud`` when a cloud rate is given, else ``capex-estimate``."""
        return "cloud" if self.usd_per_device_hour is not None else "capex-estimate"

    def token_price(self, model: str) -> TokenPrice | None:
        """The vendor's public token price for ``model`` (a model id), if it publishes one."""
        return next((entry for entry in self.per_token if entry.model == model), None)


def _peaks(value: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): parse_quantity(v, field=f"peak[{k!r}]") for k, v in dict(value).items()}


@attrs.frozen(kw_only=True)
class Device:
    """One accelerator as a pack describes it.

    ``peak_flops_per_s`` maps precision names to dense peak rates (FLOP/s, or OP/s for
    integers); never a 2:4-sparsity figure. ``memory`` is ordered innermost first.
    ``sources`` maps a figure's path to its citation.
    """

    id: str
    vendor: str
    name: str
    year: int
    peak_flops_per_s: Mapping[str, float] = attrs.field(converter=_peaks)
    memory: tuple[MemoryLevel, ...] = attrs.field(converter=_as_tuple)
    interconnect: Interconnect
    power: Power
    price: Price | None = None
    efficiency: Efficiency = attrs.field(factory=Efficiency)
    sources: Mapping[str, str] = attrs.field(factory=dict, converter=_as_dict)
    notes: str = ""
    #: Why ``tokenfab train`` refuses this device (inference-only chips); empty when it trains.
    training_note: str = ""
    #: Weight format of the vendor's own serving (Groq's 8-bit TruePoint storage), the default when neither
    #: the user nor the checkpoint's ``quantization_config`` names one; ``None``: 16-bit. Sourced in ``sources``.
    default_weights: str | None = None

    def __attrs_post_init__(self) -> None:
        owner = f"Device {self.id!r}"
        plugin, _, device = self.id.partition(":")
        if not plugin or not device or self.id != self.id.lower() or " " in self.id:
            raise ValidationError(f"{owner}: id must be lower-case 'plugin:device', got {self.id!r}")
        if not self.peak_flops_per_s:
            raise ValidationError(f"{owner}: peak_flops_per_s must list at least one precision")
        for name, rate in self.peak_flops_per_s.items():
            if name not in PRECISION_BITS:
                raise ValidationError(
                    f"{owner}: peak_flops_per_s key must be one of {', '.join(PRECISION_BITS)}, got {name!r}"
                )
            _check(owner, f"peak_flops_per_s[{name!r}]", rate, high=MAX_FLOPS_PER_S, unit="FLOP/s")
        if not self.memory:
            raise ValidationError(f"{owner}: memory must list at least one MemoryLevel")
        for level in self.memory:
            if not isinstance(level, MemoryLevel):
                raise ValidationError(f"{owner}: memory entries must be MemoryLevel, got {type(level).__name__}")
        names = [level.name for level in self.memory]
        if len(set(names)) != len(names):
            raise ValidationError(f"{owner}: memory level names must be unique, got {names}")
        if not any(level.holds_weights for level in self.memory):
            raise ValidationError(f"{owner}: at least one memory level must have holds_weights=True")
        if not isinstance(self.year, int) or isinstance(self.year, bool) or not 1950 <= self.year <= 2100:
            raise ValidationError(f"{owner}: year must be between 1950 and 2100, got {self.year!r}")
        if self.default_weights is not None and self.default_weights not in PRECISION_BITS:
            raise ValidationError(
                f"{owner}: default_weights must be one of {', '.join(PRECISION_BITS)}, got {self.default_weights!r}"
            )

    # -- derived values -------------------------------------------------------------------
    @property
    def plugin(self) -> str:
        return self.id.partition(":")[0]

    @property
    def weight_memory(self) -> MemoryLevel:
        """The outermost on-device level that may hold weights and KV cache (HBM on a GPU, SRAM on
        Groq and on a Cerebras wafer): the default placement. Levels of kind ``external`` (MemoryX)
        are not on the device and serve weights only when a deployment asks for them, or as a
        stated fallback (see docs/modelling.md, "On-chip placement")."""
        levels = [level for level in self.memory if level.holds_weights]
        on_device = [level for level in levels if level.kind != "external"]
        return (on_device or levels)[-1]

    @property
    def external_memory(self) -> MemoryLevel | None:
        """The outermost ``external`` level that can stream weights (Cerebras MemoryX), if any."""
        levels = [level for level in self.memory if level.holds_weights and level.kind == "external"]
        return levels[-1] if levels else None

    def level(self, name: str) -> MemoryLevel:
        for level in self.memory:
            if level.name == name:
                return level
        raise ValidationError(f"Device {self.id!r}: no memory level {name!r} (has {[m.name for m in self.memory]})")

    def compute_precision(self, precision: str) -> str:
        """The precision whose peak serves a matrix product in ``precision`` on this device."""
        if precision in self.peak_flops_per_s:
            return precision
        alias = PRECISION_COMPUTE_ALIAS.get(precision)
        if alias in self.peak_flops_per_s:
            return alias
        raise UnsupportedPrecisionError(
            f"Device {self.id!r}: no peak rate for precision {precision!r} "
            f"(supports {', '.join(self.peak_flops_per_s)})"
        )

    def peak(self, precision: str) -> float:
        return self.peak_flops_per_s[self.compute_precision(precision)]

    @property
    def vector_flops_per_s(self) -> float:
        """Rate of element-wise work: the fp32 (or widest listed) peak times ``vector_fraction``."""
        base = self.peak_flops_per_s.get("fp32") or min(self.peak_flops_per_s.values())
        return base * self.efficiency.vector_fraction


@attrs.frozen(kw_only=True)
class System:
    """Devices composed into a unit sold or rented as one (an NVL72 rack, a TPU pod slice).

    A backend id naming a system runs on ``device_count`` devices of ``device`` by default.
    """

    id: str
    name: str
    device: Device
    device_count: int
    description: str = ""
    sources: Mapping[str, str] = attrs.field(factory=dict, converter=_as_dict)

    def __attrs_post_init__(self) -> None:
        owner = f"System {self.id!r}"
        if self.id != self.id.lower() or ":" not in self.id:
            raise ValidationError(f"{owner}: id must be lower-case 'plugin:system', got {self.id!r}")
        if not isinstance(self.device_count, int) or self.device_count < 1:
            raise ValidationError(f"{owner}: device_count must be an integer >= 1, got {self.device_count!r}")


Backend = Device | System


def backend_device(backend: Backend) -> Device:
    return backend.device if isinstance(backend, System) else backend
