"""The conformance checks a hardware pack must pass, one function per check.

The pytest plugin (:mod:`tokenfab.testing.plugin`) turns each into a test, and ``tokenfab plugins
--check NAME`` runs them from the command line; both go through :class:`PackUnderTest`, which
loads a pack through the public registry API (:func:`tokenfab.registry.build_registry`), so the
pack is checked exactly as tokenfab would load it.

Checks (each returns the problems it found; an empty list passes):

* ``discovery``: the pack loads without errors and registers at least one device (zero is
  reported, never silent);
* ``id prefixes``: every id is lower-case ``prefix:device`` under a prefix the pack owns;
* ``units and ranges``: SI ranges (a TFLOPS figure typed without its 1e12 is caught), precision
  and memory-level ordering (:func:`tokenfab.conformance.check_device`);
* ``sources``: a citation for every figure;
* ``hooks``: the placement and default-mapping hooks answer without errors and give a
  placement the engine accepts;
* ``small model`` / ``large model``: an estimate of Llama 3.2 1B and Llama 3.1 70B on the
  default mapping gives finite, positive times and fits; doubling memory bandwidth never slows
  a decode step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

SMALL_MODEL = "llama-3.2-1b"
LARGE_MODEL = "llama-3.1-70b"
_HOOKS = ("tokenfab_placement", "tokenfab_default_mapping")


class SkipCheck(Exception):
    """A check that does not apply (the reason is the message)."""


@attrs.frozen
class CheckResult:
    """One check's outcome: ``status`` is ``pass``, ``fail`` or ``skip``; ``detail`` says why."""

    name: str
    status: str
    detail: str = ""


@attrs.define
class PackUnderTest:
    """A pack loaded for checking: its name, the registry that loaded it, and its backend ids."""

    name: str
    registry: Any
    backend_ids: list[str]

    @classmethod
    def load(cls, spec: Any) -> PackUnderTest:
        """``spec``: the name of an installed pack (entry point or ``tokenfab.data`` name, built-in
        packs included), or a module/object with ``@hookimpl`` functions."""
        from ..errors import TokenfabError
        from ..hardware.registry import build_registry

        if isinstance(spec, str):
            registry = build_registry()
            known = set(registry.packs) | set(registry.provided_by.values())
            if spec not in known:
                raise TokenfabError(f"pack: no installed pack named {spec!r} (installed: {', '.join(sorted(known))})")
            name = spec
        else:
            registry = build_registry([spec], entry_points=False)
            name = registry.pack_name(spec)
        ids = sorted(b for b, pack in registry.provided_by.items() if pack == name)
        return cls(name=name, registry=registry, backend_ids=ids)

    def problems_of_pack(self, text: str = "") -> list[str]:
        return [p.reason for p in self.registry.problems if p.plugin == self.name and text in p.reason]

    def backend(self, backend_id: str) -> Any:
        return self.registry.get(backend_id)


def check_discovery(pack: PackUnderTest) -> list[str]:
    problems = [f"load problem: {reason}" for reason in pack.problems_of_pack()]
    if not pack.backend_ids:
        problems.append(
            f"pack {pack.name!r} registers no devices: tokenfab_devices returned nothing (a TOML pack whose "
            "*.toml files were not shipped as package data looks like this)"
        )
    return problems


def check_id_prefixes(pack: PackUnderTest) -> list[str]:
    info = pack.registry.packs.get(pack.name)
    owned = set(info.prefixes) if info is not None and info.prefixes else {pack.name}
    problems = [reason for reason in pack.problems_of_pack("refused")]
    for backend_id in pack.backend_ids:
        prefix, _, device = backend_id.partition(":")
        if backend_id != backend_id.lower() or not device:
            problems.append(f"id {backend_id!r} is not lower-case 'prefix:device'")
        elif info is not None and info.prefixes and prefix not in owned:
            problems.append(f"id {backend_id!r} is outside the pack's prefixes {sorted(owned)}")
    return problems


def check_units_and_ranges(pack: PackUnderTest, backend_id: str) -> list[str]:
    from ..hardware.conformance import check_device

    return [p for p in check_device(pack.backend(backend_id), behaviour=False) if "no source for" not in p]


