import attrs
import pytest
import tokenfab
import tokenfab.plugins.nvidia as nvidia_pack
from tokenfab import hookimpl
from tokenfab.conformance import assert_pack_conforms, check_device, check_pack


@pytest.mark.parametrize("backend_id", sorted(tokenfab.registry.build_registry().backends))
def test_every_builtin_device_conforms(backend_id):
    assert check_device(tokenfab.get_backend(backend_id)) == []


def test_builtin_packs_conform():
    assert_pack_conforms(nvidia_pack)


class BrokenPack:
    """A fixture pack with the mistakes the kit exists to catch."""

    @hookimpl
    def tokenfab_devices(self):
        h100 = tokenfab.get_backend("nvidia:h100-sxm")
        unit_slip = attrs.evolve(h100, id="broken:tflops-typo", peak_flops_per_s={"bf16": 989.5, "fp8": 1979e12})
        unsourced = attrs.evolve(h100, id="broken:no-sources", sources={})
        inverted = attrs.evolve(h100, id="broken:fp8-slow", peak_flops_per_s={"bf16": 989.5e12, "fp8": 400e12})
        return [unit_slip, unsourced, inverted, "not a device"]


def test_broken_fixture_pack_fails_naming_field_and_value():
    problems = check_pack(BrokenPack())
    text = "\n".join(problems)
    assert "Device 'broken:tflops-typo': peak_flops_per_s['bf16'] = 989.5 is outside the plausible range" in text
    assert "Device 'broken:no-sources': no source for 'peak.bf16'" in text
    assert "Device 'broken:no-sources': no source for 'power.idle_w'" in text
    assert "Device 'broken:no-sources': no source for 'power.host_w'" in text  # H100 has 575 W of host share
    assert "Device 'broken:no-sources': no source for 'price'" in text
    assert "Device 'broken:fp8-slow': peak fp8 (4e+14) is below peak bf16 (9.895e+14)" in text
    assert "returned str, expected Device or System" in text
    with pytest.raises(AssertionError, match="pack does not conform"):
        assert_pack_conforms(BrokenPack())


def test_memory_ordering_is_checked():
    h100 = tokenfab.get_backend("nvidia:h100-sxm")
    swapped = attrs.evolve(h100, id="broken:order", memory=list(reversed(h100.memory)))
    assert any("smaller than the inner level" in p for p in check_device(swapped))


class BadModelsPack:
    @hookimpl
    def tokenfab_devices(self):
        return [tokenfab.get_backend("nvidia:h100-sxm")]

    @hookimpl
    def tokenfab_models(self):
        return {"broken-7b": {"model_type": "llama", "hidden_size": 4096}}


def test_model_hook_results_are_checked():
    problems = "\n".join(check_pack(BadModelsPack(), behaviour=False))
    assert "tokenfab_models: model 'broken-7b'" in problems and "missing required key" in problems
