"""docs/reference.md is generated from the attrs classes and documents every field."""

import pathlib

import attrs
import pytest
import tokenfab
from tokenfab.io.reference import FIELDS, documented_fields, render_reference

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_committed_reference_equals_generated():
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == render_reference(), "regenerate: python -m tokenfab.io.reference > docs/reference.md"


def test_every_field_documented_and_no_stale_entries():
    missing, stale = documented_fields() - set(FIELDS), set(FIELDS) - documented_fields()
    assert not missing and not stale, (
        f"add {sorted(missing)} to / remove {sorted(stale)} from FIELDS in core/io/reference.py, then run "
        "python -m tokenfab.io.reference > docs/reference.md"
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: tokenfab.MemoryLevel(name="hbm", kind="hbm", capacity_bytes=0, bytes_per_s=1e12),
        lambda: tokenfab.MemoryLevel(name="hbm", kind="hbm", capacity_bytes=1e9, bytes_per_s=0),
        lambda: tokenfab.MemoryLevel(name="hbm", kind="hbm", capacity_bytes=1e9, bytes_per_s=1e12, efficiency=1.5),
        lambda: tokenfab.Link(technology="x", bytes_per_s=0),
        lambda: tokenfab.Link(technology="x", bytes_per_s=1e9, domain_size=0),
        lambda: tokenfab.Power(tdp_w=0, idle_w=0),
        lambda: tokenfab.Power(tdp_w=100, idle_w=100),  # idle_w must be < tdp_w
        lambda: tokenfab.Efficiency(memory_reserve_fraction=0.95),
    ],
)
def test_documented_ranges_are_enforced(build):
    with pytest.raises(tokenfab.ValidationError):
        build()


def test_reference_names_units():
    text = render_reference()
    assert "| `bytes_per_s` | float | required | bytes/s per direction | > 0 |" in text
    assert "`[[device.memory]]`" in text and "`mxfp4` (4.25)" in text
    assert all(f"## {name}" in text for name in ("Device", "MemoryLevel", "Link", "Power", "Price", "System"))
    assert attrs.has(tokenfab.Device)
