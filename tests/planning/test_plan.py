"""The deployment planner: rows meet the SLO, replay with estimate, and the batch is the largest."""

import json
import math
import shlex

import pytest
import tokenfab
from tokenfab.cli import main
from tokenfab.errors import ValidationError
from tokenfab.planning.planner import BATCH_PRECISION, plan, replay
from tokenfab.planning.slo import SLO

MODEL = "llama-3.3-70b"
WORKLOAD = {"input_tokens": 1000, "output_tokens": 500}
BACKENDS = "nvidia:h100-sxm,amd:mi300x,groq:lpu"
SLO_50 = SLO.from_options(ttft="2s", tokens_per_s_per_user=50)


@pytest.fixture(scope="module")
def result():
    return plan(MODEL, WORKLOAD, slo=SLO_50, backends=BACKENDS)


def test_rows_meet_the_slo_and_are_sorted_by_cost(result):
    assert result.rows, result.diagnosis
    costs = [row.usd_per_mtok for row in result.rows if row.usd_per_mtok is not None]
    assert costs == sorted(costs)
    for row in result.rows:
        assert row.ttft_s <= 2.0 and row.tpot_s <= 1 / 50
        # 1 / TPOT is the per-user speed; the per-device speed is the total over the devices
        assert row.tokens_per_s_per_user == pytest.approx(1 / row.tpot_s)
        assert row.tokens_per_s_per_device == pytest.approx(row.tokens_per_s / row.devices)
        # $/Mtok over input + output = $/Mtok over output x 500 / 1500
        if row.usd_per_mtok is not None:
            assert row.usd_per_mtok_in_out == pytest.approx(row.usd_per_mtok * 500 / 1500)


def test_every_row_replays_with_estimate(result):
    for row in result.rows:
        again = replay(row)
        for key in ("ttft_s", "tpot_s", "tokens_per_s", "joules_per_token", "usd_per_mtok", "devices", "batch"):
            assert getattr(again, key) == getattr(row.estimate, key) == getattr(row, key), key
        # the API form with the resolved values
        again = tokenfab.estimate(MODEL, row.deployment, row.workload)
        assert again.tpot_s == row.tpot_s


def test_the_printed_command_replays_the_row(capsys, result):
    row = result.rows[0]
    argv = shlex.split(row.command)[1:] + ["--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tpot_s"] == pytest.approx(row.tpot_s, rel=1e-12)
    assert out["usd_per_mtok"] == pytest.approx(row.usd_per_mtok, rel=1e-12)
    assert out["devices"] == row.devices and out["batch"] == row.batch


def test_the_batch_is_the_largest_meeting_the_slo(result):
    """One bisection step further (3 %) the binding limit fails, or memory runs out."""
    row = result.rows[0]
    bigger = math.ceil(row.batch_per_replica * (1 + BATCH_PRECISION)) + 1
    try:
        est = tokenfab.estimate(MODEL, row.deployment, row.workload.evolve(batch=bigger))
    except tokenfab.FitError:
        assert row.binding == "memory"
        return
    assert not SLO_50.met(est.ttft_s, est.tpot_s)
    assert row.binding in ("tpot", "ttft", "tpot+ttft")


def test_a_looser_limit_never_costs_more():
    loose = plan(MODEL, WORKLOAD, slo=SLO.from_options(tokens_per_s_per_user=20), backends="nvidia:h100-sxm")
    tight = plan(MODEL, WORKLOAD, slo=SLO.from_options(tokens_per_s_per_user=60), backends="nvidia:h100-sxm")
    assert loose.best.usd_per_mtok <= tight.best.usd_per_mtok
    assert loose.best.batch_per_replica >= tight.best.batch_per_replica


