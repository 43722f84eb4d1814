"""Hostile packs (issue 12): each misbehaviour a pack can show, and what tokenfab guarantees then.

A pack that raises, hangs, prints, calls sys.exit, returns garbage, claims another pack's ids or
mutates what it is handed is reported with its name and the hook, its contribution is dropped,
and every other pack and every later call see exactly what they would without it."""

import importlib.metadata
import json
import sys
import threading
import time
import types

import attrs
import pytest
import tokenfab
from test_registry import toy  # the same toy device the registry tests use
from tokenfab import discovery, hookimpl
from tokenfab.cli import main
from tokenfab.registry import build_registry, set_default_registry

SCENARIO = dict(input_tokens=100, output_tokens=10)


def reasons(registry, pack):
    return [p.reason for p in registry.problems if p.plugin == pack]


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setenv("TOKENFAB_PACK_TIMEOUT", "0.5")


@pytest.fixture
def fake_entry_point(monkeypatch, tmp_path):
    """Install a module from source text as an entry-point pack named ``name`` (no pip needed)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    real = discovery.distributions
    extra = []
    monkeypatch.setattr(discovery, "distributions", lambda: [*real(), *extra])

    def install(name, source):
        module = f"tokenfab_hostile_{name}_{time.monotonic_ns()}"
        (tmp_path / f"{module}.py").write_text(source)
        ep = importlib.metadata.EntryPoint(name=name, value=module, group="tokenfab")
        extra.append(
            types.SimpleNamespace(
                entry_points=[ep], metadata={"Name": f"tokenfab-{name}"}, version="6.6.6", _normalized_name=module
            )
        )
        return module

    yield install
    set_default_registry(None)


# -- placement and default-mapping hooks (issue: "one pack that raises crashes every estimate") --


class RaisingPlacement:
    @hookimpl
    def tokenfab_placement(self, model, device, weights_bytes, kv_bytes, activation_bytes):
        raise RuntimeError("placement exploded")


class RaisingMapping:
    @hookimpl
    def tokenfab_default_mapping(self, model, backend, weights_bytes, kv_bytes):
        raise ZeroDivisionError("mapping exploded")


@pytest.mark.parametrize("pack", [RaisingPlacement(), RaisingMapping()], ids=["placement", "default_mapping"])
def test_raising_firstresult_hook_is_dropped_and_estimates_equal_a_clean_run(pack):
    clean = tokenfab.estimate("llama-3.1-8b", "nvidia:h200", registry=build_registry(), **SCENARIO)
    hostile = build_registry([pack])
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h200", registry=hostile, **SCENARIO)
    # the hostile pack's answer is dropped: the estimate is exactly the clean one
    assert est.tpot_s == clean.tpot_s and est.devices == clean.devices
    name = type(pack).__name__
    (problem,) = reasons(hostile, name)
    assert "exploded" in problem and problem.startswith("tokenfab_")
    # reported once, however many estimates run
    tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", registry=hostile, **SCENARIO)
    assert len(reasons(hostile, name)) == 1


class GarbagePlacement:
    @hookimpl
    def tokenfab_placement(self, model, device, weights_bytes, kv_bytes, activation_bytes):
        return {"weights": "nowhere", "kv": 42}


class GarbageMapping:
    @hookimpl
    def tokenfab_default_mapping(self, model, backend, weights_bytes, kv_bytes):
        return {"tp": "lots", "pp": -1}


class StringPlacement:
    @hookimpl
    def tokenfab_placement(self, model, device, weights_bytes, kv_bytes, activation_bytes):
        return "sram"


@pytest.mark.parametrize("pack", [GarbagePlacement(), GarbageMapping(), StringPlacement()])
def test_garbage_results_are_reported_and_ignored(pack):
    hostile = build_registry([pack])
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h200", registry=hostile, **SCENARIO)
    assert est.devices == 1 and est.fits
    (problem,) = reasons(hostile, type(pack).__name__)
    assert "returned an unusable result" in problem


# -- devices hook: raise, exit, hang, print, garbage ----------------------------------------------


class ExitingPack:
    @hookimpl
    def tokenfab_devices(self):
        sys.exit(3)


class HangingPack:
    @hookimpl
    def tokenfab_devices(self):
        time.sleep(30)


class PrintingPack:
    @hookimpl
    def tokenfab_devices(self):
        print("hello from a chatty pack")
        return [toy("chatty:chip")]


class GarbageDevices:
    @hookimpl
    def tokenfab_devices(self):
        return 42


class RaisingIterable:
    @hookimpl
    def tokenfab_devices(self):
        def items():
            yield toy("gen:ok")
            raise ValueError("iterator broke")

        return items()


def test_sys_exit_in_a_hook_is_contained():
    registry = build_registry([ExitingPack()])
    assert reasons(registry, "ExitingPack") == ["tokenfab_devices: called sys.exit(3)"]
    assert "nvidia:h100-sxm" in registry.backends


def test_hanging_hook_is_skipped_within_the_limit(short_timeout):
    start = time.monotonic()
    registry = build_registry([HangingPack()])
    assert time.monotonic() - start < 5  # 0.5 s limit, not the pack's 30 s
    (problem,) = reasons(registry, "HangingPack")
    assert "took longer than 0.5 s" in problem and "TOKENFAB_PACK_TIMEOUT" in problem
    assert "HangingPack" in registry.hung and registry.packs["HangingPack"].status == "hung"
    assert "nvidia:h100-sxm" in registry.backends


def test_a_pack_print_is_captured_not_printed(capsys):
    registry = build_registry([PrintingPack()])
    assert capsys.readouterr().out == ""
    assert registry.outputs["PrintingPack"] == "hello from a chatty pack\n"
    assert "chatty:chip" in registry.backends


def test_garbage_device_lists_are_reported():
    registry = build_registry([GarbageDevices(), RaisingIterable()])
    assert reasons(registry, "GarbageDevices") == ["tokenfab_devices: tokenfab_devices must return a list, got int"]
    assert "iterator broke" in reasons(registry, "RaisingIterable")[0]
    assert "nvidia:h100-sxm" in registry.backends


# -- entry points: import that raises, exits, hangs, prints ---------------------------------------


def test_entry_point_import_failures_are_contained(fake_entry_point, short_timeout, capsys):
    fake_entry_point("exits", "import sys\nsys.exit('bye')\n")
    fake_entry_point("hangs", "import time\ntime.sleep(30)\n")
    fake_entry_point("raises", "raise ImportError('no such SDK')\n")
    fake_entry_point(
        "prints",
        "print('import-time noise')\nfrom tokenfab import hookimpl\n"
        "from tokenfab.plugins.nvidia.devices import DEVICES\nimport attrs\n"
        "@hookimpl\ndef tokenfab_devices():\n    return [attrs.evolve(DEVICES[0], id='prints:gpu')]\n",
    )
    start = time.monotonic()
    registry = build_registry()
    assert time.monotonic() - start < 10
    assert "called sys.exit('bye')" in reasons(registry, "exits")[0]
    assert "took longer than 0.5 s" in reasons(registry, "hangs")[0]
    assert "ImportError: no such SDK" in reasons(registry, "raises")[0]
    assert registry.outputs["prints"] == "import-time noise\n" and "prints:gpu" in registry.backends
    assert capsys.readouterr().out == ""
    assert {"nvidia:h100-sxm", "amd:mi300x", "groq:lpu"} <= set(registry.backends)


def test_pack_print_never_reaches_json_output(fake_entry_point, capsys):
    fake_entry_point(
        "noisy",
        "print('NOT JSON')\nfrom tokenfab import hookimpl\n@hookimpl\ndef tokenfab_devices():\n"
        "    print('NOT JSON EITHER')\n    return []\n",
    )
    set_default_registry(None)
    code = main(["backends", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and "NOT JSON" not in out
    assert any(row["id"] == "nvidia:h100-sxm" for row in json.loads(out))


# -- ids: prefixes, collisions, overrides ---------------------------------------------------------


def test_entry_point_pack_cannot_take_a_builtin_id_or_another_prefix(fake_entry_point):
    fake_entry_point(
        "evil",
        "import attrs\nfrom tokenfab import hookimpl\nfrom tokenfab.plugins.nvidia.devices import DEVICES\n"
        "h100 = [d for d in DEVICES if d.id == 'nvidia:h100-sxm'][0]\n"
        "@hookimpl\ndef tokenfab_devices():\n"
        "    return [attrs.evolve(h100, name='EVIL'), attrs.evolve(h100, id='amd:fake'),\n"
        "            attrs.evolve(h100, id='evil:ok')]\n",
    )
    registry = build_registry()
    assert registry.get("nvidia:h100-sxm").name != "EVIL" and registry.provided_by["nvidia:h100-sxm"] == "nvidia"
    problems = reasons(registry, "evil")
    assert "id 'nvidia:h100-sxm' collides with pack 'nvidia'; kept the first" in problems[0]
    assert "id 'amd:fake' refused" in problems[1] and "'evil:'" in problems[1]
    assert registry.provided_by["evil:ok"] == "evil" and "amd:fake" not in registry.backends


def test_declared_override_replaces_a_builtin_and_is_shown(fake_entry_point, capsys):
    fake_entry_point(
        "tuned",
        "import attrs\nfrom tokenfab import hookimpl\nfrom tokenfab.plugins.nvidia.devices import DEVICES\n"
        "TOKENFAB_OVERRIDES = {'nvidia:h200': 'measured HBM bandwidth of our cluster'}\n"
        "h200 = [d for d in DEVICES if d.id == 'nvidia:h200'][0]\n"
        "@hookimpl\ndef tokenfab_devices():\n    return [attrs.evolve(h200, name='H200 (tuned)')]\n",
    )
    registry = build_registry()
    assert registry.get("nvidia:h200").name == "H200 (tuned)" and registry.provided_by["nvidia:h200"] == "tuned"
    assert registry.overrides["nvidia:h200"] == {
        "pack": "tuned",
        "replaced": "nvidia",
        "reason": "measured HBM bandwidth of our cluster",
    }
    set_default_registry(None)
    main(["plugins", "--json"])
    rows = {row["plugin"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["tuned"]["overrides"]["nvidia:h200"]["replaced"] == "nvidia"


class ModelsPack:
    TOKENFAB_PREFIXES = ("acme",)

    @hookimpl
    def tokenfab_models(self):
        small = {
            "model_type": "llama",
            "hidden_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 8,
            "intermediate_size": 1024,
            "vocab_size": 1000,
        }
        return {"acme-tiny": small, "llama-3.1-8b": small, "other-model": small}


def test_model_ids_are_prefixed_and_never_shadow_the_catalog():
    from tokenfab.registry import collect_models

    registry = build_registry([ModelsPack()], entry_points=False)
    models = collect_models(registry)
    assert set(models) == {"acme-tiny"}
    problems = reasons(registry, "ModelsPack")
    assert any("'llama-3.1-8b' collides with the built-in catalog" in p for p in problems)
    assert any("'other-model' refused" in p for p in problems)


# -- mutation of shared state -------------------------------------------------------------------


class MutatingPlacement:
    seen = []

    @hookimpl
    def tokenfab_placement(self, model, device, weights_bytes, kv_bytes, activation_bytes):
        object.__setattr__(device, "name", "HACKED")
        object.__setattr__(device.memory[0], "capacity_bytes", 1.0)
        object.__setattr__(model, "num_layers", 1)
        return None


class Observer:
    """Registered before the mutator, so it is called after it (pluggy calls last-registered first)."""

    seen = []

    @hookimpl
    def tokenfab_placement(self, model, device, weights_bytes, kv_bytes, activation_bytes):
        Observer.seen.append((device.name, device.memory[0].capacity_bytes, model.num_layers))
        return None


def test_mutating_a_handed_device_or_model_changes_nothing_for_others():
    registry = build_registry([Observer(), MutatingPlacement()])
    h200 = registry.get("nvidia:h200")
    before = attrs.asdict(h200)
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h200", registry=registry, **SCENARIO)
    assert attrs.asdict(registry.get("nvidia:h200")) == before and est.fits
    name, capacity, layers = Observer.seen[-1]
    assert name == h200.name and capacity == h200.memory[0].capacity_bytes and layers == 32


class KeepsAHandle:
    device = toy("handle:chip")

    @hookimpl
    def tokenfab_devices(self):
        return [KeepsAHandle.device]


def test_a_pack_cannot_mutate_a_registered_device_afterwards():
    registry = build_registry([KeepsAHandle()], entry_points=False)
    object.__setattr__(KeepsAHandle.device, "name", "changed later")
    assert registry.get("handle:chip").name == "Toy"


# -- disabling packs ------------------------------------------------------------------------------


def test_disabled_pack_is_not_imported_and_is_listed(monkeypatch):
    monkeypatch.setenv("TOKENFAB_DISABLE_PACKS", "groq, cerebras")
    registry = build_registry()
    assert not any(b.startswith(("groq:", "cerebras:")) for b in registry.backends)
    assert registry.packs["groq"].status == "disabled" and registry.packs["cerebras"].status == "disabled"
    assert "nvidia:h100-sxm" in registry.backends


def test_disable_pack_cli_option(capsys):
    code = main(["--disable-pack", "groq", "backends", "--json"])
    ids = {row["id"] for row in json.loads(capsys.readouterr().out)}
    assert code == 0 and "groq:lpu" not in ids and "nvidia:h200" in ids
    code = main(["backends", "--json", "--disable-pack", "amd"])  # after the command name too
    ids = {row["id"] for row in json.loads(capsys.readouterr().out)}
    assert code == 0 and "amd:mi300x" not in ids and "groq:lpu" in ids  # the earlier one no longer applies


# -- thread safety --------------------------------------------------------------------------------


def test_default_registry_is_built_once_under_concurrent_first_use(monkeypatch):
    import tokenfab.registry as registry_module

    calls = []
    real = registry_module.build_registry

    def counting(*args, **kwargs):
        calls.append(1)
        time.sleep(0.05)  # widen the race window
        return real(*args, **kwargs)

    monkeypatch.setattr(registry_module, "build_registry", counting)
    set_default_registry(None)
    got = []
    threads = [threading.Thread(target=lambda: got.append(registry_module.default_registry())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    set_default_registry(None)
    assert len(calls) == 1 and len({id(r) for r in got}) == 1


def test_concurrent_registration_loses_nothing():
    registry = build_registry([], entry_points=False)
    devices = [toy(f"many:chip-{i}") for i in range(200)]

    def add(chunk):
        for device in chunk:
            registry.add_backend("many", device)

    threads = [threading.Thread(target=add, args=(devices[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(registry.backends) == 200 and registry.problems == []


class CountingPlacement:
    calls = 0

    @hookimpl
    def tokenfab_placement(self, model, device, weights_bytes, kv_bytes, activation_bytes):
        CountingPlacement.calls += 1
        return None


def test_firstresult_answers_are_remembered_for_identical_arguments():
    registry = build_registry([CountingPlacement()], entry_points=False)
    registry.add_backend("toy", toy())
    for _ in range(3):
        tokenfab.estimate("llama-3.2-1b", "toy:chip", registry=registry, **SCENARIO)
    first = CountingPlacement.calls
    assert first >= 1
    tokenfab.estimate("llama-3.2-1b", "toy:chip", registry=registry, **SCENARIO)
    assert CountingPlacement.calls == first  # the same scenario again: no new guarded call
