"""The serving simulator against queueing closed forms, and its invariants."""

import json

import numpy as np
import pytest
from tokenfab.cli import main
from tokenfab.deployment import Deployment, Workload
from tokenfab.errors import ValidationError
from tokenfab.planning.simulate import Trace, run_replica, simulate
from tokenfab.planning.slo import SLO
from tokenfab.planning.steptimes import StepTimes

DEPLOYMENT = Deployment(backend="nvidia:h200", devices=4, tp=4, weights="fp8")


def waiting_times(trace, decode_s, prefill_s):
    """Time in queue: TTFT less the prefill step, at batch 1 (a single FIFO server)."""
    served = run_replica(
        trace, StepTimes.constant(decode_s=decode_s, prefill_s=prefill_s), max_batch=1, kv_capacity_tokens=1e12
    )
    return served.first_token_s - served.arrival_s - prefill_s


@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_md1_mean_wait_matches_the_closed_form(rho):
    # Deterministic service D = prefill + (O - 1) x step = 0.01 + 49 x 0.01 = 0.5 s;
    # M/D/1 (Pollaczek-Khinchine with Var S = 0): Wq = rho D / (2 (1 - rho)); rho 0.3 -> 0.107 s.
    service = 0.01 + 49 * 0.01
    trace = Trace.poisson(rho / service, input_tokens=10, output_tokens=50, seed=3, requests=20000)
    expected = rho * service / (2 * (1 - rho))
    assert waiting_times(trace, 0.01, 0.01).mean() == pytest.approx(expected, rel=0.06)


def test_mm1_mean_wait_matches_the_closed_form():
    # Output lengths geometric with mean 200 at 1 ms per token: service ~ exponential, mean
    # 1/mu = 0.2 s (prefill 1 ms). M/M/1 at rho = 0.5: Wq = rho / (mu - lambda) = 0.5 / (5 - 2.5) = 0.2 s.
    rng = np.random.default_rng(7)
    n, mean_tokens = 20000, 200
    outputs = rng.geometric(1 / mean_tokens, n)
    service = 0.001 * outputs.mean()
    lam = 0.5 / service
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    trace = Trace(arrival_s=arrivals, input_tokens=np.full(n, 10), output_tokens=outputs)
    mu = 1 / service
    assert waiting_times(trace, 0.001, 0.001).mean() == pytest.approx(0.5 / (mu - lam), rel=0.1)


def test_more_load_never_lowers_p99():
    p99 = []
    for rate in (1.0, 4.0, 8.0, 16.0, 32.0):
        sim = simulate(
            "llama-3.3-70b",
            DEPLOYMENT,
            Workload(input_tokens=1000, output_tokens=200, batch=64, rate=rate),
            seed=5,
            requests=400,
        )
        p99.append([sim.percentiles[m]["99"] for m in ("ttft_s", "tpot_s", "e2e_s")])
    p99 = np.array(p99)
    assert np.all(np.diff(p99, axis=0) >= -1e-12), p99


def test_the_simulation_is_deterministic_under_a_seed():
    wl = Workload(input_tokens=500, output_tokens=100, batch=32, rate=8.0)
    a, b = (simulate("llama-3.1-8b", Deployment(backend="nvidia:h100-sxm"), wl, seed=11, requests=300) for _ in "ab")
    c = simulate("llama-3.1-8b", Deployment(backend="nvidia:h100-sxm"), wl, seed=12, requests=300)
    assert np.array_equal(a.served.finish_s, b.served.finish_s) and a.percentiles == b.percentiles
    assert not np.array_equal(a.served.arrival_s, c.served.arrival_s)


def test_kv_capacity_forces_preemption_and_every_request_still_finishes():
    n = 200
    trace = Trace(arrival_s=np.zeros(n), input_tokens=np.full(n, 100), output_tokens=np.full(n, 100))
    steps = StepTimes.constant(decode_s=0.01, prefill_s=0.02)
    served = run_replica(trace, steps, max_batch=64, kv_capacity_tokens=3000)
    assert served.preemptions > 0
    assert np.all(np.isfinite(served.finish_s)) and np.all(served.finish_s >= served.first_token_s)


def test_goodput_counts_requests_meeting_the_slo():
    wl = Workload(input_tokens=1000, output_tokens=200, batch=64, rate=4.0)
    loose = simulate("llama-3.3-70b", DEPLOYMENT, wl, slo=SLO(ttft_s=100, tpot_s=1), requests=300)
    assert loose.goodput_fraction == 1.0 and loose.goodput_rps == pytest.approx(loose.requests_per_s)
    tight = simulate("llama-3.3-70b", DEPLOYMENT, wl, slo=SLO(ttft_s=1e-4), requests=300)
    assert tight.goodput_rps == 0.0


def test_traces_load_from_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("arrival_s,input_tokens,output_tokens\n0.5,100,20\n0.0,200,10\n")
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(
        '{"timestamp": 0.0, "input_tokens": 200, "output_tokens": 10}\n'
        '{"timestamp": 0.5, "input_tokens": 100, "output_tokens": 20}\n'
    )
    for path in (csv_path, jsonl):
        trace = Trace.load(path)
        assert trace.arrival_s.tolist() == [0.0, 0.5] and trace.input_tokens.tolist() == [200, 100]
    sim = simulate(
        "llama-3.1-8b",
        Deployment(backend="nvidia:h100-sxm"),
        Workload(input_tokens=1, output_tokens=1, batch=8),
        trace=csv_path,
    )
    assert sim.requests == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("when,input_tokens\n1,2\n")
    with pytest.raises(ValidationError, match="trace"):
        Trace.load(bad)


def test_estimate_rate_reports_the_same_percentiles_as_simulate(capsys):
    common = [
        "--model",
        "llama-3.1-8b",
        "--backend",
        "nvidia:h100-sxm",
        "--batch",
        "32",
        "--rate",
        "6",
        "--requests",
        "200",
        "--seed",
        "2",
        "--json",
    ]
    assert main(["simulate", *common]) == 0
    simulated = json.loads(capsys.readouterr().out)
    assert main(["estimate", *common]) == 0
    estimated = json.loads(capsys.readouterr().out)
    assert estimated["simulation"]["percentiles"] == simulated["percentiles"]
    assert main(["simulate", "--model", "llama-3.1-8b", "--backend", "nvidia:h100-sxm"]) == 2
