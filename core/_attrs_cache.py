"""The methods attrs writes for tokenfab's classes, compiled once and kept on disk like bytecode.

attrs writes ``__init__``, ``__eq__``, ``__hash__`` and ``__repr__`` of each class as Python
source and compiles it when the class is defined: about 0.4 ms a class, some 15-20 ms of a
``tokenfab estimate`` process (40 classes). The source is the same in every process except one
number, the per-class salt of ``__hash__`` (``hash()`` of a string, which differs per process).
This module keeps the compiled code objects (marshalled, unmarshalled only when used) in
``__pycache__/attrs-methods.<cache tag>.marshal`` beside this file, keyed by the file name attrs
gives the class and the length, CRC-32 and Adler-32 of the source with the salt taken out, and
puts the process's salt back into the cached code (the one integer constant that differs). A
source never seen before is compiled as usual and added to the file when the process exits.

Only classes defined in tokenfab's own modules and attrs' own validators go through the cache
(attrs names the source ``<attrs generated methods tokenfab.…>`` or ``… attr.…>``); every other
compile is attrs' own. Like Python's bytecode cache, nothing is written where
``sys.dont_write_bytecode`` is set (:func:`warm` writes anyway, as ``compileall`` does) or the
folder is not writable, and ``TOKENFAB_ATTRS_CACHE=0`` turns the cache off. attrs looks
``compile`` up in its module ``attr._make``; that module gets this cached one as soon as attrs is
imported (a one-shot import hook that ``tokenfab/__init__.py`` sets, or :func:`install` when
attrs came first), so that no class misses it. If a future attrs compiles some other way,
nothing changes and classes are compiled as before.
"""

from __future__ import annotations

import builtins
import marshal
import os
import re
import sys
import zlib
from importlib.machinery import PathFinder
from types import CodeType
from typing import Any

DISABLE_VARIABLE = "TOKENFAB_ATTRS_CACHE"
_OURS = re.compile(r"<attrs generated [^>]* (tokenfab|attr)\.")
_SALT = re.compile(r"(hash\(\(\s*)(-?\d+)(\s*,)")
_MAX_ENTRIES = 2000  # a cap on entries left by earlier versions of the classes: past it, start afresh

_Key = tuple[str, int, int, int]  # attrs' file name; length, CRC-32 and Adler-32 of the unsalted source
_cache: dict[_Key, tuple[bytes, int | None]] | None = None
_added: dict[_Key, tuple[bytes, int | None]] = {}


def cache_path() -> str:
    """The cache file: ``__pycache__`` beside this module (under ``sys.pycache_prefix`` when set)."""
    folder = os.path.dirname(os.path.abspath(__file__))
    if sys.pycache_prefix:
        folder = os.path.join(sys.pycache_prefix, os.path.splitdrive(folder)[1].lstrip(os.sep))
    else:
        folder = os.path.join(folder, "__pycache__")
    return os.path.join(folder, f"attrs-methods.{sys.implementation.cache_tag}.marshal")


def _load() -> dict:
    global _cache
    if _cache is None:
        _cache = {}
        try:
            with open(cache_path(), "rb") as handle:
                loaded = marshal.load(handle)
            if isinstance(loaded, dict):
                _cache = loaded
        except (OSError, EOFError, ValueError, TypeError):  # no file yet, or a torn or foreign one
            pass
    return _cache


def _with_salt(code: CodeType, old: int, new: int) -> CodeType:
    """``code`` with the integer constant ``old`` replaced by ``new``, in nested functions too
    (only the code objects that hold it are rebuilt: ``__hash__`` and those that contain it)."""
    consts, changed = list(code.co_consts), False
    for i, const in enumerate(consts):
        if type(const) is int and const == old:
            consts[i], changed = new, True
        elif isinstance(const, CodeType):
            replaced = _with_salt(const, old, new)
            if replaced is not const:
                consts[i], changed = replaced, True
    return code.replace(co_consts=tuple(consts)) if changed else code


