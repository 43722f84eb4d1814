"""Numbers for people: SI prefixes, three significant digits, never scientific notation."""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenfab.io.format import format_number, format_params, format_quantity, format_usd, format_value


@pytest.mark.parametrize(
    "value,text",
    [
        (1462.3, "1.46k"),  # 1462.3 / 1e3 = 1.4623 -> 3 significant digits
        (12.34, "12.3"),
        (0.01234, "0.0123"),
        (2.1e6, "2.10M"),
        (999.96, "1.00k"),  # rounds to 1.00e3 first, so it takes the k prefix, not "1000"
        (9.996, "10.0"),
        (150, "150"),
        (4096, "4096"),  # integers below 1e4 print whole
        (131072, "131k"),
        (0, "0"),
        (None, "-"),
        (float("nan"), "-"),
        (True, "yes"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    "value,unit,text",
    [
        (0.01234, "s", "12.3 ms"),
        (1.5e-6, "s", "1.50 µs"),
        (4.89e-10, "s", "489 ps"),
        (1234.5, "s", "1234 s"),  # no "ks": durations keep seconds above one second
        (80e9, "B", "80.0 GB"),
        (3.35e12, "B/s", "3.35 TB/s"),
        (700, "W", "700 W"),
        (989.5e12, "FLOP/s", "990 TFLOP/s"),
        (0.99996, "J", "1.00 J"),
    ],
)
def test_format_quantity(value, unit, text):
    assert format_quantity(value, unit) == text


def test_money_and_params():
    assert [format_usd(v) for v in (0.01234, 1, 12.345, 1234.5)] == ["$0.0123", "$1.00", "$12.35", "$1.23k"]
    assert [format_params(v) for v in (8.03e9, 671e9, 350e6)] == ["8.03B", "671B", "350M"]
    assert format_value("text") == "text" and format_value(2.5, "$") == "$2.50" and format_value(3.0, "W") == "3.00 W"


@given(st.floats(min_value=-1e30, max_value=1e30, allow_nan=False), st.sampled_from(["", "s", "B", "$", "W"]))
def test_never_scientific_and_round_trips_to_three_digits(value, unit):
    text = format_value(value, unit)
    assert "e+" not in text and "e-" not in text and "inf" not in text and "nan" not in text
    if unit == "" and abs(value) >= 1e-3 and abs(value) < 1e18:
        prefixes = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
        number = float(re.sub(r"[kMGTP]$", "", text)) * prefixes.get(text[-1], 1)
        assert math.isclose(number, value, rel_tol=6e-3)  # 3 significant digits: half a unit in the 3rd
