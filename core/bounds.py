"""Input bounds and output finiteness: every public entry point checks its arguments here.

Counts (batch, tokens, context, devices, tp/pp/ep, draft tokens) are integers, never booleans,
strings or fractions, within ``[low, MAX_COUNT]``. ``MAX_COUNT = 10**12``: far beyond any real
batch or context (a context is further limited by the model's ``max_context``), and low
enough that every product the cost model forms stays finite in float64: the largest,
attention pairs times FLOPs per pair, is at most ``B * T**2 * flops_per_pair <= 1e12 * 1e24 *
1e6 = 1e42``, far below float64's 1.8e308.

A grid (``sweep``, array arguments of ``decode_step``/``prefill``) may hold at most
``max_scenarios()`` scenarios per backend (``TOKENFAB_MAX_SCENARIOS``, default 100000: the
engine keeps a few dozen float64 arrays of scenarios x operators, about 4 kB per scenario);
a bigger grid is refused with an error naming the limit instead of running out of memory.

Results are checked by :func:`check_finite`: an infinite or NaN value is never returned or
printed; it raises :class:`~tokenfab.errors.NonFiniteError` naming the field.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .errors import NonFiniteError, TokenfabError, ValidationError

MAX_COUNT = 10**12
SCENARIOS_VARIABLE = "TOKENFAB_MAX_SCENARIOS"
DEFAULT_MAX_SCENARIOS = 100_000


def max_scenarios() -> int:
    """Scenarios one backend may evaluate in one call (``TOKENFAB_MAX_SCENARIOS``)."""
    text = os.environ.get(SCENARIOS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_SCENARIOS
    if not text.isdigit() or int(text) < 1:
        raise ValidationError(f"{SCENARIOS_VARIABLE}: must be a positive integer, got {text!r}")
    return int(text)


def check_int(field: str, value: Any, low: int, high: int = MAX_COUNT) -> int:
    """``value`` as an int in ``[low, high]``: ints, numpy integers and integral floats pass;
    booleans, strings, fractions, NaN and infinities are errors naming ``field``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        try:
            ok = math.isfinite(value) and float(value).is_integer() and low <= value <= high
        except (OverflowError, TypeError, ValueError):
            ok = False
    if not ok:
        raise ValidationError(
            f"{field}: must be an integer >= {low}, got {value!r:.60} (at most {high:.0e})", field=field
        )
    return int(value)