def _key(source: str, filename: str) -> _Key:
    data = source.encode("utf-8", "surrogatepass")
    return (filename, len(data), zlib.crc32(data), zlib.adler32(data))


def cached_compile(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
    """``compile`` for attrs: tokenfab's generated methods from the cache, the rest as usual."""
    if args or kwargs or mode != "exec" or not isinstance(source, str) or not _OURS.match(str(filename)):
        return builtins.compile(source, filename, mode, *args, **kwargs)
    salted = _SALT.search(source)
    salt = int(salted.group(2)) if salted else None
    unsalted = source if salted is None else f"{source[: salted.start(2)]}0{source[salted.end(2) :]}"
    key = _key(unsalted, filename)
    hit = _load().get(key)
    if hit is not None and (hit[1] is None) == (salt is None):
        try:
            code = marshal.loads(hit[0])
        except (EOFError, ValueError, TypeError):
            code = None
        if isinstance(code, CodeType):
            return code if salt is None or hit[1] == salt else _with_salt(code, hit[1], salt)
    code = builtins.compile(source, filename, mode)
    if salt is None and "hash((" in source:  # a __hash__ this module cannot find the salt of: never reuse it
        return code
    _added[key] = (marshal.dumps(code), salt)
    if len(_added) == 1:
        import atexit

        atexit.register(save)
    return code


def save(*, force: bool = False) -> None:
    """Write this process's new entries into the cache file (atomically; silently skipped where
    it cannot be written, as Python's bytecode cache is, and under ``sys.dont_write_bytecode``
    unless ``force``)."""
    if not _added or (sys.dont_write_bytecode and not force):
        return
    entries = dict(_load())
    if len(entries) + len(_added) > _MAX_ENTRIES:
        entries = {}
    entries.update(_added)
    path = cache_path()
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump(entries, handle)
        os.replace(temporary, path)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return
    _added.clear()


def _patch(module: Any) -> None:
    if getattr(module, "compile", builtins.compile) is builtins.compile:
        module.compile = cached_compile


def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
    """The spec of ``attr._make`` from the standard path finder, its loader patching the module
    once it ran (``tokenfab/__init__.py`` asks, from a finder that then leaves ``sys.meta_path``)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not getattr(finder, "tokenfab_attrs", False)]
    spec = PathFinder.find_spec(name, path, target)
    loader = getattr(spec, "loader", None)
    if loader is None or not hasattr(loader, "exec_module") or os.environ.get(DISABLE_VARIABLE, "").strip() == "0":
        return spec
    spec.loader = _Loader(loader)
    return spec


class _Loader:
    """The standard loader of ``attr._make``, with :func:`cached_compile` as the module's ``compile``
    from the start (a module-level name the module itself never assigns)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.compile = cached_compile  # before it runs: attrs' own classes in it go through the cache too
        self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def install() -> None:
    """Route attrs' compiles of tokenfab's classes through the cache (see module docstring), for
    an ``attr._make`` already imported (``tokenfab/__init__.py`` hooks the import otherwise)."""
    module = sys.modules.get("attr._make")
    if module is not None and os.environ.get(DISABLE_VARIABLE, "").strip() != "0":
        _patch(module)


def warm() -> int:
    """Import every tokenfab module (those that import) and write the cache even under
    ``PYTHONDONTWRITEBYTECODE``, as ``compileall`` writes bytecode; returns the entries added.
    ``python -c "from tokenfab._attrs_cache import warm; warm()"`` runs it."""
    import importlib
    import pkgutil

    install()
    import tokenfab

    for info in pkgutil.walk_packages(tokenfab.__path__, "tokenfab."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except Exception:  # noqa: BLE001 - an optional extra that is not installed: its classes stay uncached
                continue
    added = len(_added)
    save(force=True)
    return added
