"""Totals-only step costs: what sweeps and planners need per scenario, without the breakdown.

:func:`step_totals` returns, per scenario, the step's seconds, the replica's joules, the bound
as a small integer code (index into :data:`tokenfab.kernel.BOUND_NAMES`), memory per device and
whether it fits: the same numbers as :func:`tokenfab.engine.run_plan`, which also builds the
per-operator breakdown.
"""

from __future__ import annotations

import functools
import operator
import os
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from . import kernel

#: Plans kept by :func:`plan_cache` (least recently used dropped first).
PLAN_CACHE_SIZE = 512
_plans: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()


def _model_key(model: Any) -> Any:
    """A hashable stand-in for ``model``: an id, a config path with its modification time, or a
    hashable :class:`Model`; ``None`` (do not cache) for dicts and anything unhashable."""
    if isinstance(model, str):
        if model.strip().lower() in _catalog():  # a built-in id wins over any file of that name (load_model)
            return model
        try:
            return (model, os.stat(model).st_mtime_ns)
        except OSError:
            return model
    try:
        hash(model)
    except TypeError:
        return None
    return model


@functools.cache
def _catalog() -> dict:
    """:data:`tokenfab.models.catalog.CATALOG` (looked up once: an import statement per call costs
    about a microsecond)."""
    from ..models.catalog import CATALOG

    return CATALOG


@functools.cache
def _registry_module() -> Any:
    from ..hardware import registry

    return registry


#: Every cache of derived values (memoised stores, per-plan tables): what :func:`clear_caches` empties.
_STORES: list[Any] = []


def derived_cache(store: Any) -> Any:
    """Register ``store`` (a dict of values derived from models, devices and the module
    constants of the cost model) with :func:`clear_caches`; returns it."""
    _STORES.append(store)
    return store


def clear_caches() -> None:
    """Empty every cache of plans, builders, searches and per-plan tables. The caches assume the
    cost model's module constants (``tokenfab.collectives.SERVING_ALLREDUCE_FRACTION``, ...) never
    change; code that changes one in place (a calibration fit, ``benchmarks/fit_*.py``) calls
    this after each change, or it gets the answers of the old value."""
    for store in _STORES:
        store.clear()


