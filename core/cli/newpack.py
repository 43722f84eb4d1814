"""``tokenfab new-pack``: start a hardware pack from the template."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output, emit

ORDER = 90


def register(sub: Any) -> dict:
    """Add this module's subcommands to ``sub``; return name -> handler."""
    p = sub.add_parser(
        "new-pack",
        help="write a working hardware pack (pyproject, one sourced device, tests, README)",
        description="Writes ./tokenfab-NAME: a pip-installable pack whose device ids take the prefix NAME:, "
        "with tests that run tokenfab's conformance suite. Then: cd tokenfab-NAME && pip install -e '.[test]' "
        "&& pytest.",
    )
    p.add_argument("name", help="pack name and id prefix, lower-case (e.g. acme)")
    p.add_argument("--toml", action="store_true", help="describe the device in a TOML file instead of Python")
    p.add_argument("--dir", help="folder to write (default ./tokenfab-NAME); must be empty or new")
    add_output(p)
    return {"new-pack": cmd_new_pack}


def cmd_new_pack(args: argparse.Namespace, console: Any) -> None:
    from ..io.tables import Column
    from ..testing.newpack import write_pack

    written = write_pack(args.name, args.dir, toml=args.toml)
    rows = [{"file": str(path)} for path in written]
    notes = [f"next: cd {written[0].parent} && pip install -e '.[test]' && pytest && tokenfab backends"]
    emit(args, console, rows, [Column(key="file", header="written", justify="left", priority=0)], notes=notes)
