"""The plugin registry: builds the pluggy ``PluginManager`` and collects devices and models.

Built-in packs are listed as entry points in our own ``pyproject.toml`` exactly like a
third-party pack, so :func:`load_setuptools_entrypoints` finds both. Every import and hook call
goes through :mod:`tokenfab.guard`: a pack that fails to import, raises (``sys.exit`` included),
hangs past ``TOKENFAB_PACK_TIMEOUT``, prints, or returns malformed data is recorded in
:attr:`Registry.problems` with its name, the hook and the reason, and skipped; the others
still load.

Ids: a pack registers ids only under its own prefix: an entry-point pack under its entry-point
name (or the prefixes it lists in ``TOKENFAB_PREFIXES``); a pack registered in code or a TOML
folder claims the prefix of its first id, if no other pack owns it. Built-in packs load first.
An id already taken is a collision, reported naming both packs, and the first keeps it, unless
the second pack lists the id in ``TOKENFAB_OVERRIDES = {"vendor:device": "why"}``: then it
replaces it and :attr:`Registry.overrides` (shown by ``tokenfab plugins``) records who replaced
whom and why. The registry is safe to read and extend from several threads.

A process that asks about one backend only (a ``tokenfab estimate``, ``train``, ``simulate`` or
``mappings`` process) may load, of the built-in packs (``tokenfab.plugins.*`` entry points of the
tokenfab distribution itself), only the one whose prefix the backend id names (:func:`focus`):
importing the other five and snapshotting their devices is about 5% of such a process. This gives
the same answer as loading all of them, because a built-in pack contributes no models and answers
its hooks for its own ids only (``tests/test_registry_focus.py`` holds both); third-party and TOML
packs always load, so their ids, models and overrides are all there. An id that such a registry
does not know is looked up again in a full one (:meth:`Registry.get`), so the error names every
known id.
"""

from __future__ import annotations

import pathlib
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

import attrs
import pluggy

from ..errors import TokenfabError, UnknownIdError
from . import discovery, guard, hookspecs
from .protocol import Device, System

ENTRY_POINT_GROUP = "tokenfab"
BUILTIN_MODULE_PREFIX = "tokenfab.plugins."


@attrs.frozen
class Problem:
    """One thing that went wrong with a pack: its name, and what happened (hook and error)."""

    plugin: str
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r}: {self.reason}"


@attrs.define
class PackInfo:
    """One pack as ``tokenfab plugins`` lists it."""

    name: str
    kind: str  # "entry point", "toml", "local"
    source: str  # module, package or folder
    version: str = ""
    status: str = "ok"  # ok, disabled, error, hung
    prefixes: tuple[str, ...] = ()  # declared or implied (entry-point name); empty: claims its first
    overrides: dict[str, str] = attrs.field(factory=dict)  # ids it may replace -> why


class Snapshots(MutableMapping):
    """``{id: Device | System}`` whose values are :class:`tokenfab.guard.Snapshot` copies taken
    when stored and built when first read: a process that asks for one backend unpickles one."""

    def __init__(self) -> None:
        self._items: dict[str, guard.Snapshot] = {}

    def __getitem__(self, key: str) -> Device | System:
        return self._items[key].value()

    def __setitem__(self, key: str, value: Device | System) -> None:
        self._items[key] = guard.Snapshot(value)

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Snapshots({sorted(self._items)})"


