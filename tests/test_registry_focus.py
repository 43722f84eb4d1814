"""A registry focused on one built-in pack (:func:`tokenfab.hardware.registry.focus`) answers
questions about that pack's backends exactly as the full registry does."""

import importlib
import json
import subprocess
import sys

import attrs
import pytest
import tokenfab
from tokenfab.errors import UnknownIdError
from tokenfab.hardware.registry import build_registry

FULL = build_registry()
BUILTIN = sorted(name for name in FULL.packs if FULL.packs[name].source.startswith("tokenfab.plugins."))
HOOKS = ("tokenfab_devices", "tokenfab_default_mapping")  # all a built-in pack may implement (see below)


def _ids_of(registry, pack):
    return sorted(key for key, owner in registry.provided_by.items() if owner == pack)


def test_every_builtin_pack_is_an_entry_point():
    assert BUILTIN == ["amd", "cerebras", "groq", "nvidia", "tpu", "trainium"]


@pytest.mark.parametrize("pack", BUILTIN)
def test_a_builtin_pack_adds_no_models_and_answers_for_its_own_ids_only(pack):
    # The assumption that makes focusing exact: a skipped built-in pack could have changed
    # nothing about another pack's backend.
    module = importlib.import_module(f"tokenfab.plugins.{pack}")
    hooks = {name for name in dir(module) if name.startswith("tokenfab_")}
    assert hooks <= set(HOOKS), f"{pack} implements {hooks - set(HOOKS)}: revisit registry.focus"
    assert all(key.startswith(f"{pack}:") for key in _ids_of(FULL, pack))
    if hasattr(module, "tokenfab_default_mapping"):
        for other in BUILTIN:
            for key in _ids_of(FULL, other) if other != pack else ():
                answer = module.tokenfab_default_mapping(
                    model=tokenfab.load_model("llama-2-70b"), backend=FULL.get(key), weights_bytes=1e11, kv_bytes=1e10
                )
                assert answer is None, (pack, key)


@pytest.mark.parametrize("pack", BUILTIN)
def test_focused_registry_has_the_same_backends(pack):
    focused = build_registry(builtin=[pack])
    assert focused.skipped == frozenset(BUILTIN) - {pack}
    assert sorted(focused.backends) == _ids_of(FULL, pack)
    for key in focused.backends:
        assert focused.get(key) == FULL.get(key)
    assert not focused.problems


@pytest.mark.parametrize("backend", ["nvidia:h100-sxm", "groq:lpu", "cerebras:wse-3", "amd:mi300x"])
def test_focused_estimate_equals_the_full_one(backend):
    focused = build_registry(builtin=[backend.partition(":")[0]])
    model = "llama-3.1-8b"
    full = tokenfab.estimate(model, backend, batch=4, input_tokens=512, output_tokens=128, registry=FULL)
    narrow = tokenfab.estimate(model, backend, batch=4, input_tokens=512, output_tokens=128, registry=focused)
    assert json.dumps(narrow.to_dict()) == json.dumps(full.to_dict())


def test_a_focused_registry_names_every_id_when_one_is_unknown():
    focused = build_registry(builtin=["nvidia"])
    with pytest.raises(UnknownIdError) as err:
        focused.get("nvidia:h100-sxmm")
    assert "amd:mi250x" in str(err.value) and "nvidia:h100-sxm" in str(err.value)


class Override:
    """A third-party pack that replaces a built-in device (TOKENFAB_OVERRIDES)."""

    __name__ = "override"
    TOKENFAB_PREFIXES = ("acme",)
    TOKENFAB_OVERRIDES = {"nvidia:h100-sxm": "our measured figures"}

    @staticmethod
    @tokenfab.hookimpl
    def tokenfab_devices():
        return [attrs.evolve(FULL.get("nvidia:h100-sxm"), name="H100 (acme figures)")]


def test_third_party_overrides_hold_in_a_focused_registry():
    full, focused = build_registry([Override()]), build_registry([Override()], builtin=["nvidia"])
    assert focused.get("nvidia:h100-sxm").name == full.get("nvidia:h100-sxm").name == "H100 (acme figures)"
    assert focused.overrides == full.overrides and full.overrides["nvidia:h100-sxm"]["pack"] == "override"


def _process_modules(argv):
    """The return code and tokenfab.plugins modules of a ``tokenfab`` process (the console script's path)."""
    code = (
        "import json, sys\nfrom tokenfab.cli import main\nsys.argv = ['tokenfab', *sys.argv[1:]]\nrc = main()\n"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.startswith('tokenfab.plugins.'))]), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    rc, modules = json.loads(proc.stderr.strip().splitlines()[-1])
    return rc, {name.split(".")[2] for name in modules}, proc.stdout


def test_an_estimate_process_loads_only_the_pack_it_asks_about():
    argv = ["estimate", "--model", "llama-3.1-8b", "--backend", "groq:lpu", "--json"]
    rc, packs, out = _process_modules(argv)
    assert rc == 0 and packs == {"groq"}
    assert (
        json.loads(out)["tokens_per_s"]
        == tokenfab.estimate(
            "llama-3.1-8b", "groq:lpu", batch=1, input_tokens=1000, output_tokens=500, registry=FULL
        ).tokens_per_s
    )


def test_a_listing_process_loads_every_pack():
    rc, packs, _ = _process_modules(["backends", "--json"])
    assert rc == 0 and packs == set(BUILTIN)


def test_only_tokenfabs_own_distribution_counts_as_built_in():
    from tokenfab.hardware.registry import _ships_with_tokenfab

    class Entry:
        value = "tokenfab.plugins.amd"

    class Dist:
        def __init__(self, name):
            self.metadata = {"Name": name}

    assert _ships_with_tokenfab(Entry(), Dist("tokenfab"))
    assert not _ships_with_tokenfab(Entry(), Dist("acme-packs"))  # names our module, but is a third party
    assert not _ships_with_tokenfab(Entry(), object())  # no readable metadata: loaded, not skipped
