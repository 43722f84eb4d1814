"""Tables fit the terminal: short headers first, then columns hidden by priority; --wide shows all."""

import io

import pytest
from rich.console import Console
from tokenfab.cli import main
from tokenfab.io.tables import Column, build_table, fit_columns, table_width

COLUMNS = [
    Column(key="name", header="backend", justify="left", priority=0),
    Column(key="a", header="tokens per second", short="tok/s", priority=1),
    Column(key="b", header="joules per token", short="J/tok", unit="J", priority=3),
    Column(key="c", header="dollars", short="$", unit="$", priority=2),
]
ROWS = [{"name": "nvidia:h100-sxm", "a": 1462.3, "b": 0.52, "c": 1.5}]


def test_width_accounts_for_padding_and_rules():
    # two columns of 5 and 7 characters: 5 + 7 text, 3 per column (a blank each side, one rule), 1 closing rule
    assert table_width([5, 7]) == 5 + 7 + 3 * 2 + 1


def test_short_headers_then_priority_hides_columns():
    body = [[c.cell(r) for c in COLUMNS] for r in ROWS]
    shown, headers, hidden = fit_columns(COLUMNS, body, 200)
    assert shown == [0, 1, 2, 3] and hidden == [] and headers[1] == "tokens per second"
    # at 40 columns: short headers (backend 15, tok/s 5, J/tok 6, $ 5) -> 15+5+6+5 + 12 + 1 = 44 > 40,
    # so the highest priority number (J/tok, 3) goes: 15+5+5 + 9 + 1 = 35 <= 40
    shown, headers, hidden = fit_columns(COLUMNS, body, 40)
    assert headers == ["backend", "tok/s", "$"] and hidden == ["J/tok"]
    shown, headers, hidden = fit_columns(COLUMNS, body, 40, wide=True)
    assert len(shown) == 4 and hidden == []


def test_rendered_table_fits_and_names_hidden_columns():
    out = io.StringIO()
    Console(file=out, width=40).print(build_table(ROWS, COLUMNS, title="t", width=40))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 40
    assert "1.46k" in out.getvalue() and "$1.50" in out.getvalue() and "--wide" in out.getvalue()


def _cli_lines(capsys, monkeypatch, width, *argv):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    "argv",
    [
        ("compare", "--model", "llama-3.1-70b", "--backends", "all", "--devices", "8"),
        ("compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm,groq:lpu", "--sort", "joules_per_token"),
        ("estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--breakdown"),
        ("backends",),
        ("models",),
        ("plugins",),
        ("sweep", "--model", "llama-3.1-8b", "--backends", "nvidia:h200,amd:mi300x", "--batch", "1,64"),
        ("mappings", "--model", "llama-3.1-70b", "--backend", "nvidia:h100-sxm", "--batch", "16"),
        ("plugins", "--check", "groq"),
    ],
)
def test_every_command_fits_80_columns(capsys, monkeypatch, argv):
    lines = _cli_lines(capsys, monkeypatch, 80, *argv)
    assert lines and max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "e+" not in text and "e-0" not in text  # never scientific notation


def test_wide_shows_every_column(capsys, monkeypatch):
    argv = ("compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm", "--sort", "tpot_s")
    narrow = "\n".join(_cli_lines(capsys, monkeypatch, 80, *argv))
    wide = "\n".join(_cli_lines(capsys, monkeypatch, 80, *argv, "--wide"))
    assert "J/tok" not in narrow.split("hidden")[0] and "hidden" in narrow
    assert "J/tok" in wide and "$/Mtok i+o" in wide and "hidden" not in wide
    assert "TPOT" in narrow  # the sort metric is never hidden
