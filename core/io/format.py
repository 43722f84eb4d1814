"""Numbers for people: SI prefixes and units, three significant digits, never scientific notation.

    format_number(1462.3)              -> "1.46k"
    format_quantity(0.01234, "s")      -> "12.3 ms"
    format_quantity(80e9, "B")         -> "80.0 GB"       (decimal prefixes, as vendors quote)
    format_quantity(3.35e12, "B/s")    -> "3.35 TB/s"
    format_usd(0.01234)                -> "$0.0123"
    format_value(None)                 -> "-"

Prefixes run from f (1e-15) to E (1e18); a value outside that span is written with all its
digits rather than as ``1e+21``. ``None``, NaN and infinities print as ``-`` (tokenfab never
returns them, but a formatter must never print ``nan``).
"""

from __future__ import annotations

import math
from typing import Any

_UP = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_DOWN = ((1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))
MISSING = "-"


def _plain(value: float, digits: int) -> str:
    """``value`` with ``digits`` significant digits in positional notation (never ``e+``)."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if float(text) != 0 and abs(float(text)) >= 10 ** (magnitude + 1):  # rounding carried: 9.996 -> 10.0
        decimals = max(0, decimals - 1)
        text = f"{value:.{decimals}f}"
    return text


def _finite(value: Any) -> bool:
    return value is not None and not isinstance(value, bool) and math.isfinite(float(value))


def _scaled(value: float, *, small: bool, large: bool = True, digits: int = 3) -> tuple[float, str]:
    """(mantissa, prefix) with 1 <= |mantissa| < 1000 where a prefix exists."""
    size = abs(float(f"{value:.{max(digits - 1, 0)}e}"))  # rounded first: 999.96 becomes 1.00k, not "1000"
    for factor, prefix in _UP:
        if large and size >= factor:
            return value / factor, prefix
    if small and 0 < size < 1:
        for factor, prefix in _DOWN:
            if size >= factor:
                return value / factor, prefix
    return value, ""


def format_number(value: Any, digits: int = 3) -> str:
    """A count or rate without unit: ``1.46k``, ``12.3``, ``0.0123``, ``2.10M``."""
    if not _finite(value):
        return "yes" if value is True else "no" if value is False else MISSING
    value = float(value)
    if value.is_integer() and abs(value) < 1e4:
        return str(int(value))
    mantissa, prefix = _scaled(value, small=False, digits=digits)
    return _plain(mantissa, digits) + prefix


def format_quantity(value: Any, unit: str, digits: int = 3) -> str:
    """A physical quantity in SI units with a prefix: ``12.3 ms``, ``80.0 GB``, ``3.35 TB/s``, ``700 W``.
    Durations take no prefix above one second (``1234 s``, not ``1.23 ks``)."""
    if not _finite(value):
        return MISSING
    mantissa, prefix = _scaled(float(value), small=True, large=unit != "s", digits=digits)
    return f"{_plain(mantissa, digits)} {prefix}{unit}"


def format_params(value: Any, digits: int = 3) -> str:
    """A parameter count as model names write it: ``8.03B``, ``671B``, ``350M`` (B = 1e9)."""
    if not _finite(value):
        return MISSING
    text = format_number(value, digits)
    return text[:-1] + "B" if text.endswith("G") else text


def format_usd(value: Any, digits: int = 3) -> str:
    """Dollars: ``$1.23``, ``$0.0123``, ``$12.3k``, two decimals from $10 to $999."""
    if not _finite(value):
        return MISSING
    value = float(value)
    if abs(value) >= 1e3:
        mantissa, prefix = _scaled(value, small=False, digits=digits)
        return f"${_plain(mantissa, digits)}{prefix}"
    if abs(value) >= 10:
        return f"${value:.2f}"
    return f"${_plain(value, digits)}"


def format_value(value: Any, unit: str = "") -> str:
    """Dispatch on ``unit``: ``"$"`` money, ``""`` plain number, anything else a quantity;
    strings pass through, booleans print yes/no, ``None`` prints ``-``."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return format_number(value)
    if unit == "$":
        return format_usd(value)
    if unit == "":
        return format_number(value)
    return format_quantity(value, unit)
