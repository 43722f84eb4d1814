"""The ``tokenfab`` command line. Every listing and result is also available as ``--json``.

Exit codes: 0 everything computed; 1 some rows of a batch command (``compare``, ``sweep``)
could not be computed (their ``status`` is ``error``); 2 bad input, with one line on stderr
naming the field (argparse usage errors too); 141 the reader of stdout went away (``| head``),
quietly. Global option ``--disable-pack NAME`` (repeatable; also ``TOKENFAB_DISABLE_PACKS``)
leaves a pack out of the run.

Each public module of this package (a name not starting with ``_``) adds its subcommands through
``register(subparsers)``, which returns ``{command name: handler}``; a handler takes
``(args, console)``. Add a command by adding a module: it is found by name. A module may set
``ORDER`` (an int, default 100) to place its commands in ``--help``. Command modules import heavy
things inside their handlers, so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .. import __version__
from ..errors import TokenfabError

#: The module that registers each command, so that a run naming one imports that module only
#: (importing all of them is about 1% of an estimate process). A command missing here still works
#: (every module is then imported); ``tests/test_cli_startup.py`` holds the table to the modules.
COMMAND_MODULES = {
    "backends": "listing",
    "compare": "serving",
    "estimate": "serving",
    "mappings": "mappings",
    "models": "listing",
    "new-pack": "newpack",
    "pareto": "pareto",
    "plan": "plan",
    "plugins": "listing",
    "report": "report",
    "simulate": "simulate",
    "sweep": "sweep",
    "train": "train",
    "validate": "validate",
}
#: Commands that ask about the one backend of their ``--backend`` only: a ``tokenfab`` process
#: running one loads, of the built-in packs, just the one that provides it
#: (:func:`tokenfab.hardware.registry.focus`).
ONE_BACKEND_COMMANDS = frozenset({"estimate", "mappings", "simulate", "train"})


def command_modules(command: str | None = None) -> list:
    """The command modules of this package, in help order (``ORDER``, then name); with
    ``command`` in :data:`COMMAND_MODULES`, only the module that registers it."""
    if command in COMMAND_MODULES:
        return [importlib.import_module(f"{__name__}.{COMMAND_MODULES[command]}")]
    import pkgutil

    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return sorted(modules, key=lambda mod: (getattr(mod, "ORDER", 100), mod.__name__))


_CHOICE = r"invalid choice: '?([^' ]*)'? \(choose from (.*)\)"  # compiled on a usage error only


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (``tokenfab: error: ...``, exit 2) and a
    did-you-mean suggestion for a mistyped command or choice. ``description`` and ``epilog`` may
    be functions returning the text: they are called only when the help is printed."""

    def error(self, message: str) -> None:  # type: ignore[override]
        match = re.search(_CHOICE, message)
        if match:
            import difflib  # a mistyped command or choice is the only user

            choices = [c.strip().strip("'") for c in match.group(2).split(",")]
            close = difflib.get_close_matches(match.group(1), choices, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f" (choose from {', '.join(choices)})"
            message = message[: match.start()] + f"invalid choice: {match.group(1)!r}{hint}"
        self.exit(2, f"tokenfab: error: {' '.join(message.split())} (see '{self.prog} --help')\n")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Sized before argparse adds -h: its default formatter would import shutil to ask the terminal.
        kwargs["formatter_class"] = _sized(kwargs.get("formatter_class", argparse.HelpFormatter))
        super().__init__(*args, **kwargs)

    def format_help(self) -> str:
        if callable(self.description):
            self.description = self.description()
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()


def _sized(formatter_class: Any) -> Callable[..., argparse.HelpFormatter]:
    """``formatter_class`` given the width argparse would give it (the terminal's, less 2), found
    without importing :mod:`shutil` (and through it bz2 and lzma): argparse makes a formatter for
    every option added."""

    def make(prog: str, **kwargs: Any) -> argparse.HelpFormatter:
        kwargs.setdefault("width", _terminal_columns() - 2)
        return formatter_class(prog, **kwargs)

    return make


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, the same steps: ``$COLUMNS`` when a positive
    integer, else the size of ``sys.__stdout__``'s terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Unbuilt:
    """Stands in for the parser of a command this run does not use: takes every call and drops it."""

    def __getattr__(self, name: str) -> Callable:
        return self._drop

    def _drop(self, *args: object, **kwargs: object) -> _Unbuilt:
        return self


class _OnlyCommand:
    """The subparsers action, building a real parser for ``command`` only (the others are
    :class:`_Unbuilt`): one command's parser is all a run that names it uses."""

    def __init__(self, action: Any, command: str) -> None:
        self.action, self.command = action, command

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.command == name or self.command in kwargs.get("aliases", ()):
            return self.action.add_parser(name, **kwargs)
        return _Unbuilt()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.action, name)