def memoised(store: OrderedDict, size: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Memoise a pure function of (model, backend, keywords, registry) in ``store``, an LRU of at
    most ``size`` entries, keyed on the arguments (all hashable: ids, frozen attrs values,
    numbers) and the identity of the registry they resolve against. Results are frozen values,
    safe to share. Calls with a dict model, or anything unhashable, are not cached."""

    derived_cache(store)

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def cached(model: Any, backend: Any = None, *args: Any, registry: Any = None, **kwargs: Any) -> Any:
            registry = registry or _registry_module().default_registry()
            model_key = _model_key(model)
            try:
                key = (model_key, backend, args, id(registry), tuple(sorted(kwargs.items())) if kwargs else ())
                hash(key)
            except TypeError:
                key = None
            if key is None or model_key is None:
                return fn(model, backend, *args, registry=registry, **kwargs)
            hit = store.get(key)
            if hit is not None and hit[0]() is registry:
                store.move_to_end(key)
                return hit[1]
            value = fn(model, backend, *args, registry=registry, **kwargs)
            store[key] = (weakref.ref(registry), value)
            if len(store) > size:
                store.popitem(last=False)
            return value

        cached.cache_clear = store.clear  # type: ignore[attr-defined]
        return cached

    return wrap


def plan_cache(make_plan: Callable[..., Any]) -> Callable[..., Any]:
    """Memoise ``make_plan`` (see :func:`memoised`), so that repeated scalar calls (a planner's or
    a user's loop) pay for lowering, placement and the mapping search once."""
    return memoised(_plans, PLAN_CACHE_SIZE)(make_plan)


@attrs.frozen
class Totals:
    """1-D arrays, one entry per scenario."""

    seconds: np.ndarray
    joules: np.ndarray
    bound_code: np.ndarray  # int8: 0 compute, 1 memory, 2 communication, 3 overhead
    memory_per_device_bytes: np.ndarray
    fits: np.ndarray


#: Op fields in the order of the kernel's TF_ROW_* indices (native/tokenfab_kernel.h), then the
#: device rows of :func:`tokenfab.engine.device_rows`.
OP_ROW_FIELDS = (
    "count",
    "window",
    "flops_per_token",
    "flops_per_token_prompt",
    "flops_per_seq",
    "flops_per_pair",
    "flops_per_pair_prompt",
    "flops_per_ctx_prompt",
    "rows_per_token",
    "rows_per_seq",
    "rows_per_seq_token",
    "act_bytes_per_token",
    "act_bytes_per_seq",
    "kv_read_bytes_per_ctx",
    "kv_write_bytes_per_token",
    "experts_total",
    "experts_top_k",
    "weight_bytes",
    "expert_bytes",
    "comm_bytes_per_token",
)
DEVICE_ROW_FIELDS = ("rate", "half", "factor", "bw", "latency", "jflop", "scale", "latency_large", "bw_large")
#: Op fields after the device rows (TF_ROW_EXPERT_IMBALANCE).
OP_TAIL_FIELDS = ("expert_imbalance",)
_rows: dict[int, tuple[Any, np.ndarray, dict]] = derived_cache({})
#: An op's kernel fields, in row order (OP_ROW_FIELDS then OP_TAIL_FIELDS), read in one C call.
_op_fields = operator.attrgetter(*OP_ROW_FIELDS, *OP_TAIL_FIELDS)


def plan_rows(plan: Any) -> tuple[np.ndarray, dict]:
    """(the plan's [O, TF_ROW_FIELDS] row table for the fused kernel, scalar constants); built once per plan."""
    hit = _rows.get(id(plan))
    if hit is not None and hit[0]() is plan:
        return hit[1], hit[2]
    from .engine import device_rows

    dev = device_rows(plan)
    n_ops, head = len(plan.ops), len(OP_ROW_FIELDS)
    op_columns = np.array([_op_fields(op) for op in plan.ops], dtype=np.float64).reshape(n_ops, -1)
    device_columns = [np.asarray(dev[k], dtype=np.float64).reshape(n_ops, 1) for k in DEVICE_ROW_FIELDS]
    table = np.concatenate([op_columns[:, :head], *device_columns, op_columns[:, head:]], axis=1)
    levels = [level.name for level in plan.device.memory]
    consts = {
        "level_bytes_per_s": np.array([lv.effective_bytes_per_s for lv in plan.device.memory], dtype=np.float64),
        "joules_per_byte": np.array([lv.joules_per_byte for lv in plan.device.memory], dtype=np.float64),
        "weights_level": levels.index(plan.weights_level),
        "kv_level": levels.index(plan.kv_level),
        "overhead_s": float(plan.device.efficiency.overhead_s),
        "idle_w": float(plan.device.power.idle_w),
        "max_w": float(plan.device.power.tdp_w),
        "jcomm": float(dev["jcomm"]),
    }
    if len(_rows) > 256:
        _rows.clear()
    _rows[id(plan)] = (weakref.ref(plan), table, consts)
    return table, consts


def _warn_stale(width: int, built: int) -> None:
    """Warn once that the built C extension predates the row layout (rebuild: ``pip install -e .``)."""
    if not getattr(_warn_stale, "done", False):
        _warn_stale.done = True  # type: ignore[attr-defined]
        warnings.warn(
            f"tokenfab: the C extension expects {built} row fields, the code sends {width}: using the numpy "
            "path (rebuild with `pip install -e .`)",
            RuntimeWarning,
            stacklevel=3,
        )


_prepared: dict[int, tuple[Any, tuple[Any, list]]] = derived_cache({})


def plan_inputs(plan: Any) -> tuple[Any, list] | None:
    """(a ``tf_plan_inputs`` of ``plan`` with its rows and constants filled in, the scenario fields
    left empty; the arrays its pointers point into), built once per plan and kept while the plan
    lives; ``None`` when the C kernel is unavailable or predates the row layout. Callers hold the
    pair while the kernel runs (a full cache may drop it meanwhile) and copy the struct
    (:func:`_call_inputs`), so concurrent calls never share one."""
    hit = _prepared.get(id(plan))
    if hit is not None and hit[0]() is plan:
        return hit[1]
    if kernel._lib is None:
        return None
    ffi, lib = kernel._ffi, kernel._lib
    table, consts = plan_rows(plan)
    (O, width), L = table.shape, consts["level_bytes_per_s"].size
    if width != lib.TF_ROW_FIELDS:  # an extension built from an older header: use the numpy path
        _warn_stale(width, lib.TF_ROW_FIELDS)
        return None
    keep = [table, consts["level_bytes_per_s"], consts["joules_per_byte"]]
    c_in = ffi.new("tf_plan_inputs *")
    c_in.n_ops, c_in.n_levels, c_in.len_rows, c_in.len_levels = O, L, table.size, L
    c_in.rows = ffi.from_buffer("double[]", table)
    c_in.level_bytes_per_s = ffi.from_buffer("double[]", consts["level_bytes_per_s"])
    c_in.joules_per_byte = ffi.from_buffer("double[]", consts["joules_per_byte"])
    c_in.weights_level, c_in.kv_level = consts["weights_level"], consts["kv_level"]
    c_in.tp, c_in.pp, c_in.ep = plan.mapping.tp, plan.mapping.pp, plan.mapping.ep
    c_in.overhead_s, c_in.idle_w, c_in.max_w = consts["overhead_s"], consts["idle_w"], consts["max_w"]
    c_in.joules_per_comm_byte = consts["jcomm"]
    if len(_prepared) > 256:
        _prepared.clear()
    _prepared[id(plan)] = (weakref.ref(plan), (c_in, keep))
    return c_in, keep


def _call_inputs(template: Any, phase: str, n: int, scenario: tuple, extra: tuple | None = None) -> Any:
    """A copy of ``template`` for ``n`` scenarios of ``phase`` at the buffers ``scenario`` =
    (batch, tokens, context), with ``extra`` = (sequences, tokens, context) of a prompt chunk
    mixed into every step (see :func:`tokenfab.engine.run_plan`), or none."""
    c_in = kernel._ffi.new("tf_plan_inputs *", template[0][0])
    c_in.n_scenarios = c_in.len_s = n
    c_in.replica_batch, c_in.tokens, c_in.context = scenario
    c_in.prompt = 1.0 if phase == "prefill" else 0.0
    if extra is not None:
        c_in.extra_batch, c_in.extra_tokens, c_in.extra_context = extra
    return c_in


def mixes_chunks() -> bool:
    """Whether the built C kernel takes a mixed-in prompt chunk (``TF_PLAN_EXTRA``)."""
    return kernel._lib is not None and hasattr(kernel._lib, "TF_PLAN_EXTRA")


def _status(status: int, bad: Any) -> None:
    if status != 0:
        raise kernel.KernelError(f"fused kernel: {kernel._STATUS.get(status, status)} (scenario {bad[0]})")


def fused_totals(
    plan: Any,
    phase: str,
    batch: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    *,
    work: bool = True,
    extra: tuple[float, float, float] | None = None,
) -> dict:
    """The C kernel's fused pass (``tf_step_totals``): 1-D float64 arrays of seconds, joules, an
    int8 bound code and (with ``work``) FLOPs and bytes for the scenarios, or ``None`` when the C
    kernel is unavailable. ``extra``: a prompt chunk (sequences, tokens, context) mixed into every
    step, as :func:`tokenfab.engine.run_plan`'s ``extra`` part."""
    template = plan_inputs(plan)
    if template is None or (extra is not None and not mixes_chunks()):
        return None
    ffi, lib = kernel._ffi, kernel._lib
    B, T, C = (np.ascontiguousarray(x, dtype=np.float64) for x in (batch, tokens, context))
    S = B.size
    if not (B.size == T.size == C.size):
        raise kernel.KernelError("fused kernel: mismatched scenarios")
    names = ("seconds", "joules", "flops", "bytes") if work else ("seconds", "joules")  # NULL: not computed
    block, bound = np.empty((len(names), S)), np.empty(S, dtype=np.int8)  # one buffer for the float outputs
    out = dict(zip(names, block, strict=True))
    out["bound"] = bound
    buffers = tuple(ffi.from_buffer("double[]", x) for x in (B, T, C))  # alive until the call returns
    c_in = _call_inputs(template, phase, S, buffers, extra)
    c_out = ffi.new("tf_totals *")
    first = ffi.from_buffer("double[]", block, require_writable=True)
    for i, name in enumerate(names):
        setattr(c_out, name, first + i * S)
    c_out.bound = ffi.from_buffer("signed char[]", bound, require_writable=True)
    bad = ffi.new("size_t *")
    _status(lib.tf_step_totals(c_in, c_out, bad), bad)
    return out


def fused_one(
    plan: Any, phase: str, batch: float, tokens: float, context: float, extra: tuple | None = None
) -> tuple[float, float, int] | None:
    """(seconds, joules, bound code) of one scenario through the fused C pass, without numpy;
    ``None`` when the C kernel is unavailable (``extra`` as in :func:`fused_totals`)."""
    template = plan_inputs(plan)
    if template is None or (extra is not None and not mixes_chunks()):
        return None
    ffi = kernel._ffi
    given = ffi.new("double[3]", (batch, tokens, context))
    c_in = _call_inputs(template, phase, 1, (given, given + 1, given + 2), extra)
    result, code = ffi.new("double[2]"), ffi.new("signed char[1]")
    c_out = ffi.new("tf_totals *")
    c_out.seconds, c_out.joules, c_out.bound = result, result + 1, code
    bad = ffi.new("size_t *")
    _status(kernel._lib.tf_step_totals(c_in, c_out, bad), bad)
    return result[0], result[1], code[0]


def scenarios(batch: Any, tokens: Any, context: Any) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
    """(broadcast shape, and 1-D contiguous float64 batch, tokens, context over it in C order): one
    copy per input that is broadcast, none for one already contiguous and full-sized."""
    given = [np.asarray(x, dtype=np.float64) for x in (batch, tokens, context)]
    n = max(x.size for x in given)
    if all(x.ndim <= 1 and x.size in (1, n) for x in given) and max(x.ndim for x in given) == 1:
        # 1-D and scalars (a serving estimate's contexts): np.full / the array itself, no broadcasting machinery
        return ((n,), *(x if x.size == n else np.full(n, x.reshape(-1)[0]) for x in given))
    b, t, c = np.broadcast_arrays(*given)
    return (b.shape, *(np.ascontiguousarray(x).reshape(-1) for x in (b, t, c)))


def memory_and_fits(plan: Any, batch: Any, tokens: Any, context: Any, shape: tuple[int, ...]) -> tuple:
    """(memory per device, fits), 1-D over the broadcast ``shape``, from :meth:`Plan.memory_per_device`
    evaluated once on the inputs as given (before broadcasting, so that a grid's axes stay small)."""
    batch, tokens, context = (np.asarray(x, dtype=np.float64) for x in (batch, tokens, context))
    used = plan.memory_per_device(batch, context + tokens, tokens)
    fits = plan.fits(batch, context + tokens, tokens, used=used)
    total = sum(used.values()) if plan.weights_level != plan.kv_level else used[plan.weights_level]
    flat = [np.broadcast_to(np.asarray(x), shape).reshape(-1) for x in (np.asarray(total, dtype=np.float64), fits)]
    return flat[0], flat[1].astype(bool, copy=False)


def step_totals(plan: Any, phase: str, batch: np.ndarray, tokens: np.ndarray, context: np.ndarray) -> Totals:
    """Totals of ``plan`` for the scenarios ``batch`` (one replica's) x ``tokens`` x ``context``
    (broadcast together; results are 1-D over the broadcast grid in C order): one fused C pass, or
    :func:`tokenfab.engine.run_plan` (the numpy reference path, with the breakdown it builds) when the
    C kernel is unavailable."""
    shape, B, T, C = scenarios(batch, tokens, context)
    return _totals(plan, phase, (batch, tokens, context), shape, (B, T, C))


def _totals(plan: Any, phase: str, given: tuple, shape: tuple[int, ...], flat: tuple) -> Totals:
    fused = fused_totals(plan, phase, *flat, work=False)
    if fused is None:
        return reference_totals(plan, phase, *flat)
    memory, fits = memory_and_fits(plan, *given, shape)
    return Totals(
        seconds=fused["seconds"],
        joules=fused["joules"],
        bound_code=fused["bound"],
        memory_per_device_bytes=memory,
        fits=fits,
    )


def reference_totals(plan: Any, phase: str, batch: np.ndarray, tokens: np.ndarray, context: np.ndarray) -> Totals:
    """:func:`step_totals` through :func:`tokenfab.engine.run_plan` (numpy coefficients, any kernel)."""
    from .engine import run_plan
    from .kernel import BOUND_NAMES

    cost = run_plan(plan, phase, batch, tokens, context, check_fit=False)
    names = np.atleast_1d(cost.bound).ravel()
    codes = np.zeros(names.shape, dtype=np.int8)
    for code, name in enumerate(BOUND_NAMES):
        codes[names == name] = code
    return Totals(
        seconds=np.atleast_1d(cost.seconds).ravel().astype(np.float64),
        joules=np.atleast_1d(cost.joules).ravel().astype(np.float64),
        bound_code=codes,
        memory_per_device_bytes=np.atleast_1d(cost.memory_per_device_bytes).ravel().astype(np.float64),
        fits=np.atleast_1d(cost.fits).ravel().astype(bool),
    )


def totals_step_cost(
    plan: Any,
    phase: str,
    batch: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    *,
    check_fit: bool,
    lazy: bool = False,
) -> Any:
    """A :class:`tokenfab.engine.StepCost` for broadcast scenarios (``batch`` one replica's), from
    :func:`step_totals`. Without ``lazy`` it has no breakdown and the bound names are an object
    array of the shared strings; with ``lazy`` the bound is a string array (as
    :func:`~tokenfab.engine.run_plan`'s) and the breakdown is built on first access."""
    from .engine import StepCost, breakdown_of
    from .kernel import BOUND_NAMES

    shape, B, T, C = scenarios(batch, tokens, context)
    totals = _totals(plan, phase, (batch, tokens, context), shape, (B, T, C))
    if check_fit and not np.all(totals.fits):
        worst = int(np.argmin(totals.fits))
        raise plan.fit_error(B[worst], C[worst] + T[worst], T[worst])

    def shaped(arr: np.ndarray) -> Any:
        arr = np.asarray(arr).reshape(shape)
        return arr.item() if arr.ndim == 0 else arr

    return StepCost(
        phase=phase,
        seconds=shaped(totals.seconds),
        joules=shaped(totals.joules),
        bound=shaped(np.asarray(BOUND_NAMES, dtype=str if lazy else object)[totals.bound_code]),
        breakdown=functools.partial(breakdown_of, plan, phase, *np.broadcast_arrays(batch, tokens, context))
        if lazy
        else (),
        devices=plan.mapping.devices,
        batch=shaped(B),
        tokens=shaped(T),
        context=shaped(C),
        memory_per_device_bytes=shaped(totals.memory_per_device_bytes),
        fits=shaped(totals.fits),
        plan=plan,
    )


_PLAN_SETS_SIZE = 64
_plan_sets: OrderedDict[tuple, tuple[list, Any, list]] = derived_cache(OrderedDict())


def _plan_set(plans: list) -> tuple[Any, list] | None:
    """(a C array of the prepared inputs of ``plans``, what its pointers point into), kept for
    the last few sets of plans (a search ranks the same candidates scenario after scenario);
    ``None`` when a plan cannot be prepared (see :func:`plan_inputs`)."""
    key = tuple(id(plan) for plan in plans)
    hit = _plan_sets.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], plans, strict=True)):
        try:
            _plan_sets.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile: the entry in hand is still whole
            pass
        return hit[1], hit[2]
    prepared = [plan_inputs(plan) for plan in plans]
    if any(entry is None for entry in prepared):
        return None
    templates = kernel._ffi.new("tf_plan_inputs *[]", [entry[0] for entry in prepared])
    _plan_sets[key] = (list(plans), templates, prepared)  # the plans kept alive: their ids stay theirs
    while len(_plan_sets) > _PLAN_SETS_SIZE:
        try:
            _plan_sets.popitem(last=False)
        except KeyError:  # emptied by another thread
            break
    return templates, prepared


