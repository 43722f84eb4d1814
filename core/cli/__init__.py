"""The ``tokenfab`` command line. Every listing and result is also available as ``--json``.

Bad input exits with code 2 and one line on stderr naming the field.

Each module of this package adds its subcommands through ``register(subparsers)``, which returns
``{command name: handler}``; a handler takes ``(args, console)``. Add a command by adding a
module and naming it in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import TokenfabError

#: Modules (relative to this package) whose ``register`` adds subcommands, in help order.
COMMAND_MODULES = ("listing", "serving")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable]]:
    parser = argparse.ArgumentParser(
        prog="tokenfab", description="What a token costs, and how fast it comes, on each AI chip."
    )
    parser.add_argument("--version", action="version", version=f"tokenfab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Callable] = {}
    for name in COMMAND_MODULES:
        handlers.update(importlib.import_module(f"{__name__}.{name}").register(sub))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 140))
    try:
        handlers[args.command](args, console)
    except TokenfabError as exc:
        print(f"tokenfab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
