"""Plans do not depend on the scenario: a new context, batch or question reuses the lowered plan, and
every fast path (the shared plan store, the fused kernel's mixed-in prompt chunk, the fused serving
estimate) gives what the numpy reference gives."""

import itertools

import numpy as np
import pytest
import tokenfab
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenfab.cost import fastpath, kernel
from tokenfab.cost.engine import Part, make_plan, run_plan

RTOL = 1e-12
CASES = [
    ("llama-2-70b", "nvidia:h100-sxm", dict(devices=8)),  # the search picks the shape
    ("llama-3.1-70b", "nvidia:h100-sxm", dict(tp=2, pp=4)),
    ("mixtral-8x7b", "nvidia:h200", dict(devices=4, tp=2, ep=2)),
    ("gpt-oss-20b", "nvidia:h100-sxm", dict(tp=1)),  # sliding-window layers
]
_fresh = itertools.count(1)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=RTOL, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    case=st.sampled_from(CASES),
    phase=st.sampled_from(["decode", "prefill"]),
    scenario=st.tuples(st.integers(1, 64), st.integers(1, 256), st.integers(0, 6000)),
)
def test_a_new_scenario_on_the_scalar_path_equals_the_array_path(case, phase, scenario):
    """Each example is a scenario never asked before (a fresh context offset), so the scalar call
    resolves its plan from the shared store rather than the per-question cache."""
    (model, backend, options), (batch, tokens, context) = case, scenario
    longest = tokenfab.load_model(model).max_context - tokens
    context = min(context + next(_fresh) % 97, longest)
    call = tokenfab.decode_step if phase == "decode" else tokenfab.prefill
    one = dict(batch=batch, tokens=tokens, context=context)
    scalar = call(model, backend, check_fit=False, **one, **options)
    array = call(model, backend, check_fit=False, **{k: np.array([v]) for k, v in one.items()}, **options)
    for field in ("seconds", "joules", "memory_per_device_bytes"):
        _close(getattr(scalar, field), getattr(array, field))
    assert scalar.bound == array.bound[0] and scalar.fits == bool(array.fits[0])
    assert scalar.plan.mapping == array.plan.mapping


def test_new_contexts_share_one_plan_object():
    """A plan holds no scenario: the same mapping at another context or batch is the same object,
    so its coefficient rows and prepared kernel inputs are built once."""
    first = tokenfab.decode_step("llama-3.1-70b", "nvidia:h100-sxm", batch=4, context=1000, tp=2, pp=4)
    again = tokenfab.decode_step("llama-3.1-70b", "nvidia:h100-sxm", batch=9, context=3001, tp=2, pp=4)
    assert first.plan is again.plan
    assert first.seconds != again.seconds  # a different scenario, costed anew


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, len(CASES) - 1),
    phase=st.sampled_from(["decode", "prefill"]),
    grid=st.lists(
        st.tuples(st.integers(1, 300), st.integers(1, 8), st.integers(0, 9000)),
        min_size=1,
        max_size=20,
    ),
    chunk=st.tuples(st.floats(0.01, 64.0, allow_nan=False), st.integers(1, 16384), st.integers(0, 20000)),
)
def test_kernel_mixed_prompt_chunk_equals_run_plan(index, phase, grid, chunk):
    """The fused kernel's mixed-in prompt chunk (chunked prefill) against the numpy reference:
    seconds, joules and bound of every scenario, to 1e-12 relative."""
    if kernel._lib is None:
        pytest.skip("C kernel not built")
    model, backend, options = CASES[index]
    plan = make_plan(model, backend, batch=64, kv_tokens=8192, step_tokens=8, **options)
    B, T, C = (np.array(column, dtype=float) for column in zip(*grid, strict=True))
    part = Part(batch=np.float64(chunk[0]), tokens=np.float64(chunk[1]), context=np.float64(chunk[2]))
    part = Part(batch=part.batch, tokens=part.tokens, context=part.context, sampled=False, prompt=True)
    ref = run_plan(plan, phase, B, T, C, check_fit=False, extra=part)
    fused = fastpath.fused_totals(plan, phase, B, T, C, extra=tuple(float(x) for x in chunk))
    _close(fused["seconds"], ref.seconds)
    _close(fused["joules"], ref.joules)
    assert list(np.asarray(kernel.BOUND_NAMES)[fused["bound"]]) == list(np.atleast_1d(ref.bound))