def test_nothing_meets_an_impossible_slo_and_the_diagnosis_says_by_how_much():
    result = plan(MODEL, WORKLOAD, slo=SLO.from_options(tpot="1ms"), backends="nvidia:h100-sxm", precisions="fp8")
    assert result.rows == ()
    (line,) = result.diagnosis
    assert line.startswith("TPOT") and "nvidia:h100-sxm" in line
    # the fastest candidate's batch-1 TPOT over the 1 ms limit, as printed
    ratio = float(line.rsplit(": ", 1)[1].split("x")[0])
    fastest = min(
        tokenfab.estimate(MODEL, "nvidia:h100-sxm", batch=1, devices=n, tp=n, weights="fp8", **WORKLOAD).tpot_s
        for n in (1, 2, 4, 8)
        if n * 80e9 > 70e9 * 1.1 or n > 1
    )
    assert ratio == pytest.approx(fastest / 1e-3, rel=0.01)


def test_max_devices_and_the_devices_objective():
    result = plan(MODEL, WORKLOAD, slo=SLO_50, backends="nvidia:h100-sxm,nvidia:h200", max_devices=4)
    assert result.rows and all(row.devices <= 4 for row in result.rows)
    fewest = plan(MODEL, WORKLOAD, slo=SLO_50, backends="nvidia:h100-sxm,nvidia:h200", objective="devices")
    devices = [row.devices for row in fewest.rows]
    assert devices == sorted(devices)


def test_latency_objective_serves_one_sequence_per_replica():
    result = plan(MODEL, WORKLOAD, slo=SLO_50, backends="nvidia:h100-sxm", objective="latency")
    assert {row.batch_per_replica for row in result.rows} == {1}


def test_a_target_rate_adds_replicas():
    target = 20000.0
    result = plan(MODEL, {**WORKLOAD, "tokens_per_s": target}, slo=SLO_50, backends="nvidia:h200")
    row = result.best
    assert row.tokens_per_s >= target
    per_replica = row.tokens_per_s / row.replicas
    assert row.replicas == math.ceil(target / per_replica - 1e-9) and row.binding == "rate"


def test_under_a_request_rate_the_simulated_percentile_meets_the_slo():
    slo = SLO.from_options(ttft="2s", tokens_per_s_per_user=30, percentile=99)
    result = plan(MODEL, {**WORKLOAD, "rate": 10.0}, slo=slo, backends="nvidia:h200", precisions="fp8")
    assert result.rows
    for row in result.rows:
        sim = row.simulated
        assert sim["percentiles"]["ttft_s"]["99"] <= 2.0 and sim["percentiles"]["tpot_s"]["99"] <= 1 / 30
        # offered 10 req/s x 500 tokens; the devices' hourly price spread over those tokens
        hourly = row.estimate.usd_per_device_hour
        assert sim["usd_per_mtok_at_rate"] == pytest.approx(row.devices * hourly / 3600 / 5000 * 1e6)


def test_speculative_decoding_is_searched_when_a_draft_is_given():
    spec = tokenfab.serving.Speculative(draft="llama-3.2-1b", tokens=4, acceptance=0.8)
    result = plan(MODEL, {**WORKLOAD, "speculative": spec}, slo=SLO_50, backends="nvidia:h100-sxm")
    kinds = {row.speculative for row in result.rows}
    assert kinds == {True, False}
    for row in result.rows:
        assert replay(row).tpot_s == row.tpot_s


@pytest.mark.parametrize(
    "kwargs",
    [{"objective": "speed"}, {"max_devices": 0}, {"precisions": ""}, {"slo": {"ttft_s": -1}}],
)
def test_bad_input_is_a_validation_error(kwargs):
    with pytest.raises(ValidationError):
        plan(MODEL, WORKLOAD, backends="nvidia:h100-sxm", **{"slo": SLO_50, **kwargs})


def test_cli_plan_table_json_and_bad_input(capsys):
    argv = ["plan", "--model", MODEL, "--backends", "nvidia:h100-sxm", "--tokens-per-user", "50"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "nvidia:h100-sxm" in out and "replay the best: tokenfab estimate" in out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][0]["deployment"]["backend"] == "nvidia:h100-sxm"
    assert "OUTPUT tokens" in data["metrics"]["usd_per_mtok"]
    assert main([*argv, "--tpot", "20ms"]) == 2
    assert "tpot" in capsys.readouterr().err
