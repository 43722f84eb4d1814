"""The scalar fast path's caches change no answer: new questions through warm caches equal the
same questions through a fresh registry (every cache cold), bit for bit; the per-plan fit terms
give the numpy sums; pack hooks are asked as the hook contract says (CONTRIBUTING.md)."""

import attrs
import numpy as np
import pytest
import tokenfab
from hypothesis import given, settings
from hypothesis import strategies as st
from test_registry import toy  # the same toy device the registry tests use
from tokenfab import hookimpl
from tokenfab.cost.engine import make_plan
from tokenfab.cost.scalar import _workload
from tokenfab.hardware import guard
from tokenfab.registry import build_registry

STEP_FIELDS = ("seconds", "joules", "bound", "devices", "batch", "tokens", "context", "memory_per_device_bytes", "fits")
CASES = [  # searched mappings (devices only), a fixed one, a pack that seeds the search, an MoE
    ("llama-2-70b", "nvidia:h100-sxm", dict(devices=8)),
    ("llama-3.1-8b", "groq:lpu", {}),
    ("mixtral-8x7b", "nvidia:h200", dict(devices=4)),
    ("llama-3.1-8b", "nvidia:h100-sxm", dict(devices=2, tp=2)),
]


def _same_step(warm, cold):
    for field in STEP_FIELDS:
        mine, theirs = getattr(warm, field), getattr(cold, field)
        assert type(mine) is type(theirs) and mine == theirs, field
    assert warm.deployment == cold.deployment and warm.workload == cold.workload


@pytest.mark.parametrize(("model", "backend", "options"), CASES)
def test_new_contexts_through_warm_caches_equal_a_fresh_registry(model, backend, options):
    tokenfab.decode_step(model, backend, batch=8, context=100, **options)  # warm every cache
    for context in (0, 1, 513, 1999, 3001):  # a new question each call
        warm = tokenfab.decode_step(model, backend, batch=8, context=context, check_fit=False, **options)
        cold = tokenfab.decode_step(
            model, backend, batch=8, context=context, check_fit=False, registry=build_registry(), **options
        )
        _same_step(warm, cold)
    for tokens in (7, 1500):
        kw = dict(batch=2, tokens=tokens, check_fit=False, **options)
        warm = tokenfab.prefill(model, backend, **kw)
        cold = tokenfab.prefill(model, backend, registry=build_registry(), **kw)
        _same_step(warm, cold)


@pytest.mark.parametrize(("model", "backend", "options"), CASES[:3])
def test_new_estimates_through_warm_caches_equal_a_fresh_registry(model, backend, options):
    for input_tokens in (300, 1777):
        kw = dict(batch=4, input_tokens=input_tokens, output_tokens=64, **options)
        warm = tokenfab.estimate(model, backend, **kw).to_dict()
        cold = tokenfab.estimate(model, backend, registry=build_registry(), **kw).to_dict()
        assert warm == cold


PLANS = [  # (model, backend, deployment): levels shared (HBM), split (SRAM pack), a sliding window, MoE
    ("llama-2-70b", "nvidia:h100-sxm", dict(tp=4, pp=2)),
    ("mixtral-8x7b", "nvidia:h200", dict(tp=2, ep=2)),
    ("gpt-oss-20b", "nvidia:h100-sxm", dict(tp=1)),
    ("llama-3.1-70b", "cerebras:wse-3", dict(tp=1, weights_memory="memoryx")),
]


#: One scenario on one of PLANS: up to past every device's memory (the fit flips inside the range).
SCENARIO = dict(
    case=st.sampled_from(PLANS),
    batch=st.integers(1, 4096),
    kv_tokens=st.integers(1, 2_000_000),
    step_tokens=st.integers(1, 8192),
)


def _plan(case):
    model, backend, options = case
    return make_plan(model, backend, batch=1, kv_tokens=1, step_tokens=1, **options)