def test_a_sampled_or_array_chunk_is_left_to_the_numpy_path():
    plan = make_plan("llama-2-70b", "nvidia:h100-sxm", batch=8, kv_tokens=4096, step_tokens=1, tp=8)
    sampled = Part(batch=np.float64(1), tokens=np.float64(512), context=np.float64(0), sampled=True, prompt=True)
    wide = Part(batch=np.ones(2), tokens=np.float64(512), context=np.float64(0), sampled=False, prompt=True)
    assert fastpath.fused_step(plan, "decode", 8, 1, np.array([100.0, 200.0]), sampled) is None
    assert fastpath.fused_step(plan, "decode", 8, 1, np.array([100.0, 200.0]), wide) is None


ESTIMATES = [
    ("llama-2-70b", "nvidia:h100-sxm", dict(tp=8, devices=8), dict(batch=8, input_tokens=2048, output_tokens=256)),
    # chunks smaller than the prompt, a partial last chunk, four pipeline stages
    (
        "llama-3.1-70b",
        "nvidia:h100-sxm",
        dict(tp=2, pp=4, prefill_chunk_tokens=1000),
        dict(batch=16, input_tokens=4500, output_tokens=300),
    ),
    ("mixtral-8x7b", "nvidia:h200", dict(tp=2, ep=2, devices=4), dict(batch=32, input_tokens=1000, output_tokens=200)),
    ("gpt-oss-20b", "nvidia:h100-sxm", dict(tp=1), dict(batch=4, input_tokens=9000, output_tokens=64)),
    (
        "llama-3.1-70b",
        "nvidia:h100-sxm",
        dict(tp=8, speculative=tokenfab.Speculative(draft="llama-3.2-1b", tokens=3, acceptance=0.7)),
        dict(batch=4, input_tokens=1000, output_tokens=100),
    ),
    (
        "llama-3.1-8b",
        "nvidia:h100-sxm",
        dict(tp=1, chunked_prefill=False),
        dict(batch=8, input_tokens=500, output_tokens=9),
    ),
]


@pytest.mark.parametrize("model, backend, options, workload", ESTIMATES)
def test_fused_estimate_equals_the_numpy_reference(monkeypatch, model, backend, options, workload):
    """estimate() runs prefill, decode and the mixed prefill+decode steps through the fused kernel;
    with the kernel switched off it takes run_plan (numpy): the same figures to 1e-12."""
    if kernel._lib is None:
        pytest.skip("C kernel not built")
    fused = tokenfab.estimate(model, backend, **options, **workload)
    monkeypatch.setattr(kernel, "_lib", None)
    monkeypatch.setattr(kernel, "_warned", True)  # the fallback is this test's choice: no warning for it
    monkeypatch.setattr(fastpath, "_prepared", {})
    reference = tokenfab.estimate(model, backend, **options, **workload)
    mine, theirs = fused.to_dict(), reference.to_dict()
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, float):
            _close(mine[key], value)
        else:
            assert mine[key] == value, key
    _close(fused.decode.seconds, reference.decode.seconds)
    assert [op.name for op in fused.prefill.breakdown] == [op.name for op in reference.prefill.breakdown]
    _close([op.seconds for op in fused.prefill.breakdown], [op.seconds for op in reference.prefill.breakdown])


SEARCHES = [
    ("llama-2-70b", "nvidia:h100-sxm", dict(devices=8), "throughput"),
    ("llama-3.1-70b", "nvidia:h200", dict(devices=8), "latency"),
    ("mixtral-8x7b", "nvidia:h100-sxm", dict(devices=8), "cost"),
    ("llama-3.1-8b", "amd:mi300x", {}, "energy"),
    ("llama-3.1-8b", "groq:lpu", {}, "throughput"),
]


