"""The conformance suite as a test class: see :mod:`tokenfab.testing.plugin` for how to run it."""

from __future__ import annotations

from typing import Any

import pytest

from .checks import run_check


def _verdict(name: str, pack: Any, backend: str | None = None) -> None:
    result = run_check(name, pack, backend)
    if result.status == "skip":
        pytest.skip(result.detail)
    assert result.status == "pass", f"{result.name}: {result.detail}"


@pytest.mark.tokenfab_conformance
class PackConformance:
    """Subclass as ``Test...`` and set ``pack`` (an installed pack's name, or the pack module)."""

    pack: Any = None

    def test_discovery(self, tokenfab_pack: Any) -> None:
        _verdict("discovery", tokenfab_pack)

    def test_id_prefixes(self, tokenfab_pack: Any) -> None:
        _verdict("id prefixes", tokenfab_pack)

    def test_units_and_ranges(self, tokenfab_pack: Any, tokenfab_backend: str) -> None:
        self._per_device("units and ranges", tokenfab_pack, tokenfab_backend)

    def test_sources(self, tokenfab_pack: Any, tokenfab_backend: str) -> None:
        self._per_device("sources", tokenfab_pack, tokenfab_backend)

    def test_placement_and_mapping_hooks(self, tokenfab_pack: Any, tokenfab_backend: str) -> None:
        self._per_device("hooks", tokenfab_pack, tokenfab_backend)

    def test_small_model_estimate(self, tokenfab_pack: Any, tokenfab_backend: str) -> None:
        self._per_device("small model", tokenfab_pack, tokenfab_backend)

    def test_large_model_estimate(self, tokenfab_pack: Any, tokenfab_backend: str) -> None:
        self._per_device("large model", tokenfab_pack, tokenfab_backend)

    @staticmethod
    def _per_device(name: str, pack: Any, backend: str | None) -> None:
        if backend is None:
            pytest.fail(f"pack {pack.name!r} registers no devices, so {name!r} has nothing to check")
        _verdict(name, pack, backend)


class TestInstalledPack(PackConformance):
    """Collected by ``pytest --tokenfab-pack NAME``: ``pack`` comes from the option."""
