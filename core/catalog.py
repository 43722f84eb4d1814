"""Built-in model catalog: Hugging Face ``config.json`` fields, copied from each model's
repository (URL in ``_source``), loaded through the same parser as a user's config file."""

from __future__ import annotations

from typing import Any

_LLAMA3 = {
    "model_type": "llama",
    "vocab_size": 128256,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
    "max_position_embeddings": 131072,
}

CATALOG: dict[str, dict[str, Any]] = {
    "llama-3.1-8b": {
        **_LLAMA3,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "_source": "https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json",
    },
    "llama-3.1-70b": {
        **_LLAMA3,
        "hidden_size": 8192,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "intermediate_size": 28672,
        "_source": "https://huggingface.co/meta-llama/Llama-3.1-70B/blob/main/config.json",
    },
    "llama-3.3-70b": {
        **_LLAMA3,
        "hidden_size": 8192,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "intermediate_size": 28672,
        "_source": "https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct/blob/main/config.json",
    },
    "llama-3.1-405b": {
        **_LLAMA3,
        "hidden_size": 16384,
        "num_hidden_layers": 126,
        "num_attention_heads": 128,
        "num_key_value_heads": 8,
        "intermediate_size": 53248,
        "_source": "https://huggingface.co/meta-llama/Llama-3.1-405B/blob/main/config.json",
    },
    "llama-3.2-1b": {
        **_LLAMA3,
        "hidden_size": 2048,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 8192,
        "head_dim": 64,
        "tie_word_embeddings": True,
        "_source": "https://huggingface.co/meta-llama/Llama-3.2-1B/blob/main/config.json",
    },
    "llama-3.2-3b": {
        **_LLAMA3,
        "hidden_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 24,
        "num_key_value_heads": 8,
        "intermediate_size": 8192,
        "head_dim": 128,
        "tie_word_embeddings": True,
        "_source": "https://huggingface.co/meta-llama/Llama-3.2-3B/blob/main/config.json",
    },
    "llama-2-7b": {
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "intermediate_size": 11008,
        "max_position_embeddings": 4096,
        "hidden_act": "silu",
        "_source": "https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json",
    },
    "llama-2-70b": {
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 8192,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "intermediate_size": 28672,
        "max_position_embeddings": 4096,
        "hidden_act": "silu",
        "_source": "https://huggingface.co/meta-llama/Llama-2-70b-hf/blob/main/config.json",
    },
    "mistral-7b": {
        "model_type": "mistral",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "max_position_embeddings": 32768,
        "sliding_window": 4096,
        "hidden_act": "silu",
        "_source": "https://huggingface.co/mistralai/Mistral-7B-v0.1/blob/main/config.json",
    },
    "qwen2.5-7b": {
        "model_type": "qwen2",
        "vocab_size": 152064,
        "hidden_size": 3584,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "intermediate_size": 18944,
        "max_position_embeddings": 131072,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "use_sliding_window": False,
        "_source": "https://huggingface.co/Qwen/Qwen2.5-7B/blob/main/config.json",
    },
    "qwen2.5-72b": {
        "model_type": "qwen2",
        "vocab_size": 152064,
        "hidden_size": 8192,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "intermediate_size": 29568,
        "max_position_embeddings": 131072,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "use_sliding_window": False,
        "_source": "https://huggingface.co/Qwen/Qwen2.5-72B/blob/main/config.json",
    },
}


def all_models() -> dict[str, Any]:
    """Built-in catalog plus models contributed by packs (a pack may not shadow a built-in id)."""
    from .registry import collect_models, default_registry

    models: dict[str, Any] = dict(CATALOG)
    for key, value in collect_models(default_registry()).items():
        models.setdefault(key, value)
    return models