@attrs.define(eq=False)
class Registry:
    """Devices, systems and models contributed by packs. Build with :func:`build_registry`."""

    pm: pluggy.PluginManager
    backends: MutableMapping[str, Device | System] = attrs.field(factory=Snapshots)  # copies, built on read
    provided_by: dict[str, str] = attrs.field(factory=dict)
    problems: list[Problem] = attrs.field(factory=list)
    versions: dict[str, str] = attrs.field(factory=dict)
    packs: dict[str, PackInfo] = attrs.field(factory=dict)
    overrides: dict[str, dict[str, str]] = attrs.field(factory=dict)  # id -> {pack, replaced, reason}
    outputs: dict[str, str] = attrs.field(factory=dict)  # what each pack printed (captured)
    hung: set[str] = attrs.field(factory=set)
    prefix_owner: dict[str, str] = attrs.field(factory=dict)
    lock: Any = attrs.field(factory=threading.RLock, repr=False)
    announce: bool = False  # warn about problems found after the registry was built
    _reported: set = attrs.field(factory=set, repr=False)
    _models: dict[str, Any] | None = attrs.field(default=None, repr=False)
    hook_cache: dict = attrs.field(factory=dict, repr=False)  # firstresult answers by arguments (guard.call_first)
    skipped: frozenset[str] = frozenset()  # built-in packs not loaded (:func:`focus`): this registry is partial

    def get(self, backend_id: str) -> Device | System:
        if not isinstance(backend_id, str):
            raise TokenfabError(
                f"backend: expected an id like 'nvidia:h100-sxm', got {type(backend_id).__name__}", field="backend"
            )
        key = backend_id.strip().lower()
        if key not in self.backends:
            known = self.backends if not self.skipped else build_registry().backends  # name every id
            raise UnknownIdError("backend", backend_id, list(known))
        return self.backends[key]

    def pack_name(self, plugin: object) -> str:
        return self.pm.get_name(plugin) or str(plugin)

    def report(self, pack: str, hook: str, reason: str) -> None:
        """Record one problem of ``pack`` in ``hook`` (once; repeats are dropped)."""
        with self.lock:
            key = (pack, hook, reason)
            if key in self._reported:
                return
            self._reported.add(key)
            problem = Problem(pack, f"{hook}: {reason}" if hook else reason)
            self.problems.append(problem)
            info = self.packs.get(pack)
            if info is not None and info.status == "ok":
                info.status = "hung" if pack in self.hung else "error"
        if self.announce:
            warnings.warn(f"tokenfab: {problem}; its contribution is dropped", RuntimeWarning, stacklevel=3)

    def record_output(self, pack: str, text: str) -> None:
        with self.lock:
            self.outputs[pack] = (self.outputs.get(pack, "") + text)[-2000:]

    def add_backend(self, pack: str, item: Device | System) -> None:
        """Register ``item`` for ``pack`` if the id rules allow it (see module docstring)."""
        prefix = item.id.partition(":")[0]
        info = self.packs.get(pack)
        with self.lock:
            current = self.provided_by.get(item.id)
            if current is not None:
                if current == pack or info is None or item.id not in info.overrides:
                    other = "itself" if current == pack else f"pack {current!r}"
                    self.report(pack, "tokenfab_devices", f"id {item.id!r} collides with {other}; kept the first")
                    return
                self.overrides[item.id] = {"pack": pack, "replaced": current, "reason": info.overrides[item.id]}
            else:
                declared = info.prefixes if info is not None else ()
                owner = self.prefix_owner.setdefault(prefix, pack) if not declared or prefix in declared else None
                if owner != pack:
                    rule = f"prefix {prefix!r} belongs to pack {owner!r}" if owner else "not its own prefix"
                    allowed = ", ".join(f"'{p}:'" for p in declared) or "its own prefix"
                    self.report(
                        pack, "tokenfab_devices", f"id {item.id!r} refused: {rule}; it may register {allowed} only"
                    )
                    return
            self.backends[item.id] = item  # a snapshot: the pack keeps no handle on what others see
            self.provided_by[item.id] = pack


def _declared(plugin: object, name: str, default: Any) -> Any:
    value = getattr(plugin, name, None)
    return default if value is None else value


def _pack_info(name: str, plugin: object, kind: str, source: str, implied: tuple[str, ...]) -> PackInfo:
    prefixes = tuple(str(p).lower() for p in _declared(plugin, "TOKENFAB_PREFIXES", implied))
    raw = _declared(plugin, "TOKENFAB_OVERRIDES", {})
    overrides = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {str(k): "" for k in raw}
    return PackInfo(name=name, kind=kind, source=source, prefixes=prefixes, overrides=overrides)


