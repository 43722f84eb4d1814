"""Deployment and Workload values: validation, serialisation, and replaying a result."""

from __future__ import annotations

import json

import pytest
import tokenfab
from hypothesis import given
from hypothesis import strategies as st
from tokenfab import Deployment, Workload
from tokenfab.deployment import Speculative

PRECISIONS = st.sampled_from([None, "bf16", "fp8", "fp4", "int8"])
DEGREE = st.one_of(st.none(), st.integers(1, 64))


@given(tp=DEGREE, pp=DEGREE, ep=DEGREE, weights=PRECISIONS, kv=PRECISIONS, attention=PRECISIONS)
def test_deployment_round_trips_through_json(tp, pp, ep, weights, kv, attention):
    dep = Deployment(backend="nvidia:h100-sxm", tp=tp, pp=pp, ep=ep, weights=weights, kv=kv, attention=attention)
    again = Deployment.from_dict(json.loads(json.dumps(dep.to_dict())))
    assert again == dep
    assert dep.mapping == {"tp": tp, "pp": pp, "ep": ep, "dp": None, "attention_dp": None}


@given(
    inp=st.integers(1, 100_000),
    out=st.integers(1, 10_000),
    batch=st.integers(1, 4096),
    rate=st.one_of(st.none(), st.floats(0.01, 1e4)),
    spec=st.one_of(st.none(), st.builds(Speculative, draft=st.just("llama-3.2-1b"), tokens=st.integers(1, 8))),
)
def test_workload_round_trips_through_json(inp, out, batch, rate, spec):
    wl = Workload(input_tokens=inp, output_tokens=out, batch=batch, rate=rate, speculative=spec)
    assert Workload.from_dict(json.loads(json.dumps(wl.to_dict()))) == wl


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (Deployment, {"backend": "nvidia:h200", "tensor_parallel": 2}, "unknown field 'tensor_parallel'"),
        (Workload, {"input_tokens": 10, "output_tokens": 5, "concurrency": 3}, "unknown field 'concurrency'"),
        (Deployment, {"backend": "nvidia:h200", "tp": 0}, "tp: must be an integer >= 1, got 0"),
        (Deployment, {"backend": "nvidia:h200", "tp": 2.5}, "tp: must be an integer >= 1, got 2.5"),
        (Deployment, {"backend": "nvidia:h200", "weights": "fp7"}, "weights: precision must be one of"),
        (Deployment, {"backend": "h200"}, "backend: must be an id like"),
        (Deployment, {"backend": "nvidia:h200", "devices": 6, "tp": 4}, r"devices: must be a multiple of tp\*pp"),
        (Deployment, {"backend": "nvidia:h200", "devices": 6, "tp": 2, "pp": 1, "ep": 1, "dp": 2}, "must equal"),
        (Deployment, {"backend": "amd:mi300x", "ep": 8, "attention_dp": 2}, "attention_dp: must equal ep"),
        (Workload, {"input_tokens": 0, "output_tokens": 5}, "input_tokens: must be an integer >= 1, got 0"),
        (Workload, {"input_tokens": 10, "output_tokens": 5, "rate": -1.0}, "rate: must be a number"),
        (Workload, {"input_tokens": 10, "output_tokens": 5, "batch": True}, "batch: must be an integer"),
    ],
)
def test_bad_values_name_the_field(cls, data, message):
    with pytest.raises(tokenfab.ValidationError, match=message):
        cls.from_dict(data)


def test_estimate_replays_from_its_own_deployment_and_workload():
    first = tokenfab.estimate(
        "llama-3.1-70b", "nvidia:h100-sxm", batch=16, input_tokens=1000, output_tokens=200, weights="fp8"
    )
    dep, wl = first.deployment, first.workload
    assert dep.is_resolved
    assert (dep.devices, dep.tp, dep.pp, dep.ep, dep.dp) == (first.devices, first.tp, first.pp, first.ep, 1)
    assert (dep.weights, dep.kv, dep.weights_memory) == ("fp8", "fp8", "hbm")
    assert wl == Workload(input_tokens=1000, output_tokens=200, batch=16)
    again = tokenfab.estimate("llama-3.1-70b", deployment=dep, workload=wl)
    positional = tokenfab.estimate("llama-3.1-70b", dep, wl)
    from_json = tokenfab.estimate(
        "llama-3.1-70b",
        Deployment.from_dict(json.loads(json.dumps(first.to_dict()["deployment"]))),
        Workload.from_dict(first.to_dict()["workload"]),
    )
    for other in (again, positional, from_json):
        assert other.to_dict() == first.to_dict()


