"""Results as pandas DataFrames and Arrow tables (optional extras ``tokenfab[pandas]``, ``tokenfab[arrow]``).

Every result type turns into flat records (one dict per row, the same keys in every row, missing
values as ``None``) and from there into a frame. pandas and pyarrow are imported only here,
only when asked for, so the base install stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

_EXTRA = {"pandas": "pandas", "pyarrow": "arrow"}


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModuleNotFoundError(
            f"{module} is not installed; install it with: pip install 'tokenfab[{_EXTRA[module]}]'"
        ) from None


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys: ``{"deployment": {"tp": 8}}`` -> ``{"deployment.tp": 8}``."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def uniform_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows (see :func:`flatten`) with the union of all keys (first-seen order), ``None``
    where a row lacks one."""
    rows = [flatten(r) for r in records]
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [{key: row.get(key) for key in keys} for row in rows]


def records_to_pandas(records: Iterable[Mapping[str, Any]]):
    """A :class:`pandas.DataFrame` with one row per record."""
    pandas = _require("pandas")
    rows = uniform_records(records)
    return pandas.DataFrame.from_records(rows, columns=list(rows[0]) if rows else None)


def records_to_arrow(records: Iterable[Mapping[str, Any]]):
    """A :class:`pyarrow.Table` with one row per record."""
    pyarrow = _require("pyarrow")
    return pyarrow.Table.from_pylist(uniform_records(records))