def _local_name(pm: pluggy.PluginManager, plugin: object) -> str:
    base = str(getattr(plugin, "__name__", None) or type(plugin).__name__)
    name, n = base, 2
    while pm.has_plugin(name) or pm.is_blocked(name):
        name, n = f"{base}#{n}", n + 1
    return name


def _register(registry: Registry, plugin: object, info: PackInfo) -> None:
    try:
        registry.pm.register(plugin, name=info.name)
    except Exception as exc:  # pluggy rejects hooks it does not know, or with wrong arguments
        registry.packs[info.name] = info
        registry.report(info.name, "register", f"{type(exc).__name__}: {exc}")
        return
    registry.packs[info.name] = info
    if info.prefixes:
        for prefix in info.prefixes:
            registry.prefix_owner.setdefault(prefix, info.name)


def _entry_points(registry: Registry, dists: list[Any]) -> list[tuple[Any, Any]]:
    try:
        found = discovery.entry_points(ENTRY_POINT_GROUP, dists)
    except Exception as exc:  # a broken installed distribution must not stop discovery
        registry.report("discovery", "entry points", f"{type(exc).__name__}: {exc}")
        found = []
    return sorted(found, key=lambda pair: (not _names_builtin(pair[0]), pair[0].name))


def _distributions(registry: Registry) -> list[Any]:
    """The installed distributions (:func:`tokenfab.discovery.distributions`), scanned once per build."""
    try:
        return discovery.distributions()
    except Exception as exc:  # a broken installed distribution must not stop discovery
        registry.report("discovery", "entry points", f"{type(exc).__name__}: {exc}")
        return []


def _load_entry_points(
    registry: Registry, disabled: frozenset[str], dists: list[Any], builtin: frozenset[str] | None = None
) -> None:
    pm = registry.pm
    skipped = set()
    for ep, dist in _entry_points(registry, dists):
        if pm.has_plugin(ep.name) or ep.name in registry.packs:
            continue
        if builtin is not None and ep.name.lower() not in builtin and _ships_with_tokenfab(ep, dist):
            skipped.add(ep.name)
            continue
        version = f"{dist.metadata['Name']} {dist.version}"
        registry.versions[ep.name] = version
        if ep.name.lower() in disabled:
            registry.packs[ep.name] = PackInfo(ep.name, "entry point", ep.value, version, status="disabled")
            continue
        outcome = guard.run_guarded(ep.load)
        if outcome.output:
            registry.record_output(ep.name, outcome.output)
        if outcome.error is not None:
            if outcome.timed_out:
                registry.hung.add(ep.name)
            registry.packs[ep.name] = PackInfo(ep.name, "entry point", ep.value, version)
            registry.report(ep.name, "import", f"failed to import {ep.value}: {outcome.error}")
            continue
        info = _pack_info(ep.name, outcome.value, "entry point", ep.value, (ep.name.lower(),))
        info.version = version
        _register(registry, outcome.value, info)
    registry.skipped = frozenset(skipped)


def _names_builtin(ep: Any) -> bool:
    """Whether entry point ``ep`` names one of tokenfab's own packs (``tokenfab.plugins.*``)."""
    return str(ep.value).startswith(BUILTIN_MODULE_PREFIX)


def _ships_with_tokenfab(ep: Any, dist: Any) -> bool:
    """Whether ``ep`` is a built-in pack: one of ``tokenfab.plugins.*``, declared by the tokenfab
    distribution itself (another distribution naming such a module is loaded like any third party)."""
    try:
        return _names_builtin(ep) and str(dist.metadata["Name"]).strip().lower() == "tokenfab"
    except Exception:  # noqa: BLE001 - unreadable metadata: not provably built-in, so it loads
        return False


def _is_builtin(registry: Registry, pack: str) -> bool:
    plugin = registry.pm.get_plugin(pack)
    return str(getattr(plugin, "__name__", "")).startswith(BUILTIN_MODULE_PREFIX)


