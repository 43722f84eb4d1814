"""Helper for packs: build ``Device.sources`` from short keys.

    URL = {"dsheet": "https://vendor.example/datasheet.pdf"}
    sources = cite(URL, peak__bf16="dsheet: 1,979 sparse / 2", memory__hbm="dsheet")

Each keyword is a figure path with ``__`` for ``.``; its value is ``"key1,key2: note"``, the keys
resolving in ``urls``. The result maps ``"peak.bf16"`` to ``"<url> -- 1,979 sparse / 2"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ValidationError


def cite(urls: Mapping[str, str], **figures: str) -> dict[str, str]:
    out = {}
    for path, spec in figures.items():
        keys, _, note = spec.partition(": ")
        try:
            cites = "; ".join(urls[k.strip()] for k in keys.split(","))
        except KeyError as exc:
            raise ValidationError(f"cite: figure {path!r} names unknown source key {exc.args[0]!r}") from None
        out[path.replace("__", ".")] = cites + (f" -- {note.strip()}" if note.strip() else "")
    return out