@settings(max_examples=60, deadline=None)
@given(**SCENARIO)
def test_fit_terms_give_the_numpy_memory_sums(case, batch, kv_tokens, step_tokens):
    plan = _plan(case)
    b, kv, t = float(batch), float(kv_tokens), float(step_tokens)
    used = plan.memory_per_device(np.asarray(b), np.asarray(kv), np.asarray(t))
    total = sum(used.values()) if plan.weights_level != plan.kv_level else used[plan.weights_level]
    fits = bool(plan.fits(np.asarray(b), np.asarray(kv), np.asarray(t), used=used))
    assert plan.memory_fit_one(b, kv, t) == (float(total), fits)  # the same float, not a close one
    assert plan.fits_one(b, kv, t) is fits


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(PLANS),
    batch=st.integers(1, 512),
    contexts=st.lists(st.integers(0, 200_000), min_size=1, max_size=20),
    step_tokens=st.integers(1, 8192),
)
def test_fit_terms_over_contexts_give_the_numpy_memory_sums(case, batch, contexts, step_tokens):
    plan = _plan(case)
    kv = np.asarray(contexts, dtype=np.float64) + step_tokens
    used = plan.memory_per_device(batch, kv, step_tokens)
    total = sum(used.values()) if plan.weights_level != plan.kv_level else used[plan.weights_level]
    memory, fits = plan.memory_fit_contexts(batch, kv, step_tokens)
    assert memory.dtype == np.float64 and fits.dtype == bool
    assert np.array_equal(memory, total) and np.array_equal(fits, plan.fits(batch, kv, step_tokens, used=used))


def test_the_memory_sums_cover_both_layouts():
    levels = [_plan(case) for case in PLANS]
    assert {plan.weights_level == plan.kv_level for plan in levels} == {True, False}
    assert any(plan.model.sliding_window for plan in levels)


def test_a_checked_workload_copy_equals_the_constructed_one():
    assert _workload(8, 2048, 1) == tokenfab.Workload(batch=8, input_tokens=2048, output_tokens=1)
    with pytest.raises(tokenfab.ValidationError, match="input_tokens"):  # out of range: the constructor's error
        _workload(8, 2 * 10**12, 1)


class Everywhere:
    """A pack whose mapping hook answers about every backend (None) and notes each question."""

    def __init__(self):
        self.asked = []

    @hookimpl
    def tokenfab_default_mapping(self, model, backend, weights_bytes, kv_bytes):
        self.asked.append((backend.id, kv_bytes))
        return None


class Scoped(Everywhere):
    """The same, declaring the backends its hooks answer about (``TOKENFAB_HOOK_PREFIXES``)."""

    TOKENFAB_HOOK_PREFIXES = ("toy",)


class Broken:
    TOKENFAB_HOOK_PREFIXES = ("toy",)
    calls = 0

    @hookimpl
    def tokenfab_default_mapping(self, model, backend, weights_bytes, kv_bytes):
        Broken.calls += 1
        raise RuntimeError("no idea")


def _registry(*packs):
    registry = build_registry(list(packs), entry_points=False)
    registry.add_backend("toy", toy())
    registry.add_backend("toy", attrs.evolve(toy(), id="other:chip"))
    return registry


def test_a_scoped_pack_is_asked_only_about_its_own_backends():
    scoped, everywhere = Scoped(), Everywhere()
    registry = _registry(scoped, everywhere)
    for backend in ("toy:chip", "other:chip"):
        tokenfab.decode_step("llama-3.2-1b", backend, batch=1, context=100, devices=1, registry=registry)
    assert {backend for backend, _ in scoped.asked} == {"toy:chip"}
    assert {backend for backend, _ in everywhere.asked} == {"toy:chip", "other:chip"}
    # pure functions of their arguments: the same question again is answered from the registry's memory
    before = (len(scoped.asked), len(everywhere.asked))
    make_plan("llama-3.2-1b", "toy:chip", batch=1, kv_tokens=101, step_tokens=1, devices=1, registry=registry)
    assert (len(scoped.asked), len(everywhere.asked)) == before


def test_a_new_kv_size_is_a_new_question_for_the_pack():
    scoped = Scoped()
    registry = _registry(scoped)
    for context in (100, 200, 100):
        tokenfab.decode_step("llama-3.2-1b", "toy:chip", batch=1, context=context, devices=1, registry=registry)
    kv_sizes = [kv for _, kv in scoped.asked]
    assert len(kv_sizes) == 2 and kv_sizes[0] < kv_sizes[1]  # context 100 again: remembered, not asked


