"""The plain table printer writes the bytes rich writes for the same table, or declines."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from tokenfab.cli import main
from tokenfab.io import plain, tables

# ASCII, markup and emoji look-alikes, and a few one-cell Latin/Greek letters; the tab and the
# ellipsis are characters the plain printer must decline (rich measures them its own way).
TEXT = st.text(alphabet=st.sampled_from(list("ab XY09.$/:-[]()µéΩ_") + ["\t", "…"]), max_size=24)
WORDS = st.text(alphabet=st.sampled_from(list("abc XYZ0123456789.$/:-")), min_size=1, max_size=30)


def _rich(layout, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width).print(tables._rich_table(layout))
    return out.getvalue()


@st.composite
def layouts(draw, text=WORDS):
    n = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(text, min_size=n, max_size=n), max_size=5))
    notes = draw(st.lists(text, max_size=3))
    return dict(
        title=draw(st.one_of(st.just(""), text)),
        caption="\n".join(notes),
        headers=draw(st.lists(text, min_size=n, max_size=n)),
        justify=draw(st.lists(st.sampled_from(["left", "right", "center"]), min_size=n, max_size=n)),
        no_wrap=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        body=rows,
    )


@settings(max_examples=400, deadline=None)
@given(layout=layouts(), width=st.integers(10, 140))
def test_same_bytes_as_rich_on_plain_words(layout, width):
    text = plain.render(**layout, width=width)
    if text is not None:
        assert text == _rich(layout, width)


@settings(max_examples=300, deadline=None)
@given(layout=layouts(TEXT), width=st.integers(10, 140))
def test_same_bytes_or_declines_on_awkward_text(layout, width):
    text = plain.render(**layout, width=width)
    if text is not None:
        assert text == _rich(layout, width)


def test_cut_cells_end_in_an_ellipsis_like_rich():
    layout = dict(title="", caption="", headers=["k", "v"], justify=["left", "right"], no_wrap=[True, True])
    # at 40: 40 - 3 rules = 37 for cells; natural widths min(10 + 2, 37) = 12 and min(40 + 2, 37) = 37, total 49,
    # 12 too many; no column may wrap, so each gives an equal share: min(12, round(12 / 2)) = 6, then 6: [6, 31]
    layout["body"] = [["abcdefghij", "x" * 40]]
    assert plain.column_widths([["k", "abcdefghij"], ["v", "x" * 40]], [True, True], 40) == [6, 31]
    text = plain.render(**layout, width=40)
    assert text == _rich(layout, 40)
    # text widths 6 - 2 = 4 and 31 - 2 = 29: 3 letters and 28 x's, each followed by the ellipsis;
    # a row is edge, blank, text, blank, rule (a blank in this box), blank, text, blank, edge
    assert "  abc\u2026   " + "x" * 28 + "\u2026  \n" in text
    # at 30 with a 2-letter key: 27 for cells, naturals min(2 + 2, 27) = 4 and 27, 4 too many: the key gives
    # min(4, round(4 / 2)) = 2 and ends 2 wide, narrower than rich's padding needs: declined
    layout["body"] = [["ab", "x" * 40]]
    assert plain.render(**layout, width=30) is None


def test_declines_what_would_wrap():
    layout = dict(title="", caption="", headers=["name"], justify=["left"], no_wrap=[False], body=[["a " * 30]])
    assert plain.render(**layout, width=30) is None


def test_ratio_reduce_matches_rich():
    from rich._ratio import ratio_reduce

    cases = [(5, [1, 1, 1], [9, 9, 9], [9, 9, 9]), (7, [1, 0, 1], [3, 9, 9], [10, 10, 10]), (3, [0, 0], [1, 1], [4, 4])]
    for args in cases:
        assert plain.ratio_reduce(*args) == ratio_reduce(*args)


COMMANDS = [
    ("estimate", "--model", "llama-2-70b", "--backend", "nvidia:h100-sxm", "--devices", "8", "--batch", "8"),
    ("estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--breakdown"),
    ("compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm,groq:lpu", "--batch", "4"),
    ("backends",),
    ("models",),
    ("plugins",),
    ("mappings", "--model", "llama-3.1-70b", "--backend", "nvidia:h100-sxm", "--batch", "16"),
]


@pytest.mark.parametrize("width", [80, 132, 40])
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_cli_prints_what_rich_prints(capsys, monkeypatch, argv, width):
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert main(list(argv)) == 0
    fast = capsys.readouterr().out
    monkeypatch.setattr(plain, "render", lambda *args, **kwargs: None)
    assert main(list(argv)) == 0
    assert fast == capsys.readouterr().out


def test_plain_width_follows_rich(monkeypatch):
    monkeypatch.setenv("COLUMNS", "97")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert plain.plain_width() == Console().width == 97  # capsys: stdout is not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich would print colour codes
    assert plain.plain_width() is None
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert plain.plain_width() == 97
