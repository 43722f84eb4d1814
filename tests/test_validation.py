"""`tokenfab validate`: the shipped points, the scores, the threshold kept in the repository, the CLI."""

import json
import pathlib

import pytest
import tokenfab
from tokenfab.cli import main
from tokenfab.errors import ValidationError
from tokenfab.validation import PointResult, load_points, summarise, validate

ROOT = pathlib.Path(__file__).resolve().parents[1]
THRESHOLDS = json.loads((ROOT / "core" / "validation" / "thresholds.json").read_text())
POINTS = load_points()
SLACK = 0.005  # numerical noise allowed before a worse score fails


@pytest.fixture(scope="module")
def report():
    return validate()


def test_every_point_has_provenance_and_one_role():
    for p in POINTS:
        assert p["source"].startswith("http"), p["id"]
        assert p["quote"] and p["role"] in ("calibration", "check"), p["id"]
        assert ("calibrates" in p) == (p["role"] == "calibration"), f"{p['id']}: name the constant it calibrates"
    assert len({p["id"] for p in POINTS}) == len(POINTS)


def test_no_calibration_point_reappears_as_a_check():
    # A check with the same backend, model, metric and workload as a calibration point would score the fit itself.
    def key(p):
        c = p["conditions"]
        # speculative decoding makes it another workload (a draft model's cycle, not plain decoding)
        spec = json.dumps(c.get("speculative"), sort_keys=True)
        # a training run is its device count and recipe (the same model on 64 or 512 GPUs is another run)
        run = json.dumps([c.get("devices"), c.get("recipe")], sort_keys=True) if p["kind"] == "training" else None
        return (p.get("backend"), p.get("model"), p["metric"], c.get("input_tokens"), c.get("output_tokens"), spec, run)

    calibration = {key(p) for p in POINTS if p["role"] == "calibration"}
    assert not [p["id"] for p in POINTS if p["role"] == "check" and key(p) in calibration]


def test_set_covers_every_vendor_in_the_reference():
    vendors = {p["vendor"] for p in POINTS}
    assert {"NVIDIA", "AMD", "Google", "AWS", "Cerebras", "Groq", "SambaNova"} <= vendors
    assert len(POINTS) >= 150


@pytest.mark.parametrize("role", ["all", "check"])
def test_median_error_does_not_worsen_beyond_the_threshold(role):
    summary = validate(role=role).summary()[0]
    limit = THRESHOLDS[role]
    assert summary.median_abs_error <= limit["median_abs_error"] + SLACK, (
        f"median |error| ({role}) {summary.median_abs_error:.3f} worse than {limit['median_abs_error']}"
    )
    assert summary.within_2x >= limit["within_2x"] - SLACK


@pytest.mark.parametrize("point", [p for p in POINTS if "tolerance" in p], ids=lambda p: p["id"])
def test_points_with_a_tolerance_band_stay_in_it(point):
    row = validate(points=[point]).rows[0]
    band = point["tolerance"]
    assert row.error is None and 1 / band <= row.ratio <= band, f"{point['id']}: ratio {row.ratio}"


def test_rows_that_cannot_be_estimated_carry_their_error(report):
    sambanova = [r for r in report.rows if r.point["vendor"] == "SambaNova"]
    assert sambanova and all(r.predicted is None and "no backend 'sambanova:sn40l'" in r.error for r in sambanova)
    assert all(s.scored == 0 and s.median_abs_error is None for s in report.summary("vendor") if s.group == "SambaNova")


