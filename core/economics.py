"""Money and system energy: dollars per device-hour and per million tokens, on one stated basis.

Every priced result names its basis (``price_basis``):

* ``cloud``: the pack's sourced on-demand rate per device-hour (provider and date in the
  pack; power, host and facility are in the rate)::

      usd_per_mtok = 1e6 * devices * usd_per_device_hour / 3600 / tokens_per_s

* ``capex-estimate``: when no cloud rate exists, the purchase price per device (its share of the
  system: host, network, chassis) amortised linearly over ``amortization_years`` of continuous use,
  plus electricity for the energy drawn, times the facility's PUE::

      usd_per_mtok = 1e6 * (devices * capex / (years * 8760 h) / 3600 / tokens_per_s
                            + joules_per_token * pue * usd_per_kwh / 3.6e6)

* ``override``: the user's ``usd_per_device_hour`` (or ``capex_usd``, then ``capex-estimate``).
* ``none``: no price is known; ``usd_per_mtok`` is ``None``.

Where a vendor sells tokens (Groq, Cerebras), its public price is reported beside the modelled
cost with basis ``list-price-per-token`` (:func:`list_price`), never mixed into it.

System energy: J/token counts the accelerators' board energy (from the engine) plus each
device's ``Power.host_w`` share of host CPUs, NICs and switches, drawn the whole time::

    host_joules_per_token = devices * host_w / tokens_per_s

Every figure is overridable through :class:`Economics`.
"""

from __future__ import annotations

from typing import Any

import attrs

from .errors import ValidationError
from .hardware.protocol import MAX_CAPEX_USD, MAX_USD_PER_DEVICE_HOUR, Device, _check

HOURS_PER_YEAR = 8760.0
JOULES_PER_KWH = 3.6e6
#: Sanity limits on user prices (not figures of any device): device prices share the pack limits
#: (tokenfab.protocol); retail electricity peaked near $1/kWh (Europe, 2022), so $100/kWh;
#: the Uptime Institute's surveys put facility PUE between 1.1 and about 2.5, so 5.
MAX_USD_PER_KWH = 100.0
MAX_PUE = 5.0


@attrs.frozen(kw_only=True)
class Economics:
    """User overrides for pricing. ``None`` uses the pack's figure."""

    usd_per_device_hour: float | None = None
    capex_usd: float | None = None
    amortization_years: float = 4.0
    usd_per_kwh: float = 0.10
    pue: float = 1.3

    def __attrs_post_init__(self) -> None:
        # Upper limits far beyond any real figure, so a typo (1e300) is an error, not a $1e299/Mtok answer.
        if self.usd_per_device_hour is not None:
            _check(
                "Economics", "usd_per_device_hour", self.usd_per_device_hour, high=MAX_USD_PER_DEVICE_HOUR, unit="$/h"
            )
        if self.capex_usd is not None:
            _check("Economics", "capex_usd", self.capex_usd, high=MAX_CAPEX_USD, unit="$")
        _check("Economics", "amortization_years", self.amortization_years, high=100.0, unit="years")
        _check("Economics", "usd_per_kwh", self.usd_per_kwh, inclusive=True, high=MAX_USD_PER_KWH, unit="$/kWh")
        _check("Economics", "pue", self.pue, low=1.0, inclusive=True, high=MAX_PUE)


@attrs.frozen(kw_only=True)
class Cost:
    """$/Mtok (output tokens), the device-hour rate it implies, its basis and where the price came from."""

    usd_per_mtok: float | None
    usd_per_device_hour: float | None
    basis: str
    source: str


def usd_per_mtok(
    device: Device, economics: Economics, *, devices: int, tokens_per_s: float, joules_per_token: float
) -> Cost:
    """What ``devices`` devices cost per million output tokens at ``tokens_per_s`` (module docstring)."""
    if tokens_per_s <= 0:
        raise ValidationError("tokens_per_s must be > 0 to price a token")
    price = device.price
    if economics.usd_per_device_hour is not None:
        hourly = economics.usd_per_device_hour
        return Cost(
            usd_per_mtok=_hourly_cost(hourly, devices, tokens_per_s),
            usd_per_device_hour=hourly,
            basis="override",
            source="user: usd_per_device_hour",
        )
    if economics.capex_usd is not None or (price is not None and price.usd_per_device_hour is None):
        capex = economics.capex_usd if economics.capex_usd is not None else price.capex_usd
        hourly = capex / (economics.amortization_years * HOURS_PER_YEAR)
        energy = joules_per_token * economics.pue * economics.usd_per_kwh / JOULES_PER_KWH * 1e6
        source = "user: capex_usd" if economics.capex_usd is not None else _price_source(device)
        source += f"; {economics.amortization_years:g} years, PUE {economics.pue:g}, ${economics.usd_per_kwh:g}/kWh"
        return Cost(
            usd_per_mtok=_hourly_cost(hourly, devices, tokens_per_s) + energy,
            usd_per_device_hour=hourly,
            basis="capex-estimate",
            source=source,
        )
    if price is not None:
        hourly = price.usd_per_device_hour
        return Cost(
            usd_per_mtok=_hourly_cost(hourly, devices, tokens_per_s),
            usd_per_device_hour=hourly,
            basis="cloud",
            source=_price_source(device),
        )
    return Cost(usd_per_mtok=None, usd_per_device_hour=None, basis="none", source="")


def _hourly_cost(hourly: float, devices: int, tokens_per_s: float) -> float:
    return devices * hourly / 3600.0 / tokens_per_s * 1e6


def _price_source(device: Device) -> str:
    price = device.price
    where = ", ".join(part for part in (price.provider, price.date) if part)
    cite = device.sources.get("price", "")
    return f"{where} ({cite})" if where and cite else where or cite


def host_joules_per_token(device: Device, *, devices: int, tokens_per_s: float) -> float:
    """Energy per output token of the host, NICs and switches around ``devices`` devices."""
    if tokens_per_s <= 0:
        raise ValidationError("tokens_per_s must be > 0 to count energy per token")
    return devices * device.power.host_w / tokens_per_s


def list_price(device: Device, model: str, *, input_tokens: int, output_tokens: int) -> dict[str, Any] | None:
    """The vendor's public token price for ``model`` (basis ``list-price-per-token``), or ``None``.

    ``usd_per_mtok`` is comparable with the modelled ``usd_per_mtok``: the list price of the same
    requests per million output tokens, ``(I * p_in + O * p_out) / O``."""
    entry = device.price.token_price(model) if device.price is not None else None
    if entry is None:
        return None
    per_output = (input_tokens * entry.usd_per_mtok_input + output_tokens * entry.usd_per_mtok_output) / output_tokens
    return {
        "basis": "list-price-per-token",
        "usd_per_mtok": per_output,
        "usd_per_mtok_input": entry.usd_per_mtok_input,
        "usd_per_mtok_output": entry.usd_per_mtok_output,
        "source": entry.source,
        "date": entry.date,
    }
