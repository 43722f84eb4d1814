"""Plain-text tables, byte for byte what rich prints for them, without importing rich.

Importing rich and laying out a table with it costs about 25 ms, which is most of what a
``tokenfab estimate`` process spends beyond its sums. When the output has no colour (not a
terminal, see :func:`plain_width`), :func:`render` lays out the table that
:func:`tokenfab.io.tables.build_table` would build (box ``SIMPLE_HEAD``, one blank of padding
either side of a cell, title centred over the table, caption left-justified) with rich's own
rules, copied from rich 13-15 (``Table._calculate_column_widths``, ``_collapse_widths``,
``rich._ratio.ratio_reduce``, ``Text.truncate`` and ``Lines.justify``):

* a column's natural width is its longest text (header included) plus 2, at most the space left
  for cells (``width`` minus one rule per column plus one);
* when they do not fit, the widest wrappable columns shrink first, down to the next widest,
  then every column gives up an equal share (``ratio_reduce``);
* a cell longer than its column is cut and ends in ``…`` (rich's ``ellipsis`` overflow); right
  and centred cells lose trailing blanks first.

:func:`render` answers ``None`` whenever rich would do something these rules do not cover:
a cell that would wrap onto a second line, a title or caption line wider than the table, a
line break or tab inside a cell, or a character whose width rich measures with its Unicode
tables (only characters rich itself treats as one cell wide are taken). The caller then prints
with rich. ``tests/io/test_plain_tables.py`` holds the two equal on generated tables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

#: Characters rich measures as one cell without its Unicode tables (``rich.cells._SINGLE_CELL_UNICODE_RANGES``),
#: less no-break space and soft hyphen, which Python and rich may treat as blanks.
_ONE_CELL = frozenset(
    chr(code)
    for start, end in ((0x20, 0x7E), (0xA1, 0xAC), (0xAE, 0x2FF), (0x370, 0x482))
    for code in range(start, end + 1)
)
_CELL_PADDING = 2  # one blank either side of a cell's text
_HEAD_RULE = "\u2500"  # the rule under the header row of SIMPLE_HEAD


def plain_width() -> int | None:
    """The width a default ``rich.console.Console()`` would print plain text at, or ``None``
    when it would print anything else (colour on a terminal, Jupyter, a non-UTF-8 stream, Windows).

    Same decisions as rich's ``Console.is_terminal``, ``encoding`` and ``size``: ``TTY_COMPATIBLE``
    and ``FORCE_COLOR`` mark a terminal, else ``sys.stdout.isatty()``; the width is ``$COLUMNS``,
    else the size of the first of stdin, stdout, stderr that is a terminal, else 80."""
    if sys.platform == "win32" or "IPython" in sys.modules or "idlelib" in sys.modules:
        return None
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible == "1" or (compatible != "0" and os.environ.get("FORCE_COLOR") not in (None, "")):
        return None
    stdout = sys.stdout
    try:
        if compatible != "0" and stdout.isatty():
            return None
    except (AttributeError, ValueError):  # rich: a stream without isatty, or closed, is not a terminal
        pass
    if not (getattr(stdout, "encoding", None) or "utf-8").lower().startswith("utf"):
        return None
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    width = None
    for descriptor in (0, 1, 2):
        try:
            width = os.get_terminal_size(descriptor).columns
            break
        except (AttributeError, ValueError, OSError):
            continue
    return width or 80


def ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take ``total`` from ``values`` in proportion to ``ratios``, at most ``maximums`` each (rich's rule)."""
    ratios = [ratio if maximum else 0 for ratio, maximum in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining, result = total, []
    for ratio, maximum, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * remaining / total_ratio))
            result.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _collapse(widths: list[int], wrappable: list[bool], limit: int) -> list[int]:
    """Shrink the widest wrappable columns towards the next widest until the total fits ``limit``."""
    total = sum(widths)
    excess = total - limit
    if not any(wrappable):
        return widths
    while total and excess > 0:
        widest = max(w for w, wrap in zip(widths, wrappable, strict=True) if wrap)
        second = max(w if wrap and w != widest else 0 for w, wrap in zip(widths, wrappable, strict=True))
        ratios = [1 if (w == widest and wrap) else 0 for w, wrap in zip(widths, wrappable, strict=True)]
        if not any(ratios) or widest == second:
            break
        widths = ratio_reduce(excess, ratios, [min(excess, widest - second)] * len(widths), widths)
        total = sum(widths)
        excess = total - limit
    return widths


