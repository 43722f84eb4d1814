"""Input bounds (issue 12): every public entry point rejects bad arguments with a TokenfabError
that names the field, the value and the allowed range; no inf/NaN and no raw numpy error escape."""

import json
import math

import numpy as np
import pytest
import tokenfab
from tokenfab import bounds
from tokenfab.economics import Economics
from tokenfab.errors import NonFiniteError, TokenfabError

M, B = "llama-3.1-8b", "nvidia:h200"


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda: tokenfab.estimate(M, B, batch=True, input_tokens=10, output_tokens=10), "batch"),
        (lambda: tokenfab.estimate(M, B, batch=[1], input_tokens=10, output_tokens=10), "batch"),
        (lambda: tokenfab.estimate(M, B, batch="8", input_tokens=10, output_tokens=10), "batch"),
        (lambda: tokenfab.estimate(M, B, batch=10**400, input_tokens=10, output_tokens=10), "batch"),
        (lambda: tokenfab.estimate(M, B, batch=float("nan"), input_tokens=10, output_tokens=10), "batch"),
        (lambda: tokenfab.estimate(M, B, input_tokens=-5, output_tokens=10), "input_tokens"),
        (lambda: tokenfab.estimate(M, B, input_tokens=10.5, output_tokens=10), "input_tokens"),
        (lambda: tokenfab.estimate(M, B, input_tokens=10, output_tokens=0), "output_tokens"),
        (lambda: tokenfab.estimate(M, B, input_tokens=10**6, output_tokens=10), "input_tokens + output_tokens"),
        (lambda: tokenfab.prefill(M, B, tokens=10.5), "tokens"),
        (lambda: tokenfab.prefill(M, B, tokens=np.array([True, False])), "tokens"),
        (lambda: tokenfab.decode_step(M, B, batch=1e300, context=10), "batch"),
        (lambda: tokenfab.decode_step(M, B, batch=[[1, 2], [3]], context=1), "batch"),
        (lambda: tokenfab.decode_step(M, B, batch=[1, 2], context=[1, 2, 3]), "batch"),
        (lambda: tokenfab.decode_step(M, B, batch=1, context=10**7), "context"),
        (lambda: tokenfab.decode_step(M, B, batch=1, context=[]), "context"),
        (lambda: tokenfab.sweep(M, B, context=10**7), "context"),
        # lists span an outer product in a sweep's grid; 2-D axes broadcast, and these do not
        (lambda: tokenfab.sweep(M, B, batch=[[1, 2]], context=[[1, 2, 3]]), "batch"),
        (lambda: tokenfab.sweep(M, B, batch=-1), "batch"),
        (lambda: tokenfab.compare(M, B, batch=0, input_tokens=10, output_tokens=10), "batch"),
        (lambda: tokenfab.compare(M, [B, 3], input_tokens=10, output_tokens=10), "backends"),
        (lambda: tokenfab.get_backend(42), "backend"),
        (lambda: tokenfab.Speculative(draft=None), "speculative.draft"),
        (lambda: tokenfab.Speculative(draft="mtp", acceptance="high"), "speculative.acceptance"),
        (lambda: tokenfab.Speculative(draft="mtp", acceptance=1.5), "speculative.acceptance"),
        (lambda: tokenfab.Speculative(draft="mtp", tokens=True), "speculative.tokens"),
        (lambda: tokenfab.Speculative(draft="mtp", tokens=10**6), "speculative.tokens"),
        (lambda: Economics(pue="x"), "pue"),
        (lambda: Economics(usd_per_kwh=10**400), "usd_per_kwh"),
        (lambda: tokenfab.load_model(42), "model"),
    ],
)
def test_bad_arguments_raise_tokenfab_errors_naming_the_field(call, field):
    with pytest.raises(TokenfabError) as info:
        call()
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_every_error_class_is_exported_and_derives_from_tokenfab_error():
    for name in ("ValidationError", "UnknownIdError", "FitError", "UnsupportedPrecisionError", "NonFiniteError"):
        assert issubclass(getattr(tokenfab, name), tokenfab.TokenfabError)
    assert tokenfab.FitError("x does not fit").field == "memory"
    assert tokenfab.ValidationError("tp: must be <= 8, got 16").field == "tp"
    assert tokenfab.ValidationError("Device 'a:b': year must be between 1950 and 2100").field == "year"


