"""The one guarded path for every call into a pack: imports, discovery and every hook.

Each call into pack code goes through :func:`run_guarded`, which

* runs it on a daemon thread (a worker kept per pack module between calls: handing a call over
  costs far less than starting a thread) and waits at most :func:`pack_timeout` seconds
  (``TOKENFAB_PACK_TIMEOUT``, default 5 s). A pack that takes longer is reported and skipped
  for the rest of the process. Python cannot kill a thread, so a hung pack's thread is
  abandoned, not stopped: it is a daemon, so it never keeps the process alive, and the pack is
  never called again. Abandoning is the choice that keeps every command prompt without a
  subprocess per hook call (which would cost milliseconds per estimate and need picklable
  devices);
* catches every exception, ``SystemExit`` and ``KeyboardInterrupt`` raised by the pack
  included, and returns it as text, so the caller reports it with the pack's name and drops
  that pack's contribution;
* routes what the pack prints to ``sys.stdout`` into a buffer (per thread, so other threads
  still print), so a pack's ``print()`` never reaches ``--json`` or ``--csv`` output.
  Output printed by an abandoned (timed-out) thread after its deadline is not captured.

Arguments handed to a hook are deep copies (:func:`call_each`, :func:`call_first`), so a pack
that mutates the device or model it is given (even a frozen one, through
``object.__setattr__``) changes only its own copy. Results are checked by the caller's
``check`` function; a result that fails the check is reported and dropped.

Packs are disabled by name with ``TOKENFAB_DISABLE_PACKS=a,b`` or :func:`disable_packs` (the
CLI's ``--disable-pack NAME``): a disabled entry-point pack is not even imported.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import threading
from _queue import SimpleQueue  # queue.SimpleQueue itself, without the queue module (and heapq)
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from ..errors import ValidationError

TIMEOUT_VARIABLE = "TOKENFAB_PACK_TIMEOUT"
DISABLE_VARIABLE = "TOKENFAB_DISABLE_PACKS"
DEFAULT_TIMEOUT_S = 5.0
_MAX_CAPTURED_CHARS = 4000

_disabled: set[str] = set()
_router_lock = threading.Lock()


def pack_timeout() -> float:
    """Seconds a pack may take to import or to answer one hook call (``TOKENFAB_PACK_TIMEOUT``)."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 3600:
        raise ValidationError(
            f"{TIMEOUT_VARIABLE}: must be a number of seconds in (0, 3600], got {text!r}", field=TIMEOUT_VARIABLE
        )
    return value


def disabled_packs() -> frozenset[str]:
    """Names of packs disabled through ``TOKENFAB_DISABLE_PACKS`` or :func:`disable_packs`."""
    from_env = {name.strip().lower() for name in os.environ.get(DISABLE_VARIABLE, "").split(",") if name.strip()}
    return frozenset(from_env | _disabled)


def disable_packs(names: Any) -> None:
    """Disable packs by name for this process (``None`` or ``()`` re-enables all but those in
    ``TOKENFAB_DISABLE_PACKS``); the process-wide registry is rebuilt on next use."""
    from .registry import set_default_registry

    _disabled.clear()
    _disabled.update(str(name).strip().lower() for name in (names or ()) if str(name).strip())
    set_default_registry(None)


@attrs.frozen
class Outcome:
    """What one guarded call gave: its value, or an error (text), and what it printed."""

    value: Any = None
    error: str | None = None
    output: str = ""
    timed_out: bool = False


class _StdoutRouter(io.TextIOBase):
    """Stands in for ``sys.stdout`` while packs run: writes from a pack's thread go to that
    call's buffer, every other thread's writes go to the real stream."""

    def __init__(self, target: Any):
        self.target = target
        self.buffers: dict[int, io.StringIO] = {}

    def write(self, text: str) -> int:
        buffer = self.buffers.get(threading.get_ident())
        if buffer is None:
            return self.target.write(text)
        if buffer.tell() < _MAX_CAPTURED_CHARS:
            buffer.write(str(text)[: _MAX_CAPTURED_CHARS - buffer.tell()])
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in self.buffers:
            self.target.flush()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:  # a pack asking for the descriptor gets none: it cannot bypass capture
        if threading.get_ident() in self.buffers:
            raise io.UnsupportedOperation("tokenfab captures a pack's stdout")
        return self.target.fileno()

    def isatty(self) -> bool:
        return threading.get_ident() not in self.buffers and self.target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"


