"""The plugin registry: builds the pluggy ``PluginManager`` and collects devices and models.

Built-in packs are listed as entry points in our own ``pyproject.toml`` exactly like a
third-party pack, so :func:`load_setuptools_entrypoints` finds both. A pack that fails to
import, raises in a hook, or returns malformed data is recorded in :attr:`Registry.problems`
with its name and reason, and skipped; the others still load.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Iterable, Mapping

import attrs
import pluggy

from . import hookspecs
from .errors import UnknownIdError
from .protocol import Device, System

ENTRY_POINT_GROUP = "tokenfab"


@attrs.frozen
class Problem:
    """One thing that went wrong while loading a pack."""

    plugin: str
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r}: {self.reason}"


@attrs.define
class Registry:
    """Devices, systems and models contributed by packs. Build with :func:`build_registry`."""

    pm: pluggy.PluginManager
    backends: dict[str, Device | System] = attrs.field(factory=dict)
    provided_by: dict[str, str] = attrs.field(factory=dict)
    problems: list[Problem] = attrs.field(factory=list)
    versions: dict[str, str] = attrs.field(factory=dict)

    def get(self, backend_id: str) -> Device | System:
        key = backend_id.strip().lower()
        if key not in self.backends:
            raise UnknownIdError("backend", backend_id, list(self.backends))
        return self.backends[key]


def _plugin_name(pm: pluggy.PluginManager, impl: pluggy.HookImpl) -> str:
    return pm.get_name(impl.plugin) or impl.plugin_name


def _call_each(pm: pluggy.PluginManager, hook_name: str, problems: list[Problem], **kwargs):
    """Call every implementation of a hook separately so one failure cannot hide the others."""
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        name = _plugin_name(pm, impl)
        try:
            yield name, impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception as exc:  # a broken pack must never break the others
            problems.append(Problem(name, f"{hook_name} raised {type(exc).__name__}: {exc}"))


def _load_entry_points(pm: pluggy.PluginManager, problems: list[Problem], versions: dict[str, str]) -> None:
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP or pm.get_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                problems.append(Problem(ep.name, f"failed to import {ep.value}: {type(exc).__name__}: {exc}"))
                continue
            try:
                pm.register(plugin, name=ep.name)
            except Exception as exc:
                problems.append(Problem(ep.name, f"failed to register: {exc}"))
                continue
            versions[ep.name] = f"{dist.metadata['Name']} {dist.version}"


def build_registry(extra_plugins: Iterable[object] = (), *, entry_points: bool = True) -> Registry:
    """Create the plugin manager, load packs from entry points (and ``extra_plugins``), and
    collect every device and system they return."""
    pm = pluggy.PluginManager("tokenfab")
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm=pm)
    for plugin in extra_plugins:
        pm.register(plugin)
    if entry_points:
        _load_entry_points(pm, registry.problems, registry.versions)
    problems = registry.problems
    for name, result in _call_each(pm, "tokenfab_devices", problems):
        _add_backends(registry, name, result)
    if entry_points:
        _load_data_packs(registry)
    return registry


def _load_data_packs(registry: Registry) -> None:
    """Declarative packs: TOML files named by the ``tokenfab.data`` group or ``TOKENFAB_DEVICE_PATH``."""
    from .declarative import data_sources, load_folder, resolve_folder

    for name, where, version in data_sources():
        registry.versions[name] = version
        try:
            devices = load_folder(resolve_folder(where))
        except Exception as exc:
            registry.problems.append(Problem(name, f"{type(exc).__name__}: {exc}"))
            continue
        _add_backends(registry, name, devices)


def _add_backends(registry: Registry, plugin: str, result: object) -> None:
    if result is None:
        return
    if isinstance(result, (Device, System)) or not isinstance(result, Iterable):
        items = [result] if isinstance(result, (Device, System)) else None
        if items is None:
            registry.problems.append(
                Problem(plugin, f"tokenfab_devices must return a list, got {type(result).__name__}")
            )
            return
    else:
        items = list(result)
    for item in items:
        if not isinstance(item, (Device, System)):
            registry.problems.append(
                Problem(plugin, f"tokenfab_devices returned {type(item).__name__}, expected Device or System")
            )
            continue
        if item.id in registry.backends:
            registry.problems.append(
                Problem(
                    plugin,
                    f"duplicate backend id {item.id!r} (already provided by "
                    f"{registry.provided_by[item.id]!r}); skipped",
                )
            )
            continue
        registry.backends[item.id] = item
        registry.provided_by[item.id] = plugin


def collect_models(registry: Registry) -> dict[str, object]:
    """Model configs contributed by packs through ``tokenfab_models``."""
    models: dict[str, object] = {}
    for name, result in _call_each(registry.pm, "tokenfab_models", registry.problems):
        if result is None:
            continue
        if not isinstance(result, Mapping):
            registry.problems.append(
                Problem(name, f"tokenfab_models must return a mapping, got {type(result).__name__}")
            )
            continue
        models.update({str(k).lower(): v for k, v in result.items()})
    return models


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry of installed packs, built on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = build_registry()
        for problem in _DEFAULT.problems:
            warnings.warn(f"tokenfab: {problem}; skipped", RuntimeWarning, stacklevel=2)
    return _DEFAULT


def set_default_registry(registry: Registry | None) -> None:
    """Replace (or with ``None``, reset) the process-wide registry; for tests and embedding."""
    global _DEFAULT
    _DEFAULT = registry