def _collect_devices(registry: Registry) -> None:
    results = list(guard.call_each(registry, "tokenfab_devices"))
    results.sort(key=lambda pair: not _is_builtin(registry, pair[0]))  # built-in packs first, else LIFO
    for pack, result in results:
        _add_backends(registry, pack, result)


def build_registry(
    extra_plugins: Iterable[object] = (), *, entry_points: bool = True, builtin: Iterable[str] | None = None
) -> Registry:
    """Create the plugin manager, load packs from entry points (and ``extra_plugins``), and
    collect every device and system they return. Packs named in ``TOKENFAB_DISABLE_PACKS`` (or
    :func:`tokenfab.guard.disable_packs`) are listed as disabled and not imported. ``builtin``:
    the built-in packs to load (entry-point names; ``None``, all): see :func:`focus`."""
    builtin = None if builtin is None else frozenset(str(name).lower() for name in builtin)
    pm = pluggy.PluginManager("tokenfab")
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm=pm)
    disabled = guard.disabled_packs()
    for plugin in extra_plugins:
        name = _local_name(pm, plugin)
        if name.lower() in disabled:
            registry.packs[name] = PackInfo(name, "local", name, status="disabled")
            continue
        _register(registry, plugin, _pack_info(name, plugin, "local", str(getattr(plugin, "__name__", name)), ()))
    dists = _distributions(registry) if entry_points else []
    if entry_points:
        _load_entry_points(registry, disabled, dists, builtin)
    _collect_devices(registry)
    if entry_points:
        _load_data_packs(registry, disabled, dists)
    return registry


