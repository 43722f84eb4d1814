"""The registry keeps a copy of each device taken when the pack hands it over, built when first read."""

import threading

import attrs
import tokenfab
from tokenfab import Device, hookimpl
from tokenfab.guard import Snapshot
from tokenfab.registry import build_registry


def _chip(device_id: str = "keeper:chip") -> Device:
    """The H100 SXM under another id: a pack's own device."""
    return attrs.evolve(tokenfab.get_backend("nvidia:h100-sxm"), id=device_id)


class KeeperPack:
    """Keeps a handle on the device it returned and changes it afterwards (through object.__setattr__)."""

    def __init__(self) -> None:
        self.device = _chip()

    @hookimpl
    def tokenfab_devices(self):
        return [self.device]


def test_a_pack_cannot_change_its_device_after_handing_it_over():
    pack = KeeperPack()
    registry = build_registry([pack], entry_points=False)
    object.__setattr__(pack.device, "name", "changed")  # after registration, before anyone read it
    pack.device.peak_flops_per_s["bf16"] = 1.0
    seen = registry.get("keeper:chip")
    assert seen.name == _chip().name and seen.peak_flops_per_s["bf16"] == _chip().peak_flops_per_s["bf16"] > 1
    assert seen is not pack.device and seen == _chip()
    assert registry.get("keeper:chip") is seen  # one copy per registry, built once


def test_only_what_is_read_is_unpickled():
    registry = build_registry([KeeperPack()], entry_points=False)
    snapshots = registry.backends._items
    assert all(s._blob is not None for s in snapshots.values())  # nothing read yet
    registry.get("keeper:chip")
    assert snapshots["keeper:chip"]._blob is None
    assert {"keeper:chip"} == set(registry.backends) and len(registry.backends) == 1
    assert [d.id for d in registry.backends.values()] == ["keeper:chip"]


def test_threads_reading_at_once_get_the_same_copy():
    snapshot = Snapshot(_chip())
    seen, barrier = [], threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        seen.append(snapshot.value())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(item is seen[0] for item in seen)


def test_what_pickle_cannot_take_is_deep_copied_at_once():
    class Local:  # a class defined in a function: pickle cannot find it by name
        def __init__(self) -> None:
            self.values = [1, 2]

    original = Local()
    snapshot = Snapshot(original)
    original.values.append(3)
    assert snapshot.value().values == [1, 2] and snapshot.value() is snapshot.value()


def test_the_default_registry_lists_every_builtin_backend():
    assert {"nvidia:h100-sxm", "amd:mi300x", "groq:lpu"} <= set(tokenfab.backends())