def fused_many(plans: list, phase: str, scenarios: list[tuple[float, float, float]]) -> list[float] | None:
    """Step seconds of one scenario on each of ``plans`` (``scenarios[i]`` = (replica batch, tokens,
    context) of ``plans[i]``) in one C call (``tf_plans_totals``): how the mapping search ranks its
    candidates. ``None`` when the C kernel is unavailable or predates that entry point."""
    if not plans or kernel._lib is None or not hasattr(kernel._lib, "tf_plans_totals"):
        return None
    held = _plan_set(plans)  # held (structs and their arrays) until the call returns
    if held is None:
        return None
    ffi, n = kernel._ffi, len(plans)
    columns = [x for column in zip(*scenarios, strict=True) for x in column]  # batch..., tokens..., context...
    doubles = ffi.new("double[]", columns + [0.0] * (2 * n))  # inputs, then seconds and joules
    codes, bad = ffi.new("signed char[]", n), ffi.new("size_t *")
    prompt = 1.0 if phase == "prefill" else 0.0
    given, out = (doubles, doubles + n, doubles + 2 * n), (doubles + 3 * n, doubles + 4 * n)
    status = kernel._lib.tf_plans_totals(held[0], n, *given, prompt, *out, codes, bad)
    _status(status, bad)
    return ffi.unpack(out[0], n)


