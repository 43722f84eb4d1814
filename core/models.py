"""Model descriptions: a dense decoder-only transformer, from the catalog, a Hugging Face
``config.json`` path, or a dict in the same format."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import UnknownIdError, ValidationError

#: model_type values whose config this loader understands (dense decoder-only transformers).
SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
#: Config keys that describe features the lowering would silently get wrong if ignored.
_UNSUPPORTED_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "kv_lora_rank", "moe_intermediate_size")


def _positive_int(owner: str):
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationError(f"{owner} {instance.id!r}: {attribute.name} must be an integer >= 1, got {value!r}")

    return check


_pos = _positive_int("Model")


@attrs.frozen(kw_only=True)
class Model:
    """A dense decoder-only transformer (GQA/MQA attention, gated or plain MLP).

    ``head_dim`` defaults to ``hidden_size // num_heads``; ``sliding_window`` limits the
    context every layer attends to (None = full attention).
    """

    id: str
    hidden_size: int = attrs.field(validator=_pos)
    num_layers: int = attrs.field(validator=_pos)
    num_heads: int = attrs.field(validator=_pos)
    num_kv_heads: int = attrs.field(validator=_pos)
    head_dim: int = attrs.field(validator=_pos)
    intermediate_size: int = attrs.field(validator=_pos)
    vocab_size: int = attrs.field(validator=_pos)
    tie_word_embeddings: bool = False
    gated_mlp: bool = True
    attention_bias: bool = False
    max_context: int = attrs.field(default=131072, validator=_pos)
    sliding_window: int | None = None
    source: str = ""

    def __attrs_post_init__(self) -> None:
        if self.num_heads % self.num_kv_heads:
            raise ValidationError(
                f"Model {self.id!r}: num_heads ({self.num_heads}) must be a multiple of "
                f"num_kv_heads ({self.num_kv_heads})"
            )
        if self.sliding_window is not None and self.sliding_window < 1:
            raise ValidationError(f"Model {self.id!r}: sliding_window must be >= 1 or None, got {self.sliding_window}")

    # -- parameter counts (elements) --------------------------------------------------------
    @property
    def attention_params(self) -> int:
        """q, k, v and o projections of one layer (plus biases on q, k, v if present)."""
        q = self.hidden_size * self.num_heads * self.head_dim
        kv = 2 * self.hidden_size * self.num_kv_heads * self.head_dim
        o = self.num_heads * self.head_dim * self.hidden_size
        bias = (self.num_heads + 2 * self.num_kv_heads) * self.head_dim if self.attention_bias else 0
        return q + kv + o + bias

    @property
    def mlp_params(self) -> int:
        return (3 if self.gated_mlp else 2) * self.hidden_size * self.intermediate_size

    @property
    def layer_params(self) -> int:
        return self.attention_params + self.mlp_params + 2 * self.hidden_size  # two RMSNorm weights

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def lm_head_params(self) -> int:
        return 0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size

    @property
    def params(self) -> int:
        """Total parameters: layers, embedding, untied LM head and the final norm."""
        return self.num_layers * self.layer_params + self.embedding_params + self.lm_head_params + self.hidden_size

    @property
    def active_params(self) -> int:
        return self.params

    def kv_elements_per_token(self) -> int:
        """K and V elements stored per token over all layers: 2 * layers * kv_heads * head_dim."""
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim


def model_from_config(config: Mapping[str, Any], *, model_id: str | None = None, source: str = "") -> Model:
    """Build a :class:`Model` from a Hugging Face ``config.json`` dict."""
    cfg = dict(config)
    name = model_id or str(cfg.get("_name_or_path") or cfg.get("name") or "custom").split("/")[-1].lower()
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValidationError(
            f"model config {name!r}: model_type must be one of {', '.join(SUPPORTED_MODEL_TYPES)}, got {model_type!r}"
        )
    for key in _UNSUPPORTED_KEYS:
        if cfg.get(key):
            raise ValidationError(
                f"model config {name!r}: key {key!r} (mixture-of-experts / MLA) is not "
                f"supported for model_type {model_type!r} yet"
            )

    def need(key: str) -> Any:
        if key not in cfg:
            raise ValidationError(f"model config {name!r}: missing required key {key!r}")
        return cfg[key]

    hidden, heads = need("hidden_size"), need("num_attention_heads")
    window = cfg.get("sliding_window") if cfg.get("use_sliding_window", model_type == "mistral") else None
    return Model(
        id=name,
        hidden_size=hidden,
        num_layers=need("num_hidden_layers"),
        num_heads=heads,
        num_kv_heads=cfg.get("num_key_value_heads") or heads,
        head_dim=cfg.get("head_dim") or hidden // heads,
        intermediate_size=need("intermediate_size"),
        vocab_size=need("vocab_size"),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        gated_mlp=cfg.get("hidden_act", "silu") in ("silu", "swiglu", "gelu_pytorch_tanh") or model_type == "llama",
        attention_bias=bool(cfg.get("attention_bias", model_type == "qwen2")),
        max_context=int(cfg.get("max_position_embeddings", 131072)),
        sliding_window=window,
        source=source or str(cfg.get("_source", "")),
    )


def load_model(spec: str | Mapping[str, Any] | Model, *, catalog: Mapping[str, Any] | None = None) -> Model:
    """A model from a catalog id, a path to a Hugging Face ``config.json`` (or its folder), or a dict."""
    if isinstance(spec, Model):
        return spec
    if isinstance(spec, Mapping):
        return model_from_config(spec)
    if not isinstance(spec, str):
        raise ValidationError(f"model: expected an id, a config.json path or a dict, got {type(spec).__name__}")
    if catalog is None:
        from .catalog import all_models

        catalog = all_models()
    key = spec.strip().lower()
    if key in catalog:
        entry = catalog[key]
        return entry if isinstance(entry, Model) else model_from_config(entry, model_id=key)
    path = os.path.join(spec, "config.json") if os.path.isdir(spec) else spec
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as handle:
                config = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(f"model: cannot read {path!r} as JSON: {exc}") from None
        if not isinstance(config, dict):
            raise ValidationError(f"model: {path!r} must hold a JSON object")
        default_id = os.path.basename(os.path.dirname(os.path.abspath(path))).lower() or "custom"
        return model_from_config(
            config, model_id=config.get("_name_or_path", default_id).split("/")[-1].lower(), source=path
        )
    raise UnknownIdError("model", spec, list(catalog))