def check_number(field: str, value: Any, low: float, high: float, *, low_inclusive: bool = True) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` unless ``low_inclusive``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        number = float(value)
        ok = math.isfinite(number) and (number >= low if low_inclusive else number > low) and number <= high
    if not ok:
        bracket = "[" if low_inclusive else "("
        raise ValidationError(
            f"{field}: must be a number in {bracket}{low:g}, {high:g}], got {value!r:.60}", field=field
        )
    return float(value)


def check_array(field: str, value: Any, low: int, high: int = MAX_COUNT) -> np.ndarray:
    """An integer count or array of them, as float64, each in ``[low, high]``."""
    if isinstance(value, (numbers.Real, np.generic)) and not isinstance(value, np.ndarray):
        return np.asarray(float(check_int(field, value, low, high)))
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "iuf" or raw.size > 10 * max_scenarios():
            raise TypeError(raw.dtype)
        arr = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(
            f"{field}: must be an integer >= {low} or an array of them, got {_show(value)}", field=field
        ) from None
    good = np.isfinite(arr) & (arr >= low) & (arr <= high) & (arr == np.floor(arr))
    if arr.size == 0 or not good.all():
        shown = arr[~good].flat[0] if arr.size else "an empty array"
        raise ValidationError(
            f"{field}: must be an integer >= {low} (or an array of them), got {shown!r} (at most {high:.0e})",
            field=field,
        )
    return arr


def check_flag(field: str, value: Any) -> bool:
    """``value`` as a bool: only ``True`` or ``False`` (a string such as ``"no"`` is truthy in Python)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{field}: must be true or false, got {value!r:.60}", field=field)
    return bool(value)


def check_type(field: str, value: Any, expected: type, what: str) -> Any:
    """``value`` unchanged if it is ``None`` or an ``expected``; else an error naming ``field``."""
    if value is not None and not isinstance(value, expected):
        raise ValidationError(f"{field}: expected {what} or None, got {type(value).__name__}", field=field)
    return value


def check_writable(field: str, path: str) -> str:
    """``path`` names a file in an existing folder: a folder, or a file in a missing one, is the
    user's error (one line naming ``field``), not an OSError after the work is done."""
    import pathlib

    target = pathlib.Path(path)
    if target.is_dir() or not target.parent.is_dir():
        where = "a folder" if target.is_dir() else f"in the missing folder {str(target.parent)!r}"
        raise ValidationError(
            f"{field}: must be a file in an existing folder, got {str(path)!r} ({where})", field=field
        )
    return path


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def broadcast(**arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Broadcast named arrays together; a shape mismatch or a grid over the scenario limit is
    an error naming the fields and their shapes."""
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{name} {np.shape(arr)}" for name, arr in arrays.items())
        raise ValidationError(
            f"{'/'.join(arrays)}: shapes do not broadcast together ({shapes})", field=next(iter(arrays))
        ) from None
    check_grid("scenarios", int(shaped[0].size) if shaped else 1)
    return tuple(shaped)


def check_grid(field: str, count: int) -> None:
    limit = max_scenarios()
    if count > limit:
        raise ValidationError(
            f"{field}: {count} scenarios exceed the limit of {limit} per backend "
            f"(split the grid, or raise {SCENARIOS_VARIABLE})",
            field=field,
        )


def check_context(model: Any, context: Any, tokens: Any) -> None:
    """``context + tokens`` of every scenario within the model's ``max_context``. To model
    longer contexts, pass a model with a larger ``max_context`` (the explicit override)."""
    longest = float(np.max(np.asarray(context, dtype=np.float64) + np.asarray(tokens, dtype=np.float64)))
    if longest > model.max_context:
        raise ValidationError(
            f"context: context + tokens must be <= the {model.max_context}-token context of {model.id}, "
            f"got {longest:.0f} (pass a model with a larger max_context to override)",
            field="context",
        )


def _non_finite_path(value: Any, path: str) -> str | None:
    if isinstance(value, (float, np.floating)):
        return None if math.isfinite(value) else path
    if isinstance(value, np.ndarray):
        return None if value.dtype.kind not in "fc" or np.isfinite(value).all() else path
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _non_finite_path(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _non_finite_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def check_finite(data: Any, what: str = "result") -> Any:
    """``data`` unchanged if every float in it (nested dicts, lists, arrays) is finite; else a
    :class:`NonFiniteError` naming the first bad field."""
    path = _non_finite_path(data, "")
    if path is not None:
        raise NonFiniteError(
            f"{path}: the {what} came out infinite or NaN (inputs beyond what float64 maths represents)", field=path
        )
    return data


def config_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a model-config parser so that a malformed config (wrong types, zero sizes,
    odd nesting) ends in one :class:`ValidationError` naming the config, never a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(config: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(config, Mapping):
            raise ValidationError(f"model: a config must be a JSON object, got {type(config).__name__}", field="model")
        check_config_types(config)
        try:
            return func(config, *args, **kwargs)
        except TokenfabError:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError) as exc:
            name = kwargs.get("model_id") or config.get("_name_or_path") or "custom"
            raise ValidationError(
                f"model config {str(name)!r}: malformed ({type(exc).__name__}: {exc})", field="model"
            ) from None

    return wrapper


# Keys a Hugging Face config holds as positive integers when present (None means absent).
POSITIVE_INT_KEYS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "sliding_window",
    "moe_intermediate_size",
    "num_experts_per_tok",
    "experts_per_token",
    "shared_expert_intermediate_size",
)
COUNT_KEYS = (
    "num_local_experts",
    "num_experts",
    "n_routed_experts",
    "n_shared_experts",
    "first_k_dense_replace",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "num_nextn_predict_layers",
)
_LIMIT = 10**9  # no real model dimension comes near this; keeps params and bytes finite
#: Most layers a model may have: 80x the deepest published LLM (Llama 3.1 405B, 126 layers); the
#: stage split and lowering walk the layers, so a billion of them would run for minutes.
MAX_LAYERS = 10_000
#: Attention kinds ``layer_types`` may name (Hugging Face's names for what tokenfab models).
LAYER_TYPES = ("full_attention", "sliding_attention", "chunked_attention")
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


def check_config_types(config: Mapping[str, Any]) -> None:
    """Types and ranges of the sizes a Hugging Face config gives, each error naming the key."""
    name = str(config.get("_name_or_path") or "custom").split("/")[-1]
    for key in POSITIVE_INT_KEYS + COUNT_KEYS:
        value = config.get(key)
        if value is None:
            continue
        low = 1 if key in POSITIVE_INT_KEYS else 0
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= _LIMIT:
            raise ValidationError(
                f"model config {name!r}: {key} must be an integer between {low} and {_LIMIT:.0e}, got {value!r:.40}",
                field=f"model.{key}",
            )
    types = config.get("layer_types")
    if types is not None and (not isinstance(types, list) or not all(isinstance(t, str) for t in types)):
        raise ValidationError(
            f"model config {name!r}: layer_types must be a list of strings, got {types!r:.40}",
            field="model.layer_types",
        )
    _check_shape(config, name)
    for key in ("tie_word_embeddings", "attention_bias", "use_sliding_window"):
        if config.get(key) is not None and not isinstance(config[key], bool):
            raise ValidationError(
                f"model config {name!r}: {key} must be true or false, got {config[key]!r:.40}", field=f"model.{key}"
            )


def _shape_error(name: str, key: str, message: str) -> ValidationError:
    return ValidationError(f"model config {name!r}: {key} {message}", field=f"model.{key}")


def _check_shape(config: Mapping[str, Any], name: str) -> None:
    """How the sizes fit together: layers within :data:`MAX_LAYERS`, heads dividing the width when
    no ``head_dim`` is given, experts for the routed ones, one known layer type per layer."""
    layers, heads, hidden = (config.get(k) for k in ("num_hidden_layers", "num_attention_heads", "hidden_size"))
    if layers is not None and layers > MAX_LAYERS:
        raise _shape_error(name, "num_hidden_layers", f"must be an integer between 1 and {MAX_LAYERS}, got {layers}")
    mla = bool(config.get("kv_lora_rank"))
    if heads and hidden and config.get("head_dim") is None and not mla and hidden % heads:
        raise _shape_error(
            name, "num_attention_heads", f"must divide hidden_size ({hidden}) when no head_dim is given, got {heads}"
        )
    top_k = config.get("num_experts_per_tok") or config.get("experts_per_token")
    for key in EXPERT_KEYS:
        experts = config.get(key)
        if experts == 0 and top_k:
            raise _shape_error(name, key, f"must be >= num_experts_per_tok ({top_k}) to route tokens, got 0")
    types = config.get("layer_types")
    if types:
        wrong = [t for t in types if t not in LAYER_TYPES]
        if wrong:
            raise _shape_error(name, "layer_types", f"entries must be among {', '.join(LAYER_TYPES)}, got {wrong[0]!r}")
        if layers is not None and len(types) != layers:
            raise _shape_error(name, "layer_types", f"must list one entry per layer ({layers}), got {len(types)}")