def _attach(ident: int, buffer: io.StringIO) -> None:
    with _router_lock:
        router = sys.stdout
        if not isinstance(router, _StdoutRouter):
            router = _StdoutRouter(sys.stdout)
            sys.stdout = router
        router.buffers[ident] = buffer


def _detach(ident: int) -> None:
    with _router_lock:
        router = sys.stdout
        if isinstance(router, _StdoutRouter):
            router.buffers.pop(ident, None)
            if not router.buffers:
                sys.stdout = router.target


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Worker:
    """A daemon thread that runs guarded calls one at a time. Starting a thread per call costs
    about 50 us of CPU; handing a call to a waiting worker about 15 us. Each pack module has its
    own workers (:func:`_worker`), so one pack's thread state never meets another's; a worker whose
    call overran its deadline is abandoned, like the thread of a call before (never reused)."""

    def __init__(self, name: str):
        self.jobs: SimpleQueue = SimpleQueue()
        threading.Thread(target=self._loop, name=f"tokenfab-pack:{name}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.jobs.get()()


_workers: dict[str, list[_Worker]] = {}
_workers_lock = threading.Lock()
_IDLE_WORKERS = 4  # idle workers kept per pack module


def _worker(key: str) -> _Worker:
    with _workers_lock:
        idle = _workers.get(key)
        if idle:
            return idle.pop()
    return _Worker(key)


def _release(key: str, worker: _Worker) -> None:
    with _workers_lock:
        idle = _workers.setdefault(key, [])
        if len(idle) < _IDLE_WORKERS:
            idle.append(worker)


def run_guarded(func: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Outcome:
    """Call ``func(*args, **kwargs)`` on a daemon worker thread with a deadline, capturing its
    stdout and any exception (see module docstring). Never raises because of ``func``."""
    limit = pack_timeout() if timeout is None else timeout
    result: dict[str, Any] = {}
    buffer = io.StringIO()
    done = threading.Lock()
    done.acquire()

    def runner() -> None:
        ident = threading.get_ident()
        _attach(ident, buffer)
        try:
            result["value"] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - a pack may raise anything, SystemExit included
            result["error"] = _describe(exc)
        finally:
            _detach(ident)
            done.release()

    key = str(getattr(func, "__module__", None) or getattr(func, "__name__", "call"))
    worker = _worker(key)
    worker.jobs.put(runner)
    if not done.acquire(timeout=limit):
        return Outcome(error=f"took longer than {limit:g} s ({TIMEOUT_VARIABLE}); skipped", timed_out=True)
    _release(key, worker)
    return Outcome(value=result.get("value"), error=result.get("error"), output=buffer.getvalue())


def deep_copy(value: Any) -> Any:
    """A deep copy of ``value``: a pickle round trip (C code, about twice as fast as
    :func:`copy.deepcopy` on a device), or :func:`copy.deepcopy` for what pickle cannot take
    (a class defined inside a function, a lambda in a field)."""
    try:
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - pickle raises several unrelated types for what it cannot take
        return _deepcopy(value)


_pickled: dict[tuple[int, ...], tuple[tuple, bytes]] = {}
_PICKLED_SIZE = 64


def _fresh_copies(values: tuple) -> tuple:
    """Deep copies of attrs values (the core hands packs frozen models, devices and systems),
    pickled together once and unpickled per call, so each call still gets copies of its own."""
    key = tuple(id(value) for value in values)
    hit = _pickled.get(key)
    if hit is None or any(a is not b for a, b in zip(hit[0], values, strict=True)):
        try:
            hit = (values, pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - as in deep_copy
            return _deepcopy(values)
        if len(_pickled) >= _PICKLED_SIZE:
            _pickled.clear()
        _pickled[key] = hit  # the values are kept alive with their bytes: their ids cannot be reused
    return pickle.loads(hit[1])


def _deepcopy(value: Any) -> Any:
    """:func:`copy.deepcopy`, for what pickle cannot take (rare: :mod:`copy` is imported then)."""
    import copy

    return copy.deepcopy(value)


class Snapshot:
    """A deep copy of a value taken now and built on first :meth:`value` call: the pickle
    (what a pack's later changes to its object cannot reach) is taken at once, the unpickling,
    the larger half of a copy, only for values someone reads. A value pickle cannot take is
    copied with :func:`copy.deepcopy` at once."""

    __slots__ = ("_blob", "_value", "_lock")

    def __init__(self, value: Any) -> None:
        self._lock = threading.Lock()
        try:
            self._blob: bytes | None = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._value = None
        except Exception:  # noqa: BLE001 - as deep_copy: what pickle cannot take, deepcopy can
            self._blob, self._value = None, _deepcopy(value)

    def value(self) -> Any:
        """The copy (the same object on every call)."""
        if self._blob is not None:
            with self._lock:
                if self._blob is not None:
                    self._value, self._blob = pickle.loads(self._blob), None
        return self._value


def _copies(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Deep copies of hook arguments: what a pack does to them stays with the pack. Numbers and
    strings are immutable (passed as they are); attrs values travel as one cached pickle
    (:func:`_fresh_copies`); anything else is deep-copied."""
    try:
        plain = (type(None), bool, int, float, str)
        frozen = [name for name, value in kwargs.items() if getattr(type(value), "__attrs_attrs__", None) is not None]
        copies = {
            name: value if isinstance(value, plain) else deep_copy(value)
            for name, value in kwargs.items()
            if name not in frozen
        }
        copies.update(zip(frozen, _fresh_copies(tuple(kwargs[name] for name in frozen)), strict=True))
        return copies
    except Exception:  # an uncopyable argument is handed over as is (only plain values reach hooks)
        return dict(kwargs)


def call_each(registry: Any, hook_name: str, check: Callable[[Any], Any] | None = None, **kwargs: Any) -> Iterator:
    """Yield ``(pack name, checked result)`` for every pack implementing ``hook_name``, each
    called through :func:`run_guarded` with its own copies of ``kwargs``. A pack that raises,
    hangs or returns something ``check`` rejects (by raising) is reported once on
    ``registry`` and left out; ``None`` results are left out too."""
    hook = getattr(registry.pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        yield from _call_impl(registry, hook_name, impl, check, {name: kwargs[name] for name in impl.argnames})


def _call_impl(registry: Any, hook_name: str, impl: Any, check: Callable[[Any], Any] | None, kwargs: dict) -> Iterator:
    """``(pack name, checked result)`` of one hook implementation called with copies of
    ``kwargs`` (see :func:`call_each`); nothing when it is hung, fails or answers ``None``."""
    pack = registry.pack_name(impl.plugin)
    if pack in registry.hung:
        return
    outcome = run_guarded(impl.function, **_copies(kwargs))
    if outcome.output:
        registry.record_output(pack, outcome.output)
    if outcome.timed_out:
        registry.hung.add(pack)
    if outcome.error is not None:
        registry.report(pack, hook_name, outcome.error)
        return
    if outcome.value is None:
        return
    try:
        value = check(outcome.value) if check is not None else outcome.value
    except Exception as exc:  # noqa: BLE001 - any way a result can be wrong is the pack's
        registry.report(pack, hook_name, f"returned an unusable result: {_describe(exc)}")
        return
    yield pack, value


#: Hook answers a registry remembers (:func:`call_first`; least recently used dropped first).
MEMO_SIZE = 4096
#: Module (or plugin object) attribute: prefixes of the backend ids a pack's ``tokenfab_placement``
#: and ``tokenfab_default_mapping`` answer for; the core does not ask them about other backends.
HOOK_PREFIXES_ATTRIBUTE = "TOKENFAB_HOOK_PREFIXES"


def _memo_key(hook_name: str, kwargs: dict[str, Any]) -> tuple[tuple, list]:
    """A cache key for a hook call: values by value (frozen models hash by their fields),
    unhashable objects (devices) by identity, kept alive beside the cached result."""
    parts, keep = [hook_name], []
    for name, value in sorted(kwargs.items()):
        try:
            hash(value)
            parts.append((name, value))
        except TypeError:
            parts.append((name, "id", id(value)))
            keep.append(value)
    return tuple(parts), keep


def _backend_ids(target: Any) -> tuple[str, ...] | None:
    """The ids a hook call about ``target`` (a backend, or a device) concerns: its own and, for a
    system, its device's; ``None`` when it has none (a hook about no backend)."""
    ids = tuple(getattr(item, "id", None) for item in (target, getattr(target, "device", None)) if item is not None)
    ids = tuple(i for i in ids if isinstance(i, str))
    return ids or None


def in_scope(impl: Any, backend_ids: tuple[str, ...] | None) -> bool:
    """Whether ``impl`` may answer a hook call about ``backend_ids`` (:func:`_backend_ids`): always,
    unless its pack declares ``TOKENFAB_HOOK_PREFIXES`` (see CONTRIBUTING.md) and none of the ids
    is under one of them."""
    prefixes = getattr(impl.plugin, HOOK_PREFIXES_ATTRIBUTE, None)
    if backend_ids is None or prefixes is None:
        return True
    try:
        names = {str(prefix).strip().lower() for prefix in prefixes}
    except TypeError:  # not a list of names: the declaration is ignored, the pack is asked as before
        return True
    return any(backend_id.partition(":")[0].lower() in names for backend_id in backend_ids)


def asked(registry: Any, hook_name: str, backend: Any) -> list:
    """The hook implementations a call about ``backend`` goes to (in scope, not hung), in call
    order; empty when no pack would be asked, so the caller can skip the call and cache its default."""
    impls = reversed(getattr(registry.pm.hook, hook_name).get_hookimpls())
    ids = _backend_ids(backend)
    return [impl for impl in impls if registry.pack_name(impl.plugin) not in registry.hung and in_scope(impl, ids)]


def _remembered(memo: dict, key: tuple, compute: Callable[[], Any], keep: list) -> Any:
    """``memo[key]`` (a least-recently-used store of at most :data:`MEMO_SIZE` answers, moved to the
    end on use), or ``compute()`` stored there with ``keep`` (objects its key names by identity)."""
    hit = memo.pop(key, None)  # pop and put back: the dict's order is its recency
    if hit is None:
        hit = (compute(), keep)
        while len(memo) >= MEMO_SIZE:
            try:
                memo.pop(next(iter(memo)), None)
            except (RuntimeError, StopIteration):  # another thread changed it meanwhile: look again
                continue
    memo[key] = hit
    return hit[0]


def call_first(registry: Any, hook_name: str, check: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
    """The first usable non-``None`` result of a ``firstresult`` hook (see :func:`call_each`), or ``None``.

    A hook is a pure function of its arguments (the hook contract, CONTRIBUTING.md), so a
    registry remembers each pack's answer, checked, by the call's arguments (at most
    :data:`MEMO_SIZE` answers, least recently used dropped first): a sweep or a mapping search
    pays the guarded call once per distinct question, not once per scenario. A pack whose call
    failed, timed out or returned something unusable is reported once, when it is first asked,
    and remembered as having no answer. A pack that declares ``TOKENFAB_HOOK_PREFIXES`` is not
    asked about backends outside them."""
    memo = getattr(registry, "hook_cache", None)
    ids = _backend_ids(kwargs.get("backend", kwargs.get("device")))
    for impl in reversed(getattr(registry.pm.hook, hook_name).get_hookimpls()):
        if not in_scope(impl, ids):
            continue
        args = {name: kwargs[name] for name in impl.argnames}

        def ask(impl: Any = impl, args: dict = args) -> Any:
            return next((value for _pack, value in _call_impl(registry, hook_name, impl, check, args)), None)

        if memo is None:
            value = ask()
        else:  # keyed on every argument, not only the pack's: ``check`` may depend on the others
            key, keep = _memo_key(hook_name, kwargs)
            value = _remembered(memo, (impl.function, key), ask, keep)
        if value is not None:
            return dict(value)
    return None


# -- checks of what the firstresult hooks return ----------------------------------------------


def placement_check(device: Any) -> Callable[[Any], dict[str, str]]:
    """A check for ``tokenfab_placement`` results: a dict naming memory levels of ``device``."""
    names = [level.name for level in device.memory]

    def check(result: Any) -> dict[str, str]:
        if not isinstance(result, dict) or not set(result) <= {"weights", "kv"}:
            raise TypeError(f"expected {{'weights': level, 'kv': level}}, got {result!r:.80}")
        for key, level in result.items():
            if level not in names or not device.level(level).holds_weights:
                raise ValueError(f"{key}: {device.id} has no memory level {level!r} that holds a model (has {names})")
        return dict(result)

    return check


def mapping_check(result: Any) -> dict[str, int]:
    """A check for ``tokenfab_default_mapping`` results: positive integers ``devices``, ``tp``,
    ``pp``, ``ep`` (a seed) and ``max_tp``, ``max_ep``, ``max_pp`` (restrictions of the search)."""
    keys = {"devices", "tp", "pp", "ep", "max_tp", "max_ep", "max_pp"}
    if not isinstance(result, dict) or not set(result) <= keys:
        raise TypeError(f"expected a dict with keys among {sorted(keys)}, got {result!r:.80}")
    for key, value in result.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
            raise ValueError(f"{key}: expected an integer in [1, 1000000], got {value!r:.40}")
    return dict(result)
