"""The ``tokenfab`` command line. Every listing and result is also available as ``--json``.

Bad input exits with code 2 and one line on stderr naming the field.

Each public module of this package (a name not starting with ``_``) adds its subcommands through
``register(subparsers)``, which returns ``{command name: handler}``; a handler takes
``(args, console)``. Add a command by adding a module: it is found by name. A module may set
``ORDER`` (an int, default 100) to place its commands in ``--help``. Command modules import heavy
things inside their handlers, so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import TokenfabError


def command_modules() -> list:
    """The command modules of this package, in help order (``ORDER``, then name)."""
    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return sorted(modules, key=lambda mod: (getattr(mod, "ORDER", 100), mod.__name__))


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable]]:
    parser = argparse.ArgumentParser(
        prog="tokenfab", description="What a token costs, and how fast it comes, on each AI chip."
    )
    parser.add_argument("--version", action="version", version=f"tokenfab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Callable] = {}
    for module in command_modules():
        handlers.update(module.register(sub))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    console = Console()  # the terminal's width ($COLUMNS), 80 when output is not a terminal
    try:
        handlers[args.command](args, console)
    except TokenfabError as exc:
        print(f"tokenfab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