def test_keywords_override_a_deployment_and_conflicting_backends_are_refused():
    dep = Deployment(backend="nvidia:h100-sxm", weights="fp8")
    est = tokenfab.estimate("llama-3.1-8b", deployment=dep, devices=2, tp=1, input_tokens=100, output_tokens=10)
    # devices=2 with tp=1: two data-parallel replicas of one GPU each.
    assert (est.devices, est.tp, est.replicas, est.weights) == (2, 1, 2, "fp8")
    assert est.deployment.dp == 2
    with pytest.raises(tokenfab.ValidationError, match="differs from the deployment's backend"):
        tokenfab.estimate("llama-3.1-8b", "nvidia:h200", deployment=dep, input_tokens=100, output_tokens=10)


def test_dp_alone_with_tp_sets_the_device_count():
    # tp=2 x dp=3 = 6 devices; each replica serves ceil(12 / 3) = 4 of the 12 sequences.
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", tp=2, dp=3, batch=12, input_tokens=100, output_tokens=10)
    assert (est.devices, est.replicas, est.batch) == (6, 3, 12)
    with pytest.raises(tokenfab.ValidationError, match=r"multiple of tp\*pp\*ep\*dp = 6 \(those given\), got 4"):
        tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", devices=4, pp=2, dp=3, input_tokens=100, output_tokens=10)


def test_steps_carry_deployment_and_workload():
    wl = Workload(input_tokens=512, output_tokens=64, batch=4)
    dep = Deployment(backend="nvidia:h200", tp=2)
    pre = tokenfab.prefill("llama-3.1-8b", dep, wl)
    same = tokenfab.prefill("llama-3.1-8b", "nvidia:h200", tp=2, batch=4, tokens=512)
    assert pre.seconds == same.seconds and pre.workload == wl
    assert pre.deployment == same.deployment and pre.deployment.tp == 2
    dec = tokenfab.decode_step("llama-3.1-8b", deployment=dep, workload=wl)
    assert dec.context == 512 and dec.batch == 4 and dec.tokens == 1
    assert tokenfab.decode_step("llama-3.1-8b", deployment=dec.deployment, batch=4, context=512).seconds == dec.seconds
    assert dec.to_dict()["deployment"]["tp"] == 2


def test_weights_memory_option_streams_weights_from_memoryx():
    # Llama-3.1-8B bf16 is 8.03e9 params x 2 B = 16.06 GB; a decode step reads all but the embedding
    # table (128256 x 4096 x 2 B = 1.05 GB, only gathered): 15.01 GB. Streamed from MemoryX at
    # 150 GB/s x 0.9 (the system I/O) that takes >= 15.01e9 / 135e9 = 0.111 s.
    step = tokenfab.decode_step("llama-3.1-8b", "cerebras:wse-3", weights_memory="memoryx", batch=1, context=100)
    assert step.plan.weights_level == "memoryx" and step.plan.kv_level == "sram"
    assert 15.01e9 / 135e9 <= step.seconds < 1.05 * 15.01e9 / 135e9
    on_wafer = tokenfab.decode_step("llama-3.1-8b", "cerebras:wse-3", batch=1, context=100)
    assert on_wafer.plan.weights_level == "sram" and on_wafer.seconds < step.seconds / 10
    with pytest.raises(tokenfab.ValidationError, match="no memory level 'ddr'"):
        tokenfab.decode_step("llama-3.1-8b", "nvidia:h200", weights_memory="ddr", batch=1, context=10)
