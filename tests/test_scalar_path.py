"""Scalar decode_step/prefill (tokenfab.scalar) give exactly what the array path gives for one scenario."""

import numpy as np
import pytest
import tokenfab
from hypothesis import given, settings
from hypothesis import strategies as st

CASES = [
    ("llama-2-70b", "nvidia:h100-sxm", dict(devices=8)),
    ("mixtral-8x7b", "nvidia:h200", dict(devices=4, tp=2, ep=2)),
    ("llama-3.1-8b", "groq:lpu", {}),
]
FIELDS = ("seconds", "joules", "bound", "devices", "batch", "tokens", "context", "memory_per_device_bytes", "fits")


def _same(scalar, array):
    for field in FIELDS:
        mine, theirs = getattr(scalar, field), getattr(array, field)
        assert type(mine) is type(theirs) and mine == theirs, field
    assert scalar.workload == array.workload and scalar.plan is array.plan
    assert [op.to_dict() for op in scalar.breakdown] == [op.to_dict() for op in array.breakdown]


@settings(max_examples=25, deadline=None)
@given(
    case=st.sampled_from(CASES),
    phase=st.sampled_from(["decode", "prefill"]),
    batch=st.integers(1, 64),
    tokens=st.integers(1, 512),
    context=st.integers(0, 3000),
)
def test_scalar_step_equals_the_array_path(case, phase, batch, tokens, context):
    model, backend, options = case
    call = tokenfab.decode_step if phase == "decode" else tokenfab.prefill
    kw = dict(check_fit=False, **options)
    scalar = call(model, backend, batch=batch, tokens=tokens, context=context, **kw)
    array = call(model, backend, batch=np.array(batch), tokens=np.array(tokens), context=np.array(context), **kw)
    _same(scalar, array)


def test_numpy_scalars_and_workloads_take_the_scalar_path_with_the_same_answer():
    wl = tokenfab.Workload(batch=8, input_tokens=2048, output_tokens=256)
    by_workload = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", wl, devices=8)
    by_numbers = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", batch=np.int64(8), context=2048.0, devices=8)
    array = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", batch=np.array(8), context=np.array(2048), devices=8)
    for field in FIELDS:
        assert getattr(by_workload, field) == getattr(by_numbers, field) == getattr(array, field)
    # one replica of 8 devices holds the batch: 8 sequences, one new token each, 2048 cached
    assert (by_numbers.batch, by_numbers.tokens, by_numbers.context) == (8.0, 1.0, 2048.0)


def test_breakdown_false_leaves_it_empty_with_the_same_totals():
    full = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", batch=8, context=2048, devices=8)
    bare = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", batch=8, context=2048, devices=8, breakdown=False)
    assert bare.breakdown == () and (bare.seconds, bare.bound) == (full.seconds, full.bound)
    assert len(full.breakdown) > 0


# The messages of the array path for the same scalar inputs (before the scalar path existed).
NOT_FIT = (
    "llama-2-70b does not fit on 8 x nvidia:h100-sxm (tp=8, pp=1, ep=1, weights bf16) at batch 100000 and 4001 "
    "tokens of context: needs hbm 16411.7 GB of 80.7 GB usable per device; give more --devices or a smaller precision"
)
TOO_LONG = (
    "context: context + tokens must be <= the 4096-token context of llama-2-70b, got 5001 (pass a model with a "
    "larger max_context to override)"
)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(batch=True), "batch: must be an integer >= 1, got True (at most 1e+12)"),
        (dict(batch=8.5), "batch: must be an integer >= 1, got 8.5 (at most 1e+12)"),
        (dict(tokens=0), "tokens: must be an integer >= 1, got 0 (at most 1e+12)"),
        (dict(context=-1), "context: must be an integer >= 0, got -1 (at most 1e+12)"),
        (dict(context=5000), TOO_LONG),
        (dict(batch=100000, context=4000), NOT_FIT),  # 4000 + 1 tokens of context
    ],
)
def test_scalar_errors_are_the_array_paths(kwargs, message):
    scenario = {"batch": 8, "context": 2048, **kwargs}
    with pytest.raises(tokenfab.TokenfabError) as scalar:
        tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", devices=8, **scenario)
    assert str(scalar.value) == message


@pytest.mark.parametrize(("model", "backend", "options"), CASES)
def test_step_search_ranks_candidates_by_run_plans_seconds(model, backend, options):
    """make_plan's search ranks candidate mappings by the fused totals pass; those seconds are
    run_plan's to the bit, so the mapping it picks is the one run_plan's ranking picks."""
    from tokenfab.deployment import as_deployment
    from tokenfab.engine import plan_builder, run_plan
    from tokenfab.fastpath import step_totals
    from tokenfab.planning.mappings import Sizing, candidate_shapes, feasible

    options = {k: v for k, v in options.items() if k == "devices"}  # leave the mapping to the search
    dep = as_deployment(backend, None, **options)
    batch, kv, step = 8.0, 1025.0, 1.0
    builder = plan_builder(model, backend, dep, batch=batch, kv_tokens=kv, registry=None)
    sizing = Sizing(size=lambda dp: (float(np.ceil(batch / dp)), kv, step))
    _, shapes, _ = candidate_shapes(builder, sizing, 8, dep.devices)
    fitting, _, _ = feasible(builder, sizing, shapes)
    assert fitting
    for shape, plan in fitting:
        b = float(np.ceil(batch / shape.dp))
        fused = step_totals(plan, "decode", np.array([b]), np.array([step]), np.array([kv - step])).seconds[0]
        assert fused == run_plan(plan, "decode", b, step, kv - step, check_fit=False).seconds
    chosen = tokenfab.decode_step(model, backend, batch=8, context=1024, **options).plan
    best = min(
        fitting, key=lambda item: run_plan(item[1], "decode", np.ceil(batch / item[0].dp), step, kv - step).seconds
    )
    assert (chosen.mapping, chosen.replicas) == (best[1].mapping, best[1].replicas)