def _engine() -> Any:
    """:mod:`tokenfab.engine` (which imports this module, so it is looked up on first use)."""
    global _ENGINE
    if _ENGINE is None:
        from . import engine

        _ENGINE = engine
    return _ENGINE


_ENGINE = None


@functools.cache
def _bound_array() -> np.ndarray:
    """:data:`tokenfab.kernel.BOUND_NAMES` as a string array, to index with bound codes."""
    return np.array(kernel.BOUND_NAMES)


def _chunk(extra: Any) -> tuple[float, float, float] | None:
    """The kernel's (sequences, tokens, context) of a scalar prompt :class:`~tokenfab.engine.Part`
    that is not sampled (what chunked prefill mixes in), or ``None`` when the kernel cannot take it."""
    if not extra.prompt or extra.sampled or any(np.ndim(v) for v in (extra.batch, extra.tokens, extra.context)):
        return None
    return float(extra.batch), float(extra.tokens), float(extra.context)


def fused_step(plan: Any, phase: str, batch: Any, tokens: Any, context: Any, extra: Any = None) -> Any:
    """:func:`tokenfab.engine.run_plan` with ``check_fit=False`` through the fused C pass: a
    :class:`~tokenfab.engine.StepCost` whose per-operator breakdown is built on first access, or
    ``None`` when the kernel cannot take the step (no C kernel, an ``extra`` part it does not mix).
    ``batch`` is one replica's; plain floats in, plain floats out, without numpy."""
    engine = _engine()
    chunk = None if extra is None else _chunk(extra)
    if extra is not None and chunk is None:
        return None
    lazy = functools.partial(engine.breakdown_of, plan, phase, batch, tokens, context, extra)
    numbers = (int, float)
    if isinstance(batch, numbers) and isinstance(tokens, numbers) and isinstance(context, numbers):
        b, t, c = float(batch), float(tokens), float(context)
        one = fused_one(plan, phase, b, t, c, chunk)
        if one is None:
            return None
        seconds, joules, code = one
        memory, fits = plan.memory_fit_one(b, c + t, t)
        bound = kernel.BOUND_NAMES[code]
    else:
        shape, B, T, C = scenarios(batch, tokens, context)
        fused = fused_totals(plan, phase, B, T, C, work=False, extra=chunk)
        if fused is None:
            return None
        # memory and fit on the inputs as given: a scalar batch or tokens stays a scalar
        b_in, t_in = (x if isinstance(x, numbers) else y for x, y in ((batch, B), (tokens, T)))
        kv_tokens = C + t_in  # full-sized: so are memory and fits
        if isinstance(b_in, numbers) and isinstance(t_in, numbers):  # contexts only: numpy for the array part
            total, fits = plan.memory_fit_contexts(b_in, kv_tokens, t_in)
        else:
            used = plan.memory_per_device(b_in, kv_tokens, t_in)
            fits = plan.fits(b_in, kv_tokens, t_in, used=used)
            total = sum(used.values()) if plan.weights_level != plan.kv_level else used[plan.weights_level]
        fits = fits.reshape(shape)
        memory, b, t, c = (x.reshape(shape) for x in (total, B, T, C))
        seconds, joules = fused["seconds"].reshape(shape), fused["joules"].reshape(shape)
        bound = _bound_array()[fused["bound"]].reshape(shape)
    totals = dict(seconds=seconds, joules=joules, bound=bound, memory_per_device_bytes=memory, fits=fits)
    where = dict(devices=plan.mapping.devices, batch=b, tokens=t, context=c, plan=plan)
    return engine.StepCost(phase=phase, breakdown=lazy, **totals, **where)
