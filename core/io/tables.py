"""Tables that fit the terminal: every CLI listing and result goes through :func:`print_table`.

A table is a list of row dicts and a list of :class:`Column` specs. Cells are formatted by
:func:`tokenfab.io.format.format_value` from the column's unit (SI prefixes, never ``1e+03``).
When the table is wider than the terminal (80 columns when output is not a terminal, or
``$COLUMNS``), :func:`fit_columns` first switches to the short headers, then hides columns
from the highest ``priority`` number down (ties: the rightmost first) until it fits, and the
caption names what it hid; ``wide=True`` shows every column whatever the width::

    from tokenfab.io.tables import Column, print_table
    columns = [Column("backend", "backend", justify="left", priority=0),
               Column("tpot_s", "time per output token", unit="s", short="TPOT", priority=1)]
    print_table(console, rows, columns, title="...", wide=args.wide)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from .format import format_value

#: Space a column takes beyond its text: one blank either side (rich's default padding) and a rule.
_COLUMN_OVERHEAD = 3


@attrs.frozen(kw_only=True)
class Column:
    """One column: ``key`` into each row dict, ``header`` (``short`` when space is tight), ``unit``
    for :func:`format_value` (``"$"`` money, ``""`` a plain number, ``"s"``, ``"B"``, ``"B/s"``,
    ``"W"``, ``"J"``...), ``priority`` (0 is never hidden; larger numbers are hidden first),
    an optional ``format`` callable that replaces the unit formatting, and ``wrap``: a column of
    prose (names, problems) that wraps at spaces, so only its longest word must fit."""

    key: str
    header: str
    unit: str = ""
    short: str = ""
    priority: int = 1
    justify: str = "right"
    format: Callable[[Any], str] | None = None
    wrap: bool = False

    def cell(self, row: Mapping[str, Any]) -> str:
        value = row.get(self.key)
        return self.format(value) if self.format is not None else format_value(value, self.unit)


def _width(header: str, cells: Iterable[str], *, wrap: bool = False) -> int:
    """Text width a column needs: its longest cell line (longest word when it wraps) and header word."""
    pieces = (text.split() if wrap else text.split("\n") for text in cells)
    longest = max((len(piece) for group in pieces for piece in group), default=0)
    return max(longest, max(len(word) for word in header.split()) if header.strip() else 0)


def table_width(widths: Sequence[int]) -> int:
    """Characters a rich table with these column text widths takes (padding and rules included)."""
    return sum(widths) + _COLUMN_OVERHEAD * len(widths) + 1


def fit_columns(
    columns: Sequence[Column], body: Sequence[Sequence[str]], width: int, *, wide: bool = False
) -> tuple[list[int], list[str], list[str]]:
    """(indices of the columns to show, their headers, names of hidden columns) for ``width``.

    Headers wrap at spaces, so a header's width is its longest word."""
    index = list(range(len(columns)))
    headers = [c.header for c in columns]
    widths = [_width(c.header, [row[i] for row in body], wrap=c.wrap) for i, c in enumerate(columns)]
    if wide or table_width(widths) <= width:
        return index, headers, []
    headers = [c.short or c.header for c in columns]
    widths = [_width(h, [row[i] for row in body], wrap=columns[i].wrap) for i, h in enumerate(headers)]
    hidden: list[int] = []
    order = sorted(index, key=lambda i: (-columns[i].priority, -i))
    for candidate in order:
        if table_width([widths[i] for i in index if i not in hidden]) <= width:
            break
        if columns[candidate].priority > 0:
            hidden.append(candidate)
    shown = [i for i in index if i not in hidden]
    return shown, [headers[i] for i in shown], [columns[i].short or columns[i].header for i in sorted(hidden)]


def _layout(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str,
    width: int,
    wide: bool,
    notes: Sequence[str],
) -> dict[str, Any]:
    """What both printers lay out: title, caption, headers, justification, no-wrap flags and cell texts."""
    body = [[column.cell(row) for column in columns] for row in rows]
    shown, headers, hidden = fit_columns(columns, body, width, wide=wide)
    caption = list(notes)
    if hidden:
        caption.append(f"hidden to fit {width} columns: {', '.join(hidden)} (--wide shows all)")
    picked = [columns[i] for i in shown]
    return dict(
        title=title,
        caption="\n".join(caption),
        headers=headers,
        justify=[column.justify for column in picked],
        # the first column and the never-hidden ones are cut, not wrapped, unless they hold prose
        no_wrap=[not column.wrap and (position == 0 or not column.priority) for position, column in enumerate(picked)],
        body=[[cells[i] for i in shown] for cells in body],
    )


def _rich_table(layout: Mapping[str, Any]):
    """A :class:`rich.table.Table` of a :func:`_layout`; every text is literal (no markup, no emoji codes)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(layout["title"], style="table.title") if layout["title"] else None,
        box=box.SIMPLE_HEAD,
        caption=Text(layout["caption"], style="table.caption") if layout["caption"] else None,
        caption_justify="left",
    )
    for header, justify, no_wrap in zip(layout["headers"], layout["justify"], layout["no_wrap"], strict=True):
        table.add_column(Text(header), justify=justify, no_wrap=no_wrap)
    for cells in layout["body"]:
        table.add_row(*map(Text, cells))
    return table


def build_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str = "",
    width: int = 80,
    wide: bool = False,
    notes: Sequence[str] = (),
):
    """A :class:`rich.table.Table` of ``rows`` fitted to ``width`` (see module docstring)."""
    return _rich_table(_layout(rows, columns, title=title, width=width, wide=wide, notes=notes))


def _wide_width(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], width: int) -> int:
    """The width a ``--wide`` table prints at: the terminal's, or all its columns' if wider."""
    needed = table_width([max(len(c.header), _width("", [c.cell(r) for r in rows])) for c in columns])
    return max(width, needed)


def print_table(
    console: Any,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str = "",
    wide: bool = False,
    notes: Sequence[str] = (),
) -> None:
    """Print ``rows`` on ``console`` (a :class:`rich.console.Console`, or the CLI's lazy one)
    fitted to its width. Where the console would print no colour and has not been created yet,
    :mod:`tokenfab.io.plain` writes the same bytes without importing rich."""
    plain = getattr(console, "plain_width", None)
    width = plain() if plain is not None else None
    if width is not None:
        layout = _layout(rows, columns, title=title, width=width, wide=wide, notes=notes)
        from .plain import render

        text = render(**layout, width=_wide_width(rows, columns, width) if wide else width)
        if text is not None:
            sys.stdout.write(text)
            return
    table = _rich_table(_layout(rows, columns, title=title, width=console.width, wide=wide, notes=notes))
    if wide:
        narrow = console.width
        console.width = _wide_width(rows, columns, narrow)  # print(width=) cannot exceed the console's own width
        try:
            console.print(table)
        finally:
            console.width = narrow
    else:
        console.print(table)


def key_value_rows(pairs: Iterable[tuple[str, str]]) -> tuple[list[dict[str, str]], list[Column]]:
    """Rows and columns of a two-column ``metric | value`` table (``tokenfab estimate``)."""
    rows = [{"metric": name, "value": value} for name, value in pairs]
    columns = [
        Column(key="metric", header="metric", justify="left", priority=0),
        Column(key="value", header="value", priority=0),
    ]
    return rows, columns
