"""Pareto fronts: no point on a front is dominated, every point replays, CLI outputs agree."""

import csv
import io
import json

import pytest
import tokenfab
from tokenfab.cli import main
from tokenfab.errors import ValidationError
from tokenfab.planning.pareto import front, pareto

WORKLOAD = {"input_tokens": 1000, "output_tokens": 200}


@pytest.fixture(scope="module")
def result():
    return pareto("llama-3.1-8b", WORKLOAD, backends="nvidia:h100-sxm,amd:mi300x")


def test_front_keeps_exactly_the_non_dominated_points():
    # (x, y): (1, 5) beats (1, 4); (2, 3) and (3, 1) trade off; (2, 2) is beaten by (2, 3).
    pts = [{"tokens_per_s_per_user": x, "m": y} for x, y in [(1, 5), (1, 4), (2, 3), (2, 2), (3, 1)]]
    import tokenfab.planning.pareto as module

    module.PARETO_METRICS["m"] = True
    try:
        kept = [(p["tokens_per_s_per_user"], p["m"]) for p in front(pts, "m")]
    finally:
        del module.PARETO_METRICS["m"]
    assert kept == [(1, 5), (2, 3), (3, 1)]


def test_fronts_are_non_dominated_and_cover_every_backend(result):
    assert set(result.series()) == {"nvidia:h100-sxm", "amd:mi300x"}
    for backend in result.series():
        mine = [p for p in result.points if p["backend"] == backend]
        for row in (r for r in result.rows if r["backend"] == backend):
            x, y = row["tokens_per_s_per_user"], row["tokens_per_s_per_device"]
            assert not any(
                p["tokens_per_s_per_user"] >= x
                and p["tokens_per_s_per_device"] >= y
                and (p["tokens_per_s_per_user"] > x or p["tokens_per_s_per_device"] > y)
                for p in mine
            )
        xs = result.series()[backend]["x"]
        assert xs == sorted(xs) and len(xs) >= 3


def test_every_front_point_replays(result):
    for row in result.rows[:6]:
        est = tokenfab.estimate(
            "llama-3.1-8b", tokenfab.Deployment(**row["deployment"]), tokenfab.Workload(**row["workload"])
        )
        assert est.tokens_per_s_per_device == row["tokens_per_s_per_device"]


def test_cost_metric_front_is_cheapest_at_each_speed():
    result = pareto("llama-3.1-8b", WORKLOAD, backends="nvidia:h100-sxm", metric="usd_per_mtok")
    ys = result.series()["nvidia:h100-sxm"]["y"]
    assert ys == sorted(ys)  # faster per user costs more per token along the front
    with pytest.raises(ValidationError):
        pareto("llama-3.1-8b", WORKLOAD, metric="speed")


def test_cli_json_csv_and_table_agree(capsys):
    argv = ["pareto", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm", "--input", "1000", "--output", "200"]
    assert main([*argv, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert main([*argv, "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [float(r["tokens_per_s_per_user"]) for r in table] == [r["tokens_per_s_per_user"] for r in rows]
    assert main(argv) == 0
    assert "Pareto front" in capsys.readouterr().out