def named_command(argv: Sequence[str] | None) -> str | None:
    """The command ``argv`` names: its first token that is neither an option nor the value of
    ``--disable-pack`` (or an abbreviation of it); ``None`` when it names none or asks for the
    top-level help first (which lists every command)."""
    args, i = list(argv or ()), 0
    while i < len(args):
        token = args[i]
        if token == "-h" or (len(token) > 2 and "--help".startswith(token)):
            return None
        if token == "--":
            return args[i + 1] if i + 1 < len(args) else None
        if len(token) > 2 and "--disable-pack".startswith(token):
            i += 2
        elif token.startswith("-"):
            i += 1
        else:
            return token
    return None


def build_parser(argv: Sequence[str] | None = None) -> tuple[argparse.ArgumentParser, dict[str, Callable]]:
    """The parser and ``{command: handler}``. With ``argv`` naming a command, only that command's
    parser gets its options (building all of them costs more than answering an estimate), and only
    the module that registers it (:data:`COMMAND_MODULES`) is imported, so ``handlers`` holds that
    module's commands. ``--help`` and a mistyped command get the full parser and every handler."""
    command = named_command(argv)
    parser = OneLineParser(prog="tokenfab", description="What a token costs, and how fast it comes, on each AI chip.")
    parser.add_argument("--version", action="version", version=f"tokenfab {__version__}")
    disable = dict(action="append", default=[], metavar="NAME", help="leave this pack out (repeatable)")
    parser.add_argument("--disable-pack", dest="disable_pack", **disable)
    sub = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Callable] = {}
    for module in command_modules(command):
        handlers.update(module.register(sub if command is None else _OnlyCommand(sub, command)))
    if command is not None and command not in sub.choices:  # not a command: the full parser says so
        return build_parser()
    for subparser in sub.choices.values():  # also accepted after the command name
        subparser.add_argument("--disable-pack", dest="disable_pack_after", **{**disable, "help": argparse.SUPPRESS})
    return parser, handlers


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split()).removeprefix("tokenfab: ")
    print(f"tokenfab: warning: {text}", file=sys.stderr)


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


class LazyConsole:
    """A rich ``Console`` created on first use, so that commands printing JSON or CSV never import rich."""

    def __init__(self) -> None:
        object.__setattr__(self, "_console", None)

    def _real(self):
        if self._console is None:
            from rich.console import Console

            # the terminal's width ($COLUMNS), 80 when output is not a terminal
            object.__setattr__(self, "_console", Console())
        return self._console

    def plain_width(self) -> int | None:
        """The width rich would print plain text at (:func:`tokenfab.io.plain.plain_width`) while
        no rich console exists yet; ``None`` once one does, or where it would print colour."""
        if self._console is not None:
            return None
        from ..io.plain import plain_width

        return plain_width()

    def __getattr__(self, name: str):
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._real(), name, value)


@contextlib.contextmanager
def _collector_paused(process: bool) -> Iterator[None]:
    """In a ``tokenfab`` process (``process``): no cyclic garbage collection while the parser and
    the command's modules are built, then :func:`gc.freeze` of all that (modules, classes,
    functions: they live as long as the process), so that no later collection, the one at exit
    included, walks them again; about 15% of an estimate process. The command itself runs with
    the collector on. A ``main(argv)`` call inside a program (the tests) leaves the collector alone."""
    if not process or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; ``argv`` defaults to ``sys.argv[1:]`` (the ``tokenfab`` script)."""
    from ..hardware.guard import disable_packs

    with _collector_paused(argv is None):
        parser, handlers = build_parser(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error (2) or --help / --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    disabled = [*args.disable_pack, *getattr(args, "disable_pack_after", [])]
    if disabled:
        disable_packs(disabled)
    if argv is None and args.command in ONE_BACKEND_COMMANDS and isinstance(getattr(args, "backend", None), str):
        from ..hardware.registry import focus

        focus([args.backend])
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            console = LazyConsole()
            return int(handlers[args.command](args, console) or 0)
    except TokenfabError as exc:
        print(f"tokenfab: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    finally:
        if disabled:
            disable_packs(())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