def test_a_failing_hook_is_reported_once_and_remembered():
    Broken.calls = 0
    registry = _registry(Broken())
    for _ in range(3):
        make_plan.cache_clear()  # the same question reaches the search (and the hook) each time
        tokenfab.decode_step("llama-3.2-1b", "toy:chip", batch=1, context=100, devices=1, registry=registry)
    assert Broken.calls == 1
    problems = [str(p) for p in registry.problems if "tokenfab_default_mapping" in str(p)]
    assert len(problems) == 1 and "no idea" in problems[0]
    tokenfab.decode_step("llama-3.2-1b", "other:chip", batch=1, context=100, devices=1, registry=registry)
    assert Broken.calls == 1  # not its backend: not asked


def test_the_answers_a_registry_remembers_are_bounded(monkeypatch):
    monkeypatch.setattr(guard, "MEMO_SIZE", 3)
    scoped = Scoped()
    registry = _registry(scoped)
    for context in range(100, 110):
        tokenfab.decode_step("llama-3.2-1b", "toy:chip", batch=1, context=context, devices=1, registry=registry)
    assert len(scoped.asked) == 10 and len(registry.hook_cache) == 3
    tokenfab.decode_step("llama-3.2-1b", "toy:chip", batch=1, context=109, devices=1, registry=registry)
    assert len(scoped.asked) == 10  # among the last three: remembered
    make_plan.cache_clear()  # the plan of context 100 is remembered too: ask the search again
    tokenfab.decode_step("llama-3.2-1b", "toy:chip", batch=1, context=100, devices=1, registry=registry)
    assert len(scoped.asked) == 11  # dropped as least recently used: asked again


def test_a_malformed_prefix_declaration_is_ignored():
    class Odd(Everywhere):
        TOKENFAB_HOOK_PREFIXES = 5  # not a list of names: the pack is asked as if it declared none

    odd = Odd()
    registry = _registry(odd)
    tokenfab.decode_step("llama-3.2-1b", "other:chip", batch=1, context=100, devices=1, registry=registry)
    assert odd.asked


def test_remembered_deployments_keep_the_validators_errors():
    good = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=1, input_tokens=10, output_tokens=1, devices=1)
    assert good.devices == 1
    for bad in (True, 1.5, "1"):  # True == 1 and hashes like it: still refused, as the constructor does
        with pytest.raises(tokenfab.ValidationError, match="devices"):
            tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=1, input_tokens=10, output_tokens=1, devices=bad)


def test_threads_sharing_the_small_caches_get_the_sequential_answers(monkeypatch):
    import threading

    from tokenfab.cost import fastpath

    monkeypatch.setattr(guard, "MEMO_SIZE", 2)  # evictions all the time
    monkeypatch.setattr(fastpath, "_PLAN_SETS_SIZE", 1)
    registry = build_registry([Everywhere()])  # asked about NVIDIA backends too: its answers are remembered
    contexts = list(range(100, 160))
    case = dict(batch=8, devices=8)
    expected = {
        c: tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", context=c, registry=build_registry(), **case).seconds
        for c in contexts
    }
    got, errors = {}, []

    def work(offset):
        try:
            for c in contexts[offset::4]:
                make_plan.cache_clear()
                step = tokenfab.decode_step("llama-2-70b", "nvidia:h100-sxm", context=c, registry=registry, **case)
                got[c] = step.seconds
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and got == expected


@settings(max_examples=40, deadline=None)
@given(**SCENARIO)
def test_a_fit_error_of_numbers_reads_as_the_one_of_arrays(case, batch, kv_tokens, step_tokens):
    plan = _plan(case)
    of_numbers = plan.fit_error(batch, kv_tokens, step_tokens)
    of_arrays = plan.fit_error(np.array(batch), np.array(kv_tokens), np.array(step_tokens))  # 0-d, as before
    assert str(of_numbers) == str(of_arrays)