def check_sources(pack: PackUnderTest, backend_id: str) -> list[str]:
    from ..hardware.conformance import check_device

    return [p for p in check_device(pack.backend(backend_id), behaviour=False) if "no source for" in p]


def check_hooks(pack: PackUnderTest, backend_id: str) -> list[str]:
    """The placement and default-mapping hooks (this pack's and any other's that answer for it)
    run inside a plan of the small model; their errors are recorded by the registry's guard."""
    from ..cost.engine import make_plan
    from ..errors import FitError

    before = len(pack.registry.problems)
    try:
        plan = make_plan(SMALL_MODEL, backend_id, batch=1, kv_tokens=1024, step_tokens=1, registry=pack.registry)
    except FitError as exc:
        raise SkipCheck(f"{SMALL_MODEL} has no mapping on {backend_id}: {exc}") from None
    device = pack.backend(backend_id)
    device = getattr(device, "device", device)
    levels = {level.name for level in device.memory if level.holds_weights}
    problems = [str(p) for p in pack.registry.problems[before:] if any(hook in p.reason for hook in _HOOKS)]
    note = getattr(plan, "placement_note", "")
    if levels and note and not any(level in note for level in levels):
        problems.append(f"placement {note!r} names no memory level that holds weights ({sorted(levels)})")
    return problems


def _estimate_problems(pack: PackUnderTest, backend_id: str, model: str) -> list[str]:
    from ..errors import FitError
    from ..serving.steady import estimate

    try:
        est = estimate(model, backend_id, batch=4, input_tokens=512, output_tokens=128, registry=pack.registry)
    except FitError as exc:
        raise SkipCheck(f"{model} does not fit {backend_id} on its default mapping: {exc}") from None
    values = {key: getattr(est, key) for key in ("ttft_s", "tpot_s", "tokens_per_s", "joules_per_token")}
    problems = [f"{model}: {key} = {value!r} is not finite and > 0" for key, value in values.items()]
    problems = [p for p, v in zip(problems, values.values(), strict=True) if not (math.isfinite(v) and v > 0)]
    if not est.fits:
        problems.append(f"{model}: the default mapping ({est.devices} devices) does not fit")
    return problems


def check_small_model(pack: PackUnderTest, backend_id: str) -> list[str]:
    from ..hardware.conformance import _behaviour

    device = pack.backend(backend_id)
    return _estimate_problems(pack, backend_id, SMALL_MODEL) + _behaviour(getattr(device, "device", device))


def check_large_model(pack: PackUnderTest, backend_id: str) -> list[str]:
    return _estimate_problems(pack, backend_id, LARGE_MODEL)


#: name -> (check, per device?)
CHECKS: dict[str, tuple[Callable[..., list[str]], bool]] = {
    "discovery": (check_discovery, False),
    "id prefixes": (check_id_prefixes, False),
    "units and ranges": (check_units_and_ranges, True),
    "sources": (check_sources, True),
    "hooks": (check_hooks, True),
    "small model": (check_small_model, True),
    "large model": (check_large_model, True),
}


def run_check(name: str, pack: PackUnderTest, backend_id: str | None = None) -> CheckResult:
    """Run one check; an exception inside it is a failure naming the exception."""
    check, per_device = CHECKS[name]
    label = f"{name} [{backend_id}]" if per_device else name
    try:
        problems = check(pack, backend_id) if per_device else check(pack)
    except SkipCheck as exc:
        return CheckResult(label, "skip", str(exc))
    except Exception as exc:  # a broken pack must produce a failed check, not a crash
        return CheckResult(label, "fail", f"{type(exc).__name__}: {exc}")
    return CheckResult(label, "fail" if problems else "pass", "; ".join(problems))


def run_checks(spec: Any) -> list[CheckResult]:
    """Every check on the pack ``spec`` (see :meth:`PackUnderTest.load`), per device where it applies."""
    pack = PackUnderTest.load(spec)
    results = []
    for name, (_, per_device) in CHECKS.items():
        targets = pack.backend_ids if per_device else [None]
        results += [run_check(name, pack, backend_id) for backend_id in targets]
    return results