def test_grid_over_the_scenario_limit_is_refused_before_any_work(monkeypatch):
    monkeypatch.setenv("TOKENFAB_MAX_SCENARIOS", "1000")
    # 3000 x 3000 = 9e6 scenarios used to allocate ~1 GB per array and die with MemoryError
    with pytest.raises(tokenfab.ValidationError, match="9000000 scenarios exceed the limit of 1000") as info:
        tokenfab.sweep(M, B, batch=np.arange(1, 3001)[:, None], context=np.arange(1, 3001)[None, :])
    assert info.value.field == "scenarios"
    assert len(tokenfab.sweep(M, B, batch=[1, 2], context=[[1], [2]]).rows) == 4  # 2 x 2 is fine


def test_context_override_is_a_model_with_a_larger_max_context():
    from tokenfab.catalog import CATALOG

    longer = {**CATALOG[M], "max_position_embeddings": 10**6}
    step = tokenfab.decode_step(longer, B, batch=1, context=500_000)
    assert step.seconds > 0


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1.0, "b": [1.0, float("inf")]},
        {"rows": [{"x": np.array([1.0, np.nan])}]},
        float("-inf"),
    ],
)
def test_non_finite_values_are_found_and_named(data):
    with pytest.raises(NonFiniteError):
        bounds.check_finite(data)


def test_no_non_finite_figure_can_leave_an_estimate():
    est = tokenfab.estimate(M, B, input_tokens=100, output_tokens=10)
    assert all(math.isfinite(v) for v in est.to_dict().values() if isinstance(v, float))
    import attrs

    with pytest.raises(NonFiniteError, match="tpot_s"):
        attrs.evolve(est, tpot_s=float("inf"))


def test_json_output_refuses_nan(capsys):
    from tokenfab.cli._common import print_json

    with pytest.raises(NonFiniteError, match="rows\\[0\\].seconds"):
        print_json({"rows": [{"seconds": float("nan")}]})
    print_json({"ok": 1.5})
    assert json.loads(capsys.readouterr().out) == {"ok": 1.5}


# -- Hugging Face configs ------------------------------------------------------------------------

BASE = {
    "model_type": "llama",
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "intermediate_size": 14336,
    "vocab_size": 128256,
}


@pytest.mark.parametrize(
    "text,field",
    [
        (json.dumps({**BASE, "hidden_size": "4096"}), "model.hidden_size"),
        (json.dumps({**BASE, "num_attention_heads": 0}), "model.num_attention_heads"),
        (json.dumps({**BASE, "num_attention_heads": 32.5}), "model.num_attention_heads"),
        (json.dumps({**BASE, "num_hidden_layers": True}), "model.num_hidden_layers"),
        (json.dumps({**BASE, "max_position_embeddings": "lots"}), "model.max_position_embeddings"),
        (json.dumps({**BASE, "layer_types": 3, "sliding_window": 4}), "model.layer_types"),
        (json.dumps({**BASE, "num_key_value_heads": 0}), "model.num_key_value_heads"),
        (json.dumps({**BASE, "num_local_experts": "8", "num_experts_per_tok": 2}), "model.num_local_experts"),
        (json.dumps({**BASE, "tie_word_embeddings": "yes"}), "model.tie_word_embeddings"),
        (json.dumps({**BASE, "hidden_size": float("nan")}), "model.hidden_size"),
        (json.dumps({k: v for k, v in BASE.items() if k != "num_hidden_layers"}), "model.num_hidden_layers"),
        ("{not json", "model"),
        ("[1, 2]", "model"),
        ("", "model"),
        ("[" * 100000, "model"),
        (b"\xff\xfe\x00garbage", "model"),
    ],
)
def test_malformed_config_json_is_one_line_error(tmp_path, text, field):
    path = tmp_path / "config.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(tokenfab.ValidationError) as info:
        tokenfab.load_model(str(path))
    assert info.value.field == field and "\n" not in str(info.value)


def test_every_catalog_config_passes_the_type_checks():
    from tokenfab.catalog import CATALOG

    for config in CATALOG.values():
        bounds.check_config_types(config)
