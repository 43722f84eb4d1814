import attrs
import pytest
import tokenfab
from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price, ValidationError
from tokenfab.units import parse_quantity


def hbm(**kw):
    args = dict(name="hbm", kind="hbm", capacity_bytes=80e9, bytes_per_s=3.35e12)
    args.update(kw)
    return MemoryLevel(**args)


def device(**kw):
    args = dict(
        id="toy:chip",
        vendor="Toy",
        name="Toy chip",
        year=2024,
        peak_flops_per_s={"bf16": 1e15},
        memory=[hbm()],
        interconnect=Interconnect(),
        power=Power(tdp_w=500, idle_w=50),
    )
    args.update(kw)
    return Device(**args)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("3.35 TB/s", 3.35e12),
        ("80 GB", 80e9),
        ("50 MiB", 50 * 2**20),
        ("400 Gb/s", 50e9),
        ("700 W", 700.0),
        ("989.5 TFLOPS", 989.5e12),
        ("5 us", 5e-6),
        (42, 42.0),
    ],
)
def test_parse_quantity(text, expected):
    assert parse_quantity(text) == pytest.approx(expected)


def test_parse_quantity_rejects_garbage():
    with pytest.raises(ValidationError, match="bandwidth"):
        parse_quantity("fast", field="bandwidth")


def test_memory_level_error_names_field_and_value():
    with pytest.raises(
        ValidationError, match=r"MemoryLevel 'hbm': bytes_per_s must be >= 1000 and <= 1e\+19 bytes/s, got 0.0"
    ):
        hbm(bytes_per_s=0)
    with pytest.raises(ValidationError, match="kind must be one of"):
        hbm(kind="disk")
    with pytest.raises(ValidationError, match="efficiency"):
        hbm(efficiency=1.2)


def test_string_quantities_convert_to_si():
    level = hbm(capacity_bytes="141 GB", bytes_per_s="4.8 TB/s")
    assert level.capacity_bytes == 141e9 and level.bytes_per_s == 4.8e12


def test_device_validation():
    with pytest.raises(ValidationError, match="lower-case 'plugin:device'"):
        device(id="Toy:Chip")
    with pytest.raises(ValidationError, match="peak_flops_per_s key must be one of"):
        device(peak_flops_per_s={"bf17": 1e15})
    with pytest.raises(ValidationError, match=r"peak_flops_per_s\['bf16'\] must be > 0"):
        device(peak_flops_per_s={"bf16": -1})
    with pytest.raises(ValidationError, match="holds_weights"):
        device(memory=[hbm(holds_weights=False)])
    with pytest.raises(ValidationError, match="idle_w must be < tdp_w"):
        Power(tdp_w=100, idle_w=100)
    with pytest.raises(ValidationError, match="topology"):
        Link(technology="x", bytes_per_s=1e9, topology="hypercube")
    with pytest.raises(ValidationError, match="usd_per_device_hour or capex_usd"):
        Price()
    with pytest.raises(ValidationError, match="gemm_max_default"):
        Efficiency(gemm_max_default=0)


def test_device_is_frozen_and_evolves():
    dev = device()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        dev.year = 2030
    faster = attrs.evolve(dev, memory=[hbm(bytes_per_s=2 * dev.memory[0].bytes_per_s)])
    assert faster.weight_memory.bytes_per_s == 6.7e12 and dev.weight_memory.bytes_per_s == 3.35e12


def test_unsupported_precision_names_device_and_choices():
    with pytest.raises(
        tokenfab.UnsupportedPrecisionError, match=r"'toy:chip': no peak rate for precision 'fp8' \(supports bf16\)"
    ):
        device().compute_precision("fp8")
    dev = device(peak_flops_per_s={"bf16": 1e15, "fp4": 4e15})
    assert dev.compute_precision("nvfp4") == "fp4"  # block-scaled variant runs on the fp4 units


def test_link_selection_by_domain():
    up = Link(technology="nvlink", bytes_per_s=450e9, domain_size=8)
    out = Link(technology="ib", bytes_per_s=50e9, domain_size=10_000)
    ic = Interconnect(scale_up=up, scale_out=out)
    assert ic.link_for(1) is None and ic.link_for(8) is up and ic.link_for(16) is out
