"""Predictions stay within each public point's tolerance band (benchmarks/calibration_points.json)."""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
POINTS = json.loads((ROOT / "benchmarks" / "calibration_points.json").read_text())["points"]
spec = importlib.util.spec_from_file_location("check_calibration", ROOT / "benchmarks" / "check_calibration.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


@pytest.mark.parametrize("point", POINTS, ids=[p["id"] for p in POINTS])
def test_prediction_within_tolerance(point):
    ratio = check.predict(dict(point)) / point["value"]
    band = point.get("known_gap_tolerance", point["tolerance"])
    assert 1 / band <= ratio <= band, f"{point['id']}: predicted/measured = {ratio:.2f}, allowed band {band}"