def column_widths(texts: Sequence[Sequence[str]], no_wrap: Sequence[bool], width: int) -> list[int] | None:
    """Each column's width (padding included, rules not) in a table at most ``width`` wide, as
    rich lays it out; ``None`` where rich's layout would leave a column narrower than 3."""
    limit = width - (len(texts) + 1)  # one rule per column, and the closing one
    if limit < 3 * len(texts):
        return None
    natural = [min(max(map(len, column)) + _CELL_PADDING, limit) for column in texts]
    widths = natural
    if sum(widths) > limit:
        widths = _collapse(widths, [not flag for flag in no_wrap], limit)
        if sum(widths) > limit:
            widths = ratio_reduce(sum(widths) - limit, [1] * len(widths), widths, widths)
    return widths if min(widths) >= 3 else None


def _fit(text: str, width: int, justify: str) -> str:
    """One line of ``text`` in ``width`` cells: rich's ``Lines.justify`` then ``Text.truncate`` (ellipsis)."""
    if justify != "left":
        text = text.rstrip()
    if len(text) > width:
        text = text[: width - 1] + "\u2026"
    if justify == "right":
        return text.rjust(width)
    if justify == "center":
        return (" " * ((width - len(text)) // 2) + text).ljust(width)
    return text.ljust(width)


def _plain(text: str, *, lines: bool = False) -> bool:
    """Whether rich would measure ``text`` as these characters, one cell each (``lines``: may hold line breaks)."""
    return _ONE_CELL.issuperset(text.replace("\n", "") if lines else text)


def render(
    title: str,
    caption: str,
    headers: Sequence[str],
    justify: Sequence[str],
    no_wrap: Sequence[bool],
    body: Sequence[Sequence[str]],
    width: int,
) -> str | None:
    """The text rich prints for this table at ``width`` without colour, or ``None`` where these
    rules do not promise the same bytes (see module docstring)."""
    if not headers or not all(map(_plain, headers)) or not all(_plain(cell) for row in body for cell in row):
        return None
    if not _plain(title) or not _plain(caption, lines=True):
        return None
    columns = [[header, *(row[i] for row in body)] for i, header in enumerate(headers)]
    widths = column_widths(columns, no_wrap, width)
    if widths is None:
        return None
    for column, size, flag in zip(columns, widths, no_wrap, strict=True):
        if not flag and max(map(len, column)) > size - _CELL_PADDING:
            return None  # rich would wrap this cell onto more lines
    total = sum(widths) + len(widths) + 1
    annotations = [title] if title else []
    caption_lines = caption.split("\n") if caption else []
    if any(len(line) > total for line in annotations + caption_lines) or any(not line for line in caption_lines):
        return None
    blank = " " * total
    out = [_fit(title, total, "center")] if title else []
    out.append(blank)
    for index, cells in enumerate([list(headers), *map(list, body)]):
        shaped = zip(cells, widths, justify, strict=True)
        out.append("  " + "   ".join(_fit(cell, size - _CELL_PADDING, how) for cell, size, how in shaped) + "  ")
        if index == 0:
            out.append(" " + _HEAD_RULE.join(_HEAD_RULE * size for size in widths) + " ")
    out.append(blank)
    out += [_fit(line, total, "left") for line in caption_lines]
    return "\n".join(out) + "\n"
