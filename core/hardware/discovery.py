"""Entry points of installed distributions, read without importing :mod:`importlib.metadata`.

Plugin discovery needs only the ``tokenfab`` and ``tokenfab.data`` groups, and the name and
version of the distributions that declare them. :mod:`importlib.metadata` imports the ``email``
package to parse metadata (about 20 ms at start-up, more than the rest of discovery) and parses
each distribution's ``METADATA`` again on every ``metadata``/``version`` access. This module
reads the same files (the core metadata specification: a ``*.dist-info`` or ``*.egg-info``
folder per distribution in a ``sys.path`` folder, an INI-style ``entry_points.txt``, and the
``Name:``/``Version:`` header lines of ``METADATA`` or ``PKG-INFO``) in the order
:func:`importlib.metadata.distributions` yields them.

Where the path holds something this reader does not handle (a zip file or ``.egg`` on
``sys.path``, or a meta-path finder that provides distributions of its own), it falls back to
:func:`importlib.metadata.distributions`, which handles every case.
"""

from __future__ import annotations

import functools
import importlib
import os
import pathlib
import re
import sys
from typing import Any

DATA_GROUP = "tokenfab.data"
PATH_VARIABLE = "TOKENFAB_DEVICE_PATH"
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


class EntryPoint:
    """One entry point: ``name = value`` in ``group`` (the fields of :class:`importlib.metadata.EntryPoint`)."""

    __slots__ = ("name", "value", "group", "dist")

    def __init__(self, name: str, value: str, group: str, dist: Any = None) -> None:
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def load(self) -> Any:
        """The object the value names (``module`` or ``module:attr.attr``), imported."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"malformed entry point value {self.value!r}")
        module = importlib.import_module(match.group("module"))
        return functools.reduce(getattr, filter(None, (match.group("attr") or "").split(".")), module)

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


class Distribution:
    """One installed distribution's folder: its entry points and ``Name``/``Version`` headers."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._headers: dict[str, str] | None = None
        self._entry_points: list[EntryPoint] | None = None

    def _read(self, name: str) -> str | None:
        """The file's text (UTF-8), or ``None`` when it cannot be read. Read as bytes and decoded:
        a text-mode file object costs more than the read, for 50-odd files per start-up; the
        callers split lines with ``splitlines``, which reads ``\r\n`` as text mode would."""
        try:
            with open(os.path.join(self.folder, name), "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        return data.decode("utf-8")

    @property
    def metadata(self) -> dict[str, str]:
        """The header fields of ``METADATA`` (``PKG-INFO`` for an egg-info), read once."""
        if self._headers is None:
            text = self._read("METADATA") or self._read("PKG-INFO") or ""
            headers: dict[str, str] = {}
            for line in text.splitlines():
                if not line.strip():
                    break  # the body (long description) follows the first blank line
                key, sep, value = line.partition(":")
                if sep and not line[0].isspace():
                    headers.setdefault(key.strip(), value.strip())
            self._headers = headers
        return self._headers

    @property
    def version(self) -> str | None:
        return self.metadata.get("Version")

    @property
    def _normalized_name(self) -> str:
        """The name part of the folder (``Foo.Bar-1.0.dist-info`` -> ``foo_bar``), as importlib.metadata has it."""
        stem = os.path.basename(self.folder).rpartition(".")[0].partition("-")[0]
        return re.sub(r"[-_.]+", "_", stem).lower()

    @property
    def entry_points(self) -> list[EntryPoint]:
        if self._entry_points is None:
            self._entry_points = parse_entry_points(self._read("entry_points.txt") or "", self)
        return self._entry_points


def parse_entry_points(text: str, dist: Any = None) -> list[EntryPoint]:
    """Entry points of an ``entry_points.txt`` (``[group]`` sections of ``name = value`` lines)."""
    found, group = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
        elif group is not None and "=" in line:
            name, _, value = line.partition("=")
            found.append(EntryPoint(name.strip(), value.strip(), group, dist))
    return found


def _folders(root: str) -> list[str] | None:
    """Distribution folders directly in ``root`` in :mod:`importlib.metadata`'s order (grouped
    by normalized name, first seen first); ``None`` when ``root`` needs importlib.metadata."""
    if os.path.basename(root).lower().endswith(".egg"):
        return None
    try:
        children = os.listdir(root or ".")
    except NotADirectoryError:
        return None
    except OSError:
        return []  # a missing folder on sys.path holds nothing
    groups: dict[str, list[str]] = {}
    for child in children:
        low = child.lower()
        if low.endswith((".dist-info", ".egg-info")):
            name = re.sub(r"[-_.]+", "_", low.rpartition(".")[0].partition("-")[0])
            groups.setdefault(name, []).append(os.path.join(root, child))
    return [folder for folders in groups.values() for folder in folders]


def _needs_importlib() -> bool:
    """Whether a meta-path finder other than the standard path finder provides distributions."""
    from importlib.machinery import PathFinder

    return any(finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path)


def distributions() -> list[Any]:
    """Every installed distribution on ``sys.path`` (:func:`importlib.metadata.distributions`'s
    order, duplicates included), as :class:`Distribution` folders, or importlib.metadata's
    own objects where this reader cannot see everything (see module docstring)."""
    if not _needs_importlib():
        found: list[Any] = []
        for root in sys.path:
            folders = _folders(root)
            if folders is None:
                break
            found += [Distribution(folder) for folder in folders]
        else:
            return found
    import importlib.metadata

    return list(importlib.metadata.distributions())


def entry_points(group: str, dists: list[Any] | None = None, *, unique: bool = False) -> list[tuple[Any, Any]]:
    """``(entry point, distribution)`` for every entry point of ``group``, in distribution order;
    with ``unique``, only the first distribution of each name counts (as
    :func:`importlib.metadata.entry_points` does)."""
    found, seen = [], set()
    for dist in distributions() if dists is None else dists:
        if unique:
            name = getattr(dist, "_normalized_name", None)
            if name in seen:
                continue
            seen.add(name)
        found += [(ep, dist) for ep in dist.entry_points if ep.group == group]
    return found


def data_sources(dists: list[Any] | None = None) -> list[tuple[str, Any, str]]:
    """(pack name, package or folder, version) for every ``tokenfab.data`` entry point (first
    distribution of each name) and every ``TOKENFAB_DEVICE_PATH`` folder."""
    found: list[tuple[str, Any, str]] = []
    for ep, dist in entry_points(DATA_GROUP, dists, unique=True):
        version = f"{dist.metadata['Name']} {dist.version}" if dist is not None else ""
        found.append((ep.name, ep.value, version))
    for folder in filter(None, os.environ.get(PATH_VARIABLE, "").split(os.pathsep)):
        found.append((f"path:{folder}", pathlib.Path(folder), "data files"))
    return found