def _load_data_packs(registry: Registry, disabled: frozenset[str], dists: list[Any]) -> None:
    """Declarative packs: TOML files named by the ``tokenfab.data`` group or ``TOKENFAB_DEVICE_PATH``.
    Each file is loaded on its own: a malformed file is reported, the good ones beside it load.
    The TOML reader is imported only when there is a data pack to read."""
    try:
        sources = discovery.data_sources(dists)
    except Exception as exc:  # noqa: BLE001 - a broken installed distribution must not stop discovery
        registry.report("discovery", "tokenfab.data entry points", f"{type(exc).__name__}: {exc}")
        sources = []
    if sources:
        from .declarative import load_file
    for name, where, version in sources:
        registry.versions[name] = version
        info = PackInfo(name, "toml", str(where), version, prefixes=() if name.startswith("path:") else (name,))
        registry.packs[name] = info
        if name.lower() in disabled:
            info.status = "disabled"
            continue
        folder = _data_folder(registry, name, where)
        if folder is None:
            continue
        files = sorted(folder.glob("*.toml"))
        if not files:
            registry.report(name, "load", f"no *.toml files in {folder}")
        for file in files:
            try:
                devices = load_file(file)
            except TokenfabError as exc:
                registry.report(name, "load", str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a file tokenfab cannot read is that file's problem only
                registry.report(name, "load", f"{file}: {type(exc).__name__}: {exc}")
                continue
            for device in devices:
                registry.add_backend(name, device)


def _data_folder(registry: Registry, name: str, where: Any) -> pathlib.Path | None:
    from .declarative import resolve_folder

    outcome = guard.run_guarded(resolve_folder, where)
    if outcome.error is not None:
        registry.report(name, "import", f"cannot find the data package {where!r}: {outcome.error}")
        return None
    if not outcome.value.is_dir():
        registry.report(name, "load", f"{outcome.value} is not a folder")
        return None
    return outcome.value


def _add_backends(registry: Registry, plugin: str, result: object) -> None:
    if isinstance(result, (Device, System)):
        items = [result]
    elif isinstance(result, Iterable) and not isinstance(result, (str, bytes, Mapping)):
        try:
            items = list(result)
        except Exception as exc:  # noqa: BLE001 - a pack's iterable may raise while iterated
            registry.report(plugin, "tokenfab_devices", f"its result raised while read: {type(exc).__name__}: {exc}")
            return
    else:
        registry.report(plugin, "tokenfab_devices", f"tokenfab_devices must return a list, got {type(result).__name__}")
        return
    for item in items:
        if not isinstance(item, (Device, System)):
            registry.report(
                plugin, "tokenfab_devices", f"returned {type(item).__name__}, expected Device or System; skipped"
            )
            continue
        registry.add_backend(plugin, item)


def _check_models(result: Any) -> dict[str, Any]:
    if not isinstance(result, Mapping):
        raise TypeError(f"tokenfab_models must return a mapping, got {type(result).__name__}")
    return {str(key).strip().lower(): guard.deep_copy(value) for key, value in result.items()}


def _model_allowed(registry: Registry, pack: str, model_id: str) -> str | None:
    """Why ``pack`` may not contribute ``model_id`` (``None`` if it may)."""
    info = registry.packs.get(pack)
    prefixes = info.prefixes if info else ()
    if prefixes and not any(model_id.startswith((f"{p}:", f"{p}-")) for p in prefixes):
        return f"model id {model_id!r} refused: it may add ids starting '{prefixes[0]}:' or '{prefixes[0]}-' only"
    return None


def collect_models(registry: Registry) -> dict[str, object]:
    """Model configs contributed by packs through ``tokenfab_models`` (gathered once per registry).

    A pack may not shadow a built-in catalog id (unless it lists it in ``TOKENFAB_OVERRIDES``)
    nor another pack's model; a named pack's ids start with its prefix."""
    if registry._models is not None:
        return registry._models
    from ..models.catalog import CATALOG

    models: dict[str, object] = {}
    owners: dict[str, str] = {}
    for pack, result in guard.call_each(registry, "tokenfab_models", _check_models):
        overrides = registry.packs[pack].overrides if pack in registry.packs else {}
        for model_id, config in result.items():
            refused = _model_allowed(registry, pack, model_id)
            if model_id in CATALOG and model_id not in overrides:
                refused = f"model id {model_id!r} collides with the built-in catalog; kept the built-in"
            elif model_id in owners:
                refused = f"model id {model_id!r} collides with pack {owners[model_id]!r}; kept the first"
            if refused:
                registry.report(pack, "tokenfab_models", refused)
                continue
            if model_id in CATALOG:
                registry.overrides[model_id] = {"pack": pack, "replaced": "catalog", "reason": overrides[model_id]}
            models[model_id], owners[model_id] = config, pack
    registry._models = models
    return models


_DEFAULT: Registry | None = None
_DEFAULT_LOCK = threading.Lock()
_FOCUS: frozenset[str] | None = None


def focus(backend_ids: Iterable[str] | None) -> None:
    """Let the process-wide registry, when next built, load of the built-in packs only those
    that the prefixes of ``backend_ids`` name (``None``: all of them, as usual). For a process
    that asks about these backends only (the ``tokenfab`` command for one ``--backend``); third-party
    and TOML packs always load (see the module docstring). Takes effect on the next build: call it
    before the first :func:`default_registry`, or reset that with :func:`set_default_registry`."""
    global _FOCUS
    if backend_ids is None:
        _FOCUS = None
        return
    _FOCUS = frozenset(str(backend_id).partition(":")[0].strip().lower() for backend_id in backend_ids)


def default_registry() -> Registry:
    """The process-wide registry of installed packs, built once on first use (thread-safe)."""
    global _DEFAULT
    registry = _DEFAULT
    if registry is not None:
        return registry
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            built = build_registry(builtin=_FOCUS)
            for problem in built.problems:
                warnings.warn(f"tokenfab: {problem}; skipped", RuntimeWarning, stacklevel=2)
            built.announce = True
            _DEFAULT = built
        return _DEFAULT


def set_default_registry(registry: Registry | None) -> None:
    """Replace (or with ``None``, reset) the process-wide registry; for tests and embedding."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        _DEFAULT = registry