@pytest.mark.parametrize("model, backend, options, objective", SEARCHES)
def test_search_ranks_as_a_full_estimate_of_every_candidate(model, backend, options, objective):
    """The search costs each fitting candidate on the plan it already resolved (serving.serve);
    the ranking before that ran tokenfab.estimate on each candidate's deployment. Both give the
    same candidates, in the same order, with the same values."""
    from tokenfab.planning.mappings import OBJECTIVES

    workload = tokenfab.Workload(batch=16, input_tokens=1500 + next(_fresh), output_tokens=200)
    search = tokenfab.mappings(model, backend, workload, objective=objective, **options)
    ranked = [c for c in search.candidates if c.fits]
    assert ranked and search.best is ranked[0]
    field, larger = OBJECTIVES[objective]
    again = []
    for candidate in ranked:
        est = tokenfab.estimate(model, backend, workload, deployment=candidate.deployment)
        assert est.to_dict() == candidate.estimate.to_dict()
        value = getattr(est, field) if getattr(est, field) is not None else est.tokens_per_s_per_device
        again.append((-value if larger else value, est.e2e_latency_s, candidate.shape.pp, candidate.shape.dp))
    assert again == sorted(again)


@pytest.mark.parametrize("model, backend, options", [case for case in CASES if "tp" not in case[2]])
@pytest.mark.parametrize("context", [0, 777, 2500])
def test_step_search_picks_run_plans_fastest_fitting_shape(model, backend, options, context):
    """decode_step's search ranks every fitting shape in one multi-plan kernel call; the pick is the
    first of the fastest by run_plan (numpy), each shape costed on its own."""
    from tokenfab.cost.engine import plan_builder
    from tokenfab.deployment import as_deployment
    from tokenfab.planning.mappings import Sizing, candidate_shapes, feasible

    dep = as_deployment(backend, None, devices=options.get("devices"))
    batch, kv = 8.0, context + 1.0
    builder = plan_builder(model, backend, dep, batch=batch, kv_tokens=kv, registry=None)
    sizing = Sizing(size=lambda dp: (float(np.ceil(batch / dp)), kv, 1.0))
    fitting, _, _ = feasible(builder, sizing, candidate_shapes(builder, sizing, 8, dep.devices)[1])
    assert len(fitting) > 1
    seconds = [
        run_plan(plan, "decode", np.ceil(batch / shape.dp), 1.0, kv - 1.0, check_fit=False).seconds
        for shape, plan in fitting
    ]
    best = fitting[seconds.index(min(seconds))][1]
    chosen = tokenfab.decode_step(model, backend, batch=8, context=context, devices=options.get("devices")).plan
    assert (chosen.mapping, chosen.replicas) == (best.mapping, best.replicas)


def test_ranking_many_plans_keeps_every_plans_inputs_alive():
    """More plans than the prepared-inputs cache holds (256) in one multi-plan call: entries the
    cache drops during the call stay alive, so each plan's seconds are its own single-plan result."""
    if kernel._lib is None:
        pytest.skip("C kernel not built")
    from tokenfab.cost.engine import plan_builder
    from tokenfab.deployment import as_deployment
    from tokenfab.models.lowering import ParallelMapping

    dep = as_deployment("nvidia:h100-sxm", None, weights="fp8")
    builder = plan_builder("llama-3.1-8b", "nvidia:h100-sxm", dep, batch=600, kv_tokens=2048, registry=None)
    plans = [builder.build(ParallelMapping(tp=tp, pp=1, ep=1), dp) for tp in (1, 2) for dp in range(1, 151)]
    scenarios = [(float(1 + i % 7), 1.0, float(100 * i)) for i in range(len(plans))]
    fastpath._prepared.clear()
    many = fastpath.fused_many(plans, "decode", scenarios)
    ones = [fastpath.fused_one(plan, "decode", *scenario)[0] for plan, scenario in zip(plans, scenarios, strict=True)]
    assert len(plans) == 300 and many == ones
