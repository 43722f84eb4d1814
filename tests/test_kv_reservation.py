"""KV admission policies: reserve to completion (TensorRT-LLM GUARANTEED_NO_EVICT) or the tokens
held now (vLLM). Worked examples and the old optimistic behaviour that the default replaced."""

import json

import numpy as np
import pytest
from tokenfab import Workload, estimate
from tokenfab.cli import main
from tokenfab.engine import make_plan
from tokenfab.errors import FitError, ValidationError
from tokenfab.serving import _kv_tokens, max_batch

CASE = dict(weights="fp8", activations="fp8", kv="fp8", devices=1)


def test_reserved_tokens_by_hand():
    # completion: the whole 100 + 40 tokens; current: 100 + 40 * (4 + 1) / (2 * 4) = 125
    assert _kv_tokens(4, 100, 40) == 140.0
    assert _kv_tokens(4, 100, 40, "current") == 125.0
    # one sequence holds all its tokens at the end of its life under either policy
    assert _kv_tokens(1, 100, 40, "current") == 140.0


def test_completion_fits_exactly_the_reserved_cache():
    b = max_batch("llama-3.3-70b", "nvidia:h200", input_tokens=2048, output_tokens=2048, limit=8192, **CASE)
    plan = make_plan("llama-3.3-70b", "nvidia:h200", batch=b, kv_tokens=4096, step_tokens=1, **CASE)
    assert plan.fits(np.float64(b), np.float64(4096), np.float64(1))
    assert not plan.fits(np.float64(b + 1), np.float64(4096), np.float64(1))


def test_current_admits_more_sequences_than_completion():
    # the old default: at 128 in / 2048 out the staggered mean (1,152 tokens) admitted ~1.9x the
    # sequences that reserving 2,176 tokens each holds
    kw = dict(input_tokens=128, output_tokens=2048, limit=8192, **CASE)
    full = max_batch("llama-3.3-70b", "nvidia:h200", **kw)
    mean = max_batch("llama-3.3-70b", "nvidia:h200", kv_reservation="current", **kw)
    assert 1.7 < mean / full < 1.95


def test_estimate_refuses_a_batch_only_the_optimistic_policy_holds():
    kw = dict(input_tokens=128, output_tokens=2048, limit=8192, kv_reservation="current", **CASE)
    mean = max_batch("llama-3.3-70b", "nvidia:h200", **kw)
    run = dict(batch=mean, input_tokens=128, output_tokens=2048, tp=1, **CASE)
    assert estimate("llama-3.3-70b", "nvidia:h200", kv_reservation="current", **run).batch == mean
    with pytest.raises(FitError):
        estimate("llama-3.3-70b", "nvidia:h200", **run)


def test_workload_round_trip_and_bad_policy():
    wl = Workload(input_tokens=10, output_tokens=5, kv_reservation="current")
    assert Workload.from_dict(json.loads(json.dumps(wl.to_dict()))) == wl
    with pytest.raises(ValidationError, match="kv_reservation: must be one of completion, current, got 'all'"):
        Workload(input_tokens=10, output_tokens=5, kv_reservation="all")


def test_cli_flag(capsys):
    args = ["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h100-sxm", "--devices", "1", "--json"]
    assert main([*args, "--kv-reservation", "current"]) == 0
    assert json.loads(capsys.readouterr().out)["workload"]["kv_reservation"] == "current"
    assert main([*args, "--kv-reservation", "x"]) == 2
    assert "kv-reservation" in capsys.readouterr().err
