import pathlib

import pytest
import tokenfab
from tokenfab.declarative import load_file
from tokenfab.registry import build_registry

DATA = pathlib.Path(__file__).parent / "data"


def test_toml_pack_loads_through_path_variable(monkeypatch):
    monkeypatch.setenv("TOKENFAB_DEVICE_PATH", str(DATA / "good_toml"))
    reg = build_registry()
    device = reg.get("datapack:gaudi3-liquid")
    assert device.weight_memory.capacity_bytes == 128e9 and device.peak("bf16") == 1835e12
    assert reg.provided_by["datapack:gaudi3-liquid"].startswith("path:")
    assert tokenfab.conformance.check_device(device) == []
    est = tokenfab.estimate("llama-3.1-8b", device, batch=8, input_tokens=500, output_tokens=100, registry=reg)
    assert est.price_basis == "capex-estimate" and est.tokens_per_s > 0


def test_broken_toml_names_file_device_and_field():
    with pytest.raises(tokenfab.ValidationError) as info:
        load_file(DATA / "broken_toml" / "bad.toml")
    message = str(info.value)
    assert "bad.toml" in message and "device 'datapack:broken'" in message
    assert "MemoryLevel 'hbm': bytes_per_s must be >= 1000 and <= 1e+19 bytes/s, got 0.0" in message


def test_broken_toml_pack_is_skipped_not_fatal(monkeypatch):
    monkeypatch.setenv("TOKENFAB_DEVICE_PATH", str(DATA / "broken_toml"))
    reg = build_registry()
    assert "nvidia:h100-sxm" in reg.backends
    assert any("bad.toml" in p.reason for p in reg.problems)


def test_unknown_toml_key_is_named(tmp_path):
    text = (DATA / "good_toml" / "gaudi3-liquid.toml").read_text().replace("year = 2024", "year = 2024\nyera = 1")
    (tmp_path / "typo.toml").write_text(text)
    with pytest.raises(tokenfab.ValidationError, match="unknown key.*yera"):
        load_file(tmp_path / "typo.toml")
