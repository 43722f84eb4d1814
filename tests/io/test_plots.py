"""--plot draws files whose series equal the JSON output."""

import json

import pytest
from tokenfab.cli import main

pytest.importorskip("matplotlib")


def run_json(capsys, argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_pareto_plot_series_equal_the_json(tmp_path, capsys):
    from tokenfab.io.plots import plot_pareto
    from tokenfab.planning.pareto import pareto

    argv = ["pareto", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm,amd:mi300x"]
    path = tmp_path / "front.png"
    data = run_json(capsys, [*argv, "--plot", str(path)])
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = pareto("llama-3.1-8b", {"input_tokens": 1000, "output_tokens": 500}, backends="nvidia:h100-sxm,amd:mi300x")
    drawn = plot_pareto(result, tmp_path / "front.svg")
    assert (tmp_path / "front.svg").read_text().lstrip().startswith("<?xml")
    for backend in ("nvidia:h100-sxm", "amd:mi300x"):
        rows = [r for r in data["rows"] if r["backend"] == backend]
        assert drawn[backend]["x"] == [r["tokens_per_s_per_user"] for r in rows]
        assert drawn[backend]["y"] == [r["tokens_per_s_per_device"] for r in rows]


def test_plan_plot_draws_one_point_per_priced_row(tmp_path, capsys):
    from tokenfab.io.plots import plot_plan
    from tokenfab.planning.planner import plan
    from tokenfab.planning.slo import SLO

    argv = ["plan", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm,nvidia:h200", "--tokens-per-user", "50"]
    data = run_json(capsys, [*argv, "--plot", str(tmp_path / "plan.svg")])
    assert (tmp_path / "plan.svg").exists()
    result = plan(
        "llama-3.1-8b",
        {"input_tokens": 1000, "output_tokens": 500},
        slo=SLO.from_options(ttft="2s", tokens_per_s_per_user=50),
        backends="nvidia:h100-sxm,nvidia:h200",
    )
    drawn = plot_plan(result, tmp_path / "plan.png")
    assert sorted(v["y"][0] for v in drawn.values()) == sorted(r["usd_per_mtok"] for r in data["rows"])


def test_compare_and_sweep_plots(tmp_path, capsys):
    argv = ["compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm,amd:mi300x"]
    data = run_json(capsys, [*argv, "--plot", str(tmp_path / "c.png")])
    assert (tmp_path / "c.png").exists() and data["rows"]
    argv = [
        "sweep",
        "--model",
        "llama-3.1-8b",
        "--backends",
        "nvidia:h100-sxm",
        "--batch",
        "1,8,64",
        "--context",
        "1024",
    ]
    run_json(capsys, [*argv, "--plot", str(tmp_path / "s.svg")])
    assert (tmp_path / "s.svg").exists()


def test_a_bad_plot_file_is_a_one_line_error(capsys, tmp_path):
    code = main(
        ["pareto", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm", "--plot", str(tmp_path / "x.pdf")]
    )
    assert code == 2 and "plot" in capsys.readouterr().err
