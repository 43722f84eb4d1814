"""Model descriptions: decoder-only transformers, dense or mixture-of-experts, with GQA/MQA or
MLA attention and optional sliding-window layers; from the catalog, a Hugging Face
``config.json`` path, or a dict in the same format."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from ..bounds import config_errors
from ..errors import UnknownIdError, ValidationError
from ..hardware.protocol import PRECISION_BITS

#: model_type values whose config this loader understands.
SUPPORTED_MODEL_TYPES = (
    "llama",
    "llama4",
    "llama4_text",
    "mistral",
    "mistral3",
    "mixtral",
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "gemma2",
    "gemma3",
    "gemma3_text",
    "phi3",
    "cohere",
    "deepseek_v2",
    "deepseek_v3",
    "gpt_oss",
)

# Keys of Hugging Face configs that do not change FLOPs or bytes (training, tokenizer, numerics,
# positional-encoding details) or that the loader reads. Any other key is an error naming it, so a
# feature tokenfab does not model is never silently ignored; pass strict=False to skip the check.
_KNOWN_KEYS = frozenset(
    """
_name_or_path _source architectures model_type torch_dtype dtype transformers_version use_cache auto_map
bos_token_id eos_token_id pad_token_id initializer_range rms_norm_eps layer_norm_eps norm_eps attention_dropout
hidden_dropout dropout mlp_bias attention_bias hidden_act rope_theta rope_scaling rope_parameters pretraining_tp
tie_word_embeddings vocab_size hidden_size intermediate_size num_hidden_layers num_attention_heads
num_key_value_heads head_dim max_position_embeddings max_window_layers sliding_window use_sliding_window
layer_types quantization_config output_router_logits router_aux_loss_coef router_jitter_noise
num_local_experts num_experts num_experts_per_tok moe_intermediate_size shared_expert_intermediate_size
decoder_sparse_step mlp_only_layers norm_topk_prob n_routed_experts n_shared_experts first_k_dense_replace
moe_layer_freq routed_scaling_factor topk_method topk_group n_group scoring_func aux_loss_alpha seq_aux
ep_size num_nextn_predict_layers q_lora_rank kv_lora_rank qk_rope_head_dim qk_nope_head_dim v_head_dim
experts_per_token initial_context_length swiglu_limit rope_interleave use_qk_norm qk_layernorm
bias_act attention_chunk_size tie_embeddings_and_encoder_decoder
""".split()
)


def _positive_int(owner: str):
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationError(f"{owner} {instance.id!r}: {attribute.name} must be an integer >= 1, got {value!r}")

    return check


def _non_negative_int(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"Model {instance.id!r}: {attribute.name} must be an integer >= 0, got {value!r}")


_pos = _positive_int("Model")


@attrs.frozen(kw_only=True)
class Model:
    """A decoder-only transformer.

    Attention: GQA/MQA (``num_kv_heads``) or, when ``kv_lora_rank > 0``, DeepSeek's multi-head
    latent attention (MLA): the cache holds ``kv_lora_rank + qk_rope_head_dim`` elements per token
    per layer, shared by all heads. ``sliding_window`` applies to ``sliding_layers`` of the
    layers (all of them by default); the rest attend to the full context.

    MLP: dense (``intermediate_size``, gated or not) or mixture-of-experts when ``num_experts > 0``:
    ``experts_per_token`` routed experts of width ``moe_intermediate_size`` out of ``num_experts``,
    plus ``num_shared_experts`` always-active experts, in every layer after the first
    ``first_dense_layers`` (which use the dense MLP). ``mtp_layers`` extra layers predict further
    tokens (DeepSeek-V3's multi-token prediction); they are not counted in ``params``.
    ``weight_precision`` is the format the checkpoint ships in (``fp8`` for DeepSeek-V3's block-scaled
    FP8, ``mxfp4`` for gpt-oss), the default weight precision of a deployment.
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
    sliding_layers: int | None = None
    # mixture of experts
    num_experts: int = attrs.field(default=0, validator=_non_negative_int)
    experts_per_token: int = attrs.field(default=0, validator=_non_negative_int)
    moe_intermediate_size: int = attrs.field(default=0, validator=_non_negative_int)
    num_shared_experts: int = attrs.field(default=0, validator=_non_negative_int)
    first_dense_layers: int = attrs.field(default=0, validator=_non_negative_int)
    # multi-head latent attention
    kv_lora_rank: int = attrs.field(default=0, validator=_non_negative_int)
    q_lora_rank: int = attrs.field(default=0, validator=_non_negative_int)
    qk_nope_head_dim: int = attrs.field(default=0, validator=_non_negative_int)
    qk_rope_head_dim: int = attrs.field(default=0, validator=_non_negative_int)
    v_head_dim: int = attrs.field(default=0, validator=_non_negative_int)
    mtp_layers: int = attrs.field(default=0, validator=_non_negative_int)
    weight_precision: str | None = None  # the checkpoint's format (quantization_config); default for weights
    source: str = ""

    def __attrs_post_init__(self) -> None:
        owner = f"Model {self.id!r}"
        if not self.is_mla and self.num_heads % self.num_kv_heads:
            raise ValidationError(
                f"{owner}: num_heads ({self.num_heads}) must be a multiple of num_kv_heads ({self.num_kv_heads})"
            )
        if self.sliding_window is not None and self.sliding_window < 1:
            raise ValidationError(f"{owner}: sliding_window must be >= 1 or None, got {self.sliding_window}")
        if self.sliding_layers is not None and not 0 <= self.sliding_layers <= self.num_layers:
            raise ValidationError(
                f"{owner}: sliding_layers must be between 0 and num_layers ({self.num_layers}), "
                f"got {self.sliding_layers}"
            )
        if self.num_experts:
            if not 1 <= self.experts_per_token <= self.num_experts:
                raise ValidationError(
                    f"{owner}: experts_per_token must be between 1 and num_experts "
                    f"({self.num_experts}), got {self.experts_per_token}"
                )
            if self.moe_intermediate_size < 1:
                raise ValidationError(f"{owner}: moe_intermediate_size must be >= 1 for a MoE model")
            if self.first_dense_layers >= self.num_layers:
                raise ValidationError(f"{owner}: first_dense_layers must be < num_layers ({self.num_layers})")
        if self.weight_precision is not None and self.weight_precision not in PRECISION_BITS:
            raise ValidationError(
                f"{owner}: weight_precision must be one of {', '.join(PRECISION_BITS)}, got {self.weight_precision!r}"
            )
        if self.is_mla and (self.qk_rope_head_dim < 1 or self.qk_nope_head_dim < 1 or self.v_head_dim < 1):
            raise ValidationError(f"{owner}: MLA needs qk_rope_head_dim, qk_nope_head_dim and v_head_dim >= 1")

    # -- structure ------------------------------------------------------------------------------
    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def moe_layers(self) -> int:
        return self.num_layers - self.first_dense_layers if self.is_moe else 0

    @property
    def dense_layers(self) -> int:
        return self.num_layers - self.moe_layers

    @property
    def window_layers(self) -> int:
        """Layers that attend within ``sliding_window`` (0 without a window)."""
        if self.sliding_window is None:
            return 0
        return self.num_layers if self.sliding_layers is None else self.sliding_layers

    # -- parameter counts (elements) ------------------------------------------------------------
    @property
    def attention_params(self) -> int:
        """Projections of one layer. GQA: q, k, v, o (+ q/k/v biases). MLA: q (or q_a, q_b),
        kv_a (to the latent and the rope key), kv_b (latent up-projection to k_nope and v), o."""
        d, h = self.hidden_size, self.num_heads
        if self.is_mla:
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            q = d * self.q_lora_rank + self.q_lora_rank * h * qk if self.q_lora_rank else d * h * qk
            kv_a = d * (self.kv_lora_rank + self.qk_rope_head_dim)
            kv_b = self.kv_lora_rank * h * (self.qk_nope_head_dim + self.v_head_dim)
            return q + kv_a + kv_b + h * self.v_head_dim * d
        q = d * h * self.head_dim
        kv = 2 * d * self.num_kv_heads * self.head_dim
        o = h * self.head_dim * d
        bias = (h + 2 * self.num_kv_heads) * self.head_dim if self.attention_bias else 0
        return q + kv + o + bias

    @property
    def dense_mlp_params(self) -> int:
        return (3 if self.gated_mlp else 2) * self.hidden_size * self.intermediate_size

    @property
    def expert_params(self) -> int:
        """One routed (or shared) expert: gated, width ``moe_intermediate_size``."""
        return 3 * self.hidden_size * self.moe_intermediate_size

    @property
    def moe_params(self) -> int:
        """Router, all routed experts and the shared experts of one MoE layer."""
        return (
            self.hidden_size * self.num_experts
            + self.num_experts * self.expert_params
            + self.num_shared_experts * self.expert_params
        )

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def lm_head_params(self) -> int:
        return 0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size

    @property
    def params(self) -> int:
        """Total parameters (main model; MTP layers excluded): layers, embedding, head, final norm."""
        layers = (
            self.num_layers * (self.attention_params + 2 * self.hidden_size)
            + self.dense_layers * self.dense_mlp_params
            + self.moe_layers * self.moe_params
        )
        return layers + self.embedding_params + self.lm_head_params + self.hidden_size

    @property
    def active_params(self) -> int:
        """Parameters one token uses: routed experts count ``experts_per_token`` of them."""
        inactive = self.moe_layers * (self.num_experts - self.experts_per_token) * self.expert_params
        return self.params - inactive

    def kv_elements_per_token(self) -> int:
        """KV-cache elements per token over all layers: ``2 * kv_heads * head_dim`` per layer,
        or ``kv_lora_rank + qk_rope_head_dim`` per layer for MLA."""
        if self.is_mla:
            return self.num_layers * (self.kv_lora_rank + self.qk_rope_head_dim)
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim

    def draft(self) -> Model:
        """The multi-token-prediction module as a draft model: ``mtp_layers`` layers of this model."""
        if not self.mtp_layers:
            raise ValidationError(f"Model {self.id!r} has no multi-token-prediction layers (mtp_layers = 0)")
        return attrs.evolve(
            self,
            id=f"{self.id}-mtp",
            num_layers=self.mtp_layers,
            first_dense_layers=min(self.first_dense_layers, self.mtp_layers - 1),
            mtp_layers=0,
            sliding_layers=None if self.sliding_layers is None else 0,
        )


#: Model types whose ``config.json`` nests the language model under ``text_config`` (multimodal).
_NESTED_TEXT = {"llama4": "llama4_text", "gemma3": "gemma3_text", "mistral3": "mistral"}
#: Families whose configs omit ``tie_word_embeddings`` because their classes default it to True.
_TIED_BY_DEFAULT = ("gemma2", "gemma3_text", "cohere")
#: Families that apply ``sliding_window`` to every layer unless ``use_sliding_window`` says otherwise.
_WINDOW_EVERY_LAYER = ("mistral", "mixtral", "phi3")
#: ``quantization_config.quant_method`` -> the precision the checkpoint's weights ship in.
_QUANT_METHODS = {"fp8": "fp8", "mxfp4": "mxfp4", "nvfp4": "nvfp4", "fbgemm_fp8": "fp8", "compressed-tensors": None}


def _text_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The language model's config: multimodal configs (Llama 4, Gemma 3) nest it under
    ``text_config``; the top level's ``quantization_config`` applies to it."""
    model_type = cfg.get("model_type")
    if model_type in _NESTED_TEXT and isinstance(cfg.get("text_config"), Mapping):
        text = {**cfg["text_config"], "model_type": _NESTED_TEXT[model_type]}
        for key in ("quantization_config", "_name_or_path", "_source", "tie_word_embeddings"):
            if key in cfg and key not in text:
                text[key] = cfg[key]
        return text
    return cfg


def _window_layers(cfg: Mapping[str, Any], model_type: str, layers: int) -> tuple[int | None, int | None]:
    """(sliding_window, layers that use it). ``layer_types`` wins when present; Gemma 2
    alternates (even layers slide), Gemma 3 slides on all but every ``sliding_window_pattern``-th
    layer, Llama 4 attends in chunks of ``attention_chunk_size`` on its RoPE layers (3 of 4),
    modelled as a window of that size; Mistral, Mixtral and Phi-3 slide on every layer."""
    window = cfg.get("sliding_window")
    if cfg.get("layer_types"):
        sliding = sum(1 for kind in cfg["layer_types"] if kind in ("sliding_attention", "chunked_attention"))
        return (window or cfg.get("attention_chunk_size")) if sliding else None, sliding
    if model_type == "llama4_text" and cfg.get("attention_chunk_size"):
        flags = cfg.get("no_rope_layers") or [int((i + 1) % 4 != 0) for i in range(layers)]
        return cfg["attention_chunk_size"], sum(1 for flag in flags[:layers] if flag)
    if not window or window >= int(cfg.get("max_position_embeddings") or window + 1):
        return None, None
    if model_type == "gemma2":
        return window, (layers + 1) // 2
    if model_type == "gemma3_text":
        return window, layers - layers // int(cfg.get("sliding_window_pattern") or 6)
    if cfg.get("use_sliding_window", model_type in _WINDOW_EVERY_LAYER):
        return window, None
    return None, None


def _experts(cfg: Mapping[str, Any], model_type: str, layers: int, need: Any) -> dict[str, Any]:
    """Mixture-of-experts fields. Llama 4: ``intermediate_size`` is the expert width and
    ``intermediate_size_mlp`` the dense layers' width; one shared expert per MoE layer, and every
    ``interleave_moe_layer_step``-th layer is MoE (the dense ones are counted as leading layers:
    same parameters and work)."""
    experts = cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts") or 0
    if not experts:
        return {}
    top_k = cfg.get("num_experts_per_tok") or cfg.get("experts_per_token") or need("num_experts_per_tok")
    fields: dict[str, Any] = dict(
        num_experts=experts,
        experts_per_token=top_k,
        moe_intermediate_size=cfg.get("moe_intermediate_size") or need("intermediate_size"),
        num_shared_experts=cfg.get("n_shared_experts") or 0,
        first_dense_layers=cfg.get("first_k_dense_replace") or 0,
    )
    if model_type == "llama4_text":
        step = int(cfg.get("interleave_moe_layer_step") or 1)
        fields.update(num_shared_experts=1, first_dense_layers=layers - layers // step)
        fields["intermediate_size"] = cfg.get("intermediate_size_mlp") or need("intermediate_size")
    if cfg.get("shared_expert_intermediate_size"):  # Qwen2-MoE style shared expert of its own width
        fields["num_shared_experts"] = max(
            1, round(cfg["shared_expert_intermediate_size"] / fields["moe_intermediate_size"])
        )
    return fields


def weight_precision_of(cfg: Mapping[str, Any]) -> str | None:
    """The weights' precision from ``quantization_config`` (``None``: unquantised or unknown):
    fp8 block scaling (DeepSeek-V3/R1) -> ``fp8``; ``mxfp4`` (gpt-oss) -> ``mxfp4``. Modules left
    unconverted (gpt-oss keeps attention in bf16) are not tracked: the whole model takes the format."""
    quant = cfg.get("quantization_config")
    if not isinstance(quant, Mapping):
        return None
    method = str(quant.get("quant_method", "")).lower()
    if method in _QUANT_METHODS:
        return _QUANT_METHODS[method]
    bits = quant.get("bits") or quant.get("w_bit")
    return {4: "int4", 8: "int8"}.get(bits) if method in ("gptq", "awq", "bitsandbytes") else None


@config_errors
def model_from_config(
    config: Mapping[str, Any], *, model_id: str | None = None, source: str = "", strict: bool = False
) -> Model:
    """Build a :class:`Model` from a Hugging Face ``config.json`` dict.

    Keys that do not change FLOPs or bytes are ignored (``strict=True`` refuses keys outside
    :data:`_KNOWN_KEYS` instead); a missing required key is a one-line error naming it."""
    cfg = _text_config(dict(config))
    name = model_id or str(cfg.get("_name_or_path") or cfg.get("name") or "custom").split("/")[-1].lower()
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValidationError(
            f"model config {name!r}: model_type must be one of {', '.join(SUPPORTED_MODEL_TYPES)}, got {model_type!r}"
        )
    if strict:
        unknown = sorted(set(cfg) - _KNOWN_KEYS)
        if unknown:
            raise ValidationError(
                f"model config {name!r}: unknown key {unknown[0]!r} (tokenfab does not know what it "
                f"changes; pass strict=False to ignore unknown keys)"
            )

    def need(key: str) -> Any:
        if cfg.get(key) is None:
            raise ValidationError(f"model config {name!r}: missing required key {key!r}")
        return cfg[key]

    hidden, heads, layers = need("hidden_size"), need("num_attention_heads"), need("num_hidden_layers")
    window, sliding = _window_layers(cfg, model_type, layers)
    fields: dict[str, Any] = dict(
        id=name,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=cfg.get("num_key_value_heads") or heads,
        head_dim=cfg.get("head_dim") or hidden // heads,
        intermediate_size=need("intermediate_size"),
        vocab_size=need("vocab_size"),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", model_type in _TIED_BY_DEFAULT)),
        gated_mlp=True,  # every supported family uses a gated (SwiGLU / GeGLU) MLP
        attention_bias=bool(cfg.get("attention_bias", model_type in ("qwen2", "gpt_oss"))),
        max_context=int(cfg.get("max_position_embeddings") or 131072),
        sliding_window=window,
        sliding_layers=sliding,
        weight_precision=weight_precision_of(cfg),
        source=source or str(cfg.get("_source", "")),
    )
    fields.update(_experts(cfg, model_type, layers, need))
    if cfg.get("kv_lora_rank"):  # multi-head latent attention
        fields.update(
            kv_lora_rank=cfg["kv_lora_rank"],
            q_lora_rank=cfg.get("q_lora_rank") or 0,
            qk_nope_head_dim=need("qk_nope_head_dim"),
            qk_rope_head_dim=need("qk_rope_head_dim"),
            v_head_dim=need("v_head_dim"),
            head_dim=need("qk_nope_head_dim") + need("qk_rope_head_dim"),
            num_kv_heads=heads,
        )
    fields["mtp_layers"] = cfg.get("num_nextn_predict_layers") or 0
    return Model(**fields)


def _read_config(path: str) -> dict[str, Any]:
    import json  # only a config.json path needs it (start-up)

    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ValidationError(f"model: cannot read {path!r} as JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValidationError(f"model: {path!r} must hold a JSON object")
    return config


def _looks_like_path(spec: str) -> bool:
    return os.sep in spec or "/" in spec or spec.endswith(".json") or spec.startswith(".")


def load_model(
    spec: str | Mapping[str, Any] | Model, *, catalog: Mapping[str, Any] | None = None, strict: bool = False
) -> Model:
    """A model from a catalog id, a path to a Hugging Face ``config.json`` (or a directory
    holding one), or a dict. A path that does not exist is ``no such file``, not an unknown id."""
    if isinstance(spec, Model):
        return spec
    if isinstance(spec, Mapping):
        return model_from_config(spec, strict=strict)
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
        config = _read_config(path)
        default_id = os.path.basename(os.path.dirname(os.path.abspath(path))).lower() or "custom"
        model_id = str(config.get("_name_or_path") or default_id).split("/")[-1].lower()
        return model_from_config(config, model_id=model_id, source=path, strict=strict)
    if os.path.isdir(spec) or _looks_like_path(spec):
        raise ValidationError(f"model: no such file {path!r} (give a config.json, a folder holding one, or a model id)")
    raise UnknownIdError("model", spec, list(catalog))
