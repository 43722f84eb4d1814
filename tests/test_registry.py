import importlib.metadata
import types

import pytest
import tokenfab
from tokenfab import Device, Interconnect, MemoryLevel, Power, discovery, hookimpl
from tokenfab.registry import build_registry


def toy(device_id="toy:chip"):
    return Device(
        id=device_id,
        vendor="Toy",
        name="Toy",
        year=2024,
        peak_flops_per_s={"bf16": 1e15},
        memory=[MemoryLevel(name="hbm", kind="hbm", capacity_bytes=1e11, bytes_per_s=1e12)],
        interconnect=Interconnect(),
        power=Power(tdp_w=300, idle_w=30),
    )


class GoodPack:
    @hookimpl
    def tokenfab_devices(self):
        return [toy()]


class RaisingPack:
    @hookimpl
    def tokenfab_devices(self):
        raise RuntimeError("datasheet not found")


class MalformedPack:
    @hookimpl
    def tokenfab_devices(self):
        return [{"id": "bad:dict"}, toy("bad:ok")]


class DuplicatePack:
    @hookimpl
    def tokenfab_devices(self):
        return [toy("nvidia:h100-sxm")]


def test_builtin_nvidia_pack_comes_through_entry_points():
    reg = build_registry()
    assert {
        "nvidia:h100-sxm",
        "nvidia:h200",
        "nvidia:b200",
        "nvidia:gb200",
        "nvidia:a100-80gb",
        "nvidia:gb200-nvl72",
    } <= set(reg.backends)
    assert reg.provided_by["nvidia:h100-sxm"] == "nvidia"
    assert reg.versions["nvidia"].startswith("tokenfab ")
    assert reg.problems == []


def test_broken_plugins_are_reported_and_skipped():
    reg = build_registry([GoodPack(), RaisingPack(), MalformedPack(), DuplicatePack()])
    reasons = "\n".join(str(p) for p in reg.problems)
    assert "datasheet not found" in reasons and "RuntimeError" in reasons
    assert "returned dict, expected Device or System" in reasons
    assert "plugin 'DuplicatePack': tokenfab_devices: id 'nvidia:h100-sxm' collides with pack 'nvidia'" in reasons
    # everything valid still loaded
    assert {"toy:chip", "bad:ok", "nvidia:h100-sxm"} <= set(reg.backends)
    assert reg.provided_by["nvidia:h100-sxm"] == "nvidia"


def test_pack_that_fails_to_import_is_reported(monkeypatch):
    ep = importlib.metadata.EntryPoint(name="ghost", value="tokenfab_ghost_pack_does_not_exist", group="tokenfab")
    fake = types.SimpleNamespace(entry_points=[ep], metadata={"Name": "ghost"}, version="0", _normalized_name="ghost")
    real = discovery.distributions
    monkeypatch.setattr(discovery, "distributions", lambda: [*real(), fake])
    reg = build_registry()
    assert any(p.plugin == "ghost" and "failed to import" in p.reason for p in reg.problems)
    assert "nvidia:h100-sxm" in reg.backends


def test_unknown_backend_suggests(fresh_registry):
    with pytest.raises(tokenfab.UnknownIdError, match="did you mean 'nvidia:h200'"):
        tokenfab.get_backend("nvidia:h20")


def test_extra_pack_is_usable_in_estimates(fresh_registry):
    reg = fresh_registry([GoodPack()])
    est = tokenfab.estimate(
        "llama-3.2-1b",
        "toy:chip",
        input_tokens=100,
        output_tokens=10,
        registry=reg,
        economics=tokenfab.economics.Economics(usd_per_device_hour=1.0),
    )
    assert est.devices == 1 and est.tpot_s > 0
