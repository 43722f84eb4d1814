"""Results as pandas and Arrow: one row per result, the same values as to_dict(), scenario columns in CSV."""

import csv
import io
import json

import pytest
import tokenfab
from tokenfab.cli import main
from tokenfab.io.frames import uniform_records

pandas = pytest.importorskip("pandas")
pyarrow = pytest.importorskip("pyarrow")

SCENARIO = dict(batch=4, input_tokens=256, output_tokens=64)


def test_uniform_records_fills_missing_keys_with_none():
    assert uniform_records([{"a": 1}, {"b": 2}]) == [{"a": 1, "b": None}, {"a": None, "b": 2}]


def test_estimate_frames_match_to_dict():
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h200", **SCENARIO)
    frame, table = est.to_pandas(), est.to_arrow()
    assert len(frame) == 1 and table.num_rows == 1
    assert frame.loc[0, "tpot_s"] == est.tpot_s and table.column("usd_per_mtok")[0].as_py() == est.usd_per_mtok
    # $/Mtok counting input too = output-only price x O / (I + O) = x 64 / 320
    assert frame.loc[0, "usd_per_mtok_in_out"] == pytest.approx(est.usd_per_mtok * 64 / 320)


def test_comparison_frame_keeps_failed_rows_and_scenario():
    result = tokenfab.compare("llama-3.1-405b", "nvidia:h100-sxm,nvidia:b200", devices=1, **SCENARIO)
    frame = result.to_pandas()
    assert list(frame["backend"]) == [row.backend for row in result.rows]
    assert set(frame["model"]) == {"llama-3.1-405b"} and set(frame["batch"]) == {4}
    assert frame["error"].notna().any()  # 405B in bf16 does not fit one H100: kept with its reason
    assert result.to_arrow().num_rows == 2


def test_step_cost_frame_has_one_row_per_scenario():
    step = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=[1, 8, 64], context=1024)
    frame = step.to_pandas()
    assert list(frame["batch"]) == [1, 8, 64] and list(frame["seconds"]) == list(step.seconds)
    assert step.to_arrow().column("bound").to_pylist() == list(step.bound)


def test_estimate_csv_holds_scenario_columns(capsys):
    argv = ["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--batch", "4", "--csv"]
    assert main(argv) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["model"] == "llama-3.1-8b" and row["backend"] == "nvidia:h200" and row["batch"] == "4"
    assert row["input_tokens"] == "1000" and row["output_tokens"] == "500" and float(row["tpot_s"]) > 0


@pytest.mark.parametrize("command", [["backends"], ["models"], ["plugins"]])
def test_listings_have_csv_and_json(capsys, command):
    assert main([*command, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert main([*command, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(rows) > 0
