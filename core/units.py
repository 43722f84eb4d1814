"""Parsing of human-written quantities into SI floats.

``parse_quantity("3.35 TB/s")`` -> 3.35e12 (bytes/s). Decimal prefixes (k, M, G, T, P)
are powers of 1000; binary prefixes (Ki, Mi, Gi, Ti) powers of 1024. Recognised units:
``B`` (bytes), ``B/s``, ``b/s`` (bits/s, divided by 8), ``FLOPS``/``FLOP/s``, ``OPS``, ``W``,
``s``. Plain numbers pass through unchanged.
"""

from __future__ import annotations

import re

from .errors import ValidationError

_PREFIX = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "m": 1e-3,
    "u": 1e-6,
    "µ": 1e-6,
    "n": 1e-9,
}
_UNIT = {
    "B": 1.0,
    "B/s": 1.0,
    "b/s": 1 / 8,
    "bps": 1 / 8,
    "FLOPS": 1.0,
    "FLOP/s": 1.0,
    "OPS": 1.0,
    "OP/s": 1.0,
    "W": 1.0,
    "s": 1.0,
    "": 1.0,
}
# "1,000" and "3,350,000" are thousands separators; any other comma ("1,,2", "1,5") is an error.
_THOUSANDS = r"(?<![\d,])\d{1,3}(?:,\d{3})+(?![\d,])"
_RE = r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|[kKMGTPEmuµn]?)\s*([A-Za-z/]*)\s*$"


def parse_quantity(value: float | int | str, *, field: str = "value") -> float:
    """Return ``value`` as a float in SI units; strings may carry a prefix and unit."""
    if isinstance(value, bool):
        raise ValidationError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        match = re.match(_RE, re.sub(_THOUSANDS, lambda m: m.group(0).replace(",", ""), value))
        if match:
            number, prefix, unit = match.groups()
            if unit in _UNIT and not (prefix in ("m", "u", "µ", "n") and unit != "s"):
                return float(number) * _PREFIX[prefix] * _UNIT[unit]
    raise ValidationError(f"{field}: cannot parse {value!r} as a quantity (e.g. 3.35 TB/s, 80 GB, 700 W)")
