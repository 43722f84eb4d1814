"""Money: dollars per device-hour and per million tokens.

Two bases for a device-hour:

* ``cloud``: the pack's (or the user's) cloud price per device-hour; power is included in it.
* ``capex``: purchase price amortised linearly over ``amortization_years`` of continuous use,
  plus electricity for the energy the workload draws, times the facility's PUE::

      usd_per_mtok = 1e6 * (devices * capex / (years * 8760 h) / 3600 / tokens_per_s
                            + joules_per_token * pue * usd_per_kwh / 3.6e6)

Every figure is overridable through :class:`Economics`.
"""

from __future__ import annotations

import attrs

from .errors import ValidationError
from .protocol import Device, _check


@attrs.frozen(kw_only=True)
class Economics:
    """User overrides for pricing. ``None`` uses the pack's figure."""

    usd_per_device_hour: float | None = None
    capex_usd: float | None = None
    amortization_years: float = 4.0
    usd_per_kwh: float = 0.10
    pue: float = 1.3

    def __attrs_post_init__(self) -> None:
        if self.usd_per_device_hour is not None:
            _check("Economics", "usd_per_device_hour", self.usd_per_device_hour, unit="$/h")
        if self.capex_usd is not None:
            _check("Economics", "capex_usd", self.capex_usd, unit="$")
        _check("Economics", "amortization_years", self.amortization_years, unit="years")
        _check("Economics", "usd_per_kwh", self.usd_per_kwh, inclusive=True, unit="$/kWh")
        _check("Economics", "pue", self.pue, low=1.0, inclusive=True)


def usd_per_mtok(
    device: Device, economics: Economics, *, devices: int, tokens_per_s: float, joules_per_token: float
) -> tuple[float, float, str]:
    """($ per million output tokens, $ per device-hour used, basis) for ``devices`` devices."""
    if tokens_per_s <= 0:
        raise ValidationError("tokens_per_s must be > 0 to price a token")
    price = device.price
    if economics.usd_per_device_hour is not None:
        hourly, basis = economics.usd_per_device_hour, "override"
    elif economics.capex_usd is not None or (price is not None and price.usd_per_device_hour is None):
        capex = economics.capex_usd if economics.capex_usd is not None else price.capex_usd
        hourly = capex / (economics.amortization_years * 8760.0)
        energy_usd_per_token = joules_per_token * economics.pue * economics.usd_per_kwh / 3.6e6
        per_token = devices * hourly / 3600.0 / tokens_per_s + energy_usd_per_token
        return per_token * 1e6, hourly, "capex"
    elif price is not None:
        hourly, basis = price.usd_per_device_hour, "cloud"
    else:
        return None, None, "none"
    return devices * hourly / 3600.0 / tokens_per_s * 1e6, hourly, basis
