"""Every hook a tokenfab pack may implement. Hookspec version: :data:`HOOKSPEC_VERSION`.

A pack is a module or object with functions marked ``@tokenfab.hookimpl`` and registered
through the ``tokenfab`` entry-point group. All hooks are optional.

The ``firstresult`` hooks (:func:`tokenfab_placement`, :func:`tokenfab_default_mapping`) are pure
functions of their arguments: a registry remembers each pack's answer by the call's arguments
(:func:`tokenfab.guard.call_first`) and asks the same question once. They are asked about every
backend unless the pack declares ``TOKENFAB_HOOK_PREFIXES = ("prefix", ...)`` (a module or
plugin-object attribute): then only about backends whose id, or whose device's id, has one of
those prefixes.
"""

from __future__ import annotations

import pluggy

#: Bumped when a hook's signature or contract changes. Packs may check it at import time.
HOOKSPEC_VERSION = 1

hookspec = pluggy.HookspecMarker("tokenfab")
hookimpl = pluggy.HookimplMarker("tokenfab")


@hookspec
def tokenfab_devices():
    """Called once when the registry loads. Return a list of :class:`tokenfab.Device`
    and :class:`tokenfab.System` objects (ids ``"<pack>:<device>"``). Results of all packs
    are gathered; malformed items are reported with the pack's name and skipped."""


@hookspec
def tokenfab_models():
    """Called once when the model catalog is first used. Return a mapping of model id to a
    Hugging Face style config dict (or a :class:`tokenfab.Model`). Gathered from all packs."""


@hookspec(firstresult=True)
def tokenfab_placement(model, device, weights_bytes, kv_bytes, activation_bytes):
    """Called by the engine for each estimate, with per-device byte counts after sharding.
    Return a dict ``{"weights": level_name, "kv": level_name}`` naming the memory level of
    ``device`` that serves weights and KV cache, or ``None`` to leave the default
    (the outermost level with ``holds_weights``). First non-None result wins."""


@hookspec(firstresult=True)
def tokenfab_default_mapping(model, backend, weights_bytes, kv_bytes):
    """Called by the mapping search when the user gives no mapping. ``weights_bytes`` and
    ``kv_bytes`` are whole-model totals. Return ``None`` to leave the search alone, or a dict
    that may *seed* a candidate (``devices``, ``tp``, ``pp``, ``ep``: integers) and *restrict*
    the search (``max_tp``, ``max_ep``, ``max_pp``). A seed is fit-checked like every other
    candidate and is used only when it has the search's device count and ranks best; a hook
    cannot bypass the fit check. First non-None wins."""
