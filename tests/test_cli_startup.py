"""The CLI builds only the parser of the command it runs, with the same result as the full parser."""

import contextlib
import io

import pytest
from tokenfab.cli import build_parser, main, named_command

FULL_PARSER, ALL_HANDLERS = build_parser()
COMMANDS = sorted(ALL_HANDLERS)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["estimate", "--model", "x"], "estimate"),
        (["--disable-pack", "amd", "backends"], "backends"),
        (["--disable", "amd", "--disable-pack=groq", "models"], "models"),  # abbreviation takes a value
        (["--version"], None),
        (["-h", "estimate"], None),  # top-level help lists every command
        (["--he", "estimate"], None),
        (["--", "plan"], "plan"),
        ([], None),
    ],
)
def test_named_command(argv, command):
    assert named_command(argv) == command


def _help(parser, argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parser.parse_args(argv)
    return out.getvalue()


@pytest.mark.parametrize("command", COMMANDS)
def test_one_command_parser_equals_the_full_parser(command):
    parser, handlers = build_parser([command, "--help"])
    assert command in handlers and set(handlers) <= set(ALL_HANDLERS)
    assert _help(parser, [command, "--help"]) == _help(FULL_PARSER, [command, "--help"])


def _registered_by(module):
    """The commands ``module.register`` adds (a recording stand-in for argparse's subparsers)."""
    import argparse

    names = []

    class Recorder:
        def add_parser(self, name, **kwargs):
            names.append(name)
            return argparse.ArgumentParser()

    module.register(Recorder())
    return names


def test_command_table_names_the_module_of_every_command():
    from tokenfab.cli import COMMAND_MODULES, command_modules

    modules = command_modules()
    found = {name: module.__name__.rpartition(".")[2] for module in modules for name in _registered_by(module)}
    assert found == COMMAND_MODULES


def test_a_named_command_imports_its_module_only():
    from tokenfab.cli import command_modules

    assert [module.__name__ for module in command_modules("compare")] == ["tokenfab.cli.serving"]
    assert len(command_modules("no-such-command")) == len(command_modules())


def test_narrow_parse_gives_the_full_parse():
    argv = ["--disable-pack", "amd", "estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--batch", "4"]
    narrow, _ = build_parser(argv)
    assert vars(narrow.parse_args(argv)) == vars(FULL_PARSER.parse_args(argv))


def test_mistyped_command_still_suggests_from_every_command(capsys):
    assert main(["estmate", "--model", "x"]) == 2
    err = capsys.readouterr().err
    choice = "invalid choice: 'estmate'; did you mean 'estimate'?"
    assert err.strip() == f"tokenfab: error: argument command: {choice} (see 'tokenfab --help')"


# Modules a `tokenfab estimate` process has no use for: rich (plain output is written by
# tokenfab.io.plain), the optional extras, importlib.metadata and email (discovery reads the
# dist-info files itself), the TOML reader (only declarative packs need it), and shutil (argparse
# imports it to ask the terminal width unless the formatter is sized first).
HEAVY = (
    "rich",
    "pandas",
    "pyarrow",
    "matplotlib",
    "dask",
    "distributed",
    "importlib.metadata",
    "email",
    "tomllib",
    "shutil",
)
ESTIMATE = ["estimate", "--model", "llama-2-70b", "--backend", "nvidia:h100-sxm", "--devices", "8", "--batch", "8"]


def _modules_after(argv):
    """The modules loaded by a fresh process that runs the CLI with ``argv`` (stdout a pipe, 80 columns)."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, sys\nfrom tokenfab.cli import main\nrc = main(sys.argv[1:])\n"
        "print(json.dumps([rc, sorted(sys.modules)]), file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["COLUMNS"] = "80"
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, check=True)
    rc, modules = json.loads(proc.stderr.strip().splitlines()[-1])
    return rc, proc.stdout, set(modules)


@pytest.mark.parametrize("extra", [[], ["--json"], ["--csv"], ["--breakdown"]])
def test_estimate_imports_nothing_heavy(extra):
    rc, out, modules = _modules_after([*ESTIMATE, *extra])
    assert rc == 0 and ("TTFT" in out or "ttft_s" in out)
    assert not [name for name in HEAVY if name in modules]


@pytest.mark.parametrize("columns", [None, "", "0", "-3", "abc", "57", "200"])
def test_help_width_is_shutils(monkeypatch, columns):
    import shutil

    from tokenfab.cli import _terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _terminal_columns() == shutil.get_terminal_size().columns


def test_main_inside_a_program_leaves_the_collector_alone(capsys):
    import gc

    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    assert main(["models", "--json"]) == 0
    assert gc.get_freeze_count() == frozen and gc.isenabled() == enabled
    capsys.readouterr()


def test_a_tokenfab_process_freezes_its_modules_and_collects_after():
    # the console-script path (no argv): setup objects frozen, the collector on for the command
    import subprocess
    import sys

    code = (
        "import gc, sys\nfrom tokenfab.cli import main\nsys.argv = ['tokenfab', 'models', '--json']\n"
        "rc = main()\nprint(rc, gc.isenabled(), gc.get_freeze_count() > 1000, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.split()[-3:] == ["0", "True", "True"] and '"llama-2-70b"' in proc.stdout