def test_summary_worked_example():
    # ratios 0.5, 0.9, 1.2, 3.0 -> |error| 0.5, 0.1, 0.2, 2.0 -> median (0.2 + 0.5) / 2 = 0.35;
    # within 25%: 0.9 and 1.2 -> 2/4; within 2x: 0.5, 0.9, 1.2 -> 3/4. The error row is not scored.
    rows = [PointResult(point={"value": 10.0}, predicted=10.0 * r) for r in (0.5, 0.9, 1.2, 3.0)]
    rows.append(PointResult(point={"value": 10.0}, error="does not fit"))
    s = summarise("x", rows)
    assert (s.points, s.scored) == (5, 4)
    assert s.median_abs_error == pytest.approx(0.35)
    assert s.within_25 == pytest.approx(0.5) and s.within_2x == pytest.approx(0.75)


def test_selection_by_vendor_and_role():
    groq = tokenfab.validate(vendor="groq")
    assert groq.rows and {r.point["vendor"] for r in groq.rows} == {"Groq"}
    checks = validate(role="check")
    assert checks.rows and all(r.point["role"] == "check" for r in checks.rows)
    with pytest.raises(ValidationError, match="role"):
        validate(role="both")


def test_point_of_a_kind_without_predictor_is_a_row_not_a_crash():
    point = {**POINTS[0], "id": "t", "kind": "simulation", "metric": "mfu", "value": 0.4}
    row = validate(points=[point]).rows[0]
    assert row.predicted is None and "no predictor for kind 'simulation'" in row.error


def test_bad_point_file_is_rejected(tmp_path):
    bad = {**POINTS[0], "role": "both"}
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"points": [bad]}))
    with pytest.raises(ValidationError, match="role"):
        load_points(str(path))


def test_cli_json_and_exit_code(capsys):
    assert main(["validate", "--vendor", "Groq", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    groq = [p for p in POINTS if p["vendor"] == "Groq"]
    assert data["summary"]["points"] == len(groq) == 9 and len(data["rows"]) == 9  # 2 calibration, 7 checks
    assert {"role", "vendor", "metric", "kind"} <= set(data["by"])
    assert main(["validate", "--vendor", "AMD"]) == 0
    out = capsys.readouterr().out
    assert "mlperf-inf-v4.1-amd-mi300x" in out and "median |error|" in out


def _spec_point(speculative):
    conditions = {"input_tokens": 1000, "output_tokens": 500, "batch": 1, "speculative": speculative}
    return {
        "id": "spec-example", "kind": "inference", "role": "check", "vendor": "Groq", "backend": "groq:lpu",
        "model": "llama-3.1-70b", "metric": "tokens_per_s_per_user", "value": 1000.0, "source": "test",
        "quote": "test", "conditions": conditions,
    }  # fmt: skip


def test_speculative_condition_is_replayed_with_its_draft():
    spec = {"draft": "llama-3.2-1b", "tokens": 3, "acceptance": 0.5}
    row = validate(points=[_spec_point(spec)]).rows[0]
    assert row.error is None
    direct = tokenfab.estimate(
        "llama-3.1-70b", "groq:lpu", input_tokens=1000, output_tokens=500, speculative=tokenfab.Speculative(**spec)
    )
    assert row.predicted == pytest.approx(direct.tokens_per_s_per_user)
    # a = 0.5, g = 3: (1 - 0.5^4) / (1 - 0.5) = 0.9375 / 0.5 = 1.875 tokens per cycle
    assert direct.speculative_tokens_per_step == pytest.approx(1.875)
    # acceptance 0: one token per cycle that also pays 3 draft steps, so slower than plain decoding
    plain = tokenfab.estimate("llama-3.1-70b", "groq:lpu", input_tokens=1000, output_tokens=500)
    none_accepted = validate(points=[_spec_point({**spec, "acceptance": 0.0})]).rows[0]
    assert none_accepted.predicted < plain.tokens_per_s_per_user


@pytest.mark.parametrize("bad", [{"tokens": 3}, {"draft": "llama-3.2-1b", "window": 3}, "llama-3.2-1b"])
def test_malformed_speculative_condition_is_an_error_row(bad):
    row = validate(points=[_spec_point(bad)]).rows[0]
    assert row.predicted is None and "conditions.speculative" in row.error
