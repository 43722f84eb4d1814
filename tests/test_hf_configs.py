"""Real Hugging Face config.json files (tests/data/hf, sources in SOURCES.md) load with the right
structure and a parameter count within 1% of the published total."""

import json
import pathlib

import attrs
import pytest
import tokenfab
from tokenfab.cli import main

HF = pathlib.Path(__file__).parent / "data" / "hf"

#: folder -> (published total parameters, source of that figure: model card or HF repository page)
PUBLISHED = {
    "llama-2-7b": 6.74e9,  # HF page: 6.74B
    "llama-2-70b": 69.0e9,  # HF page: 69B
    "llama-3.1-8b": 8.03e9,  # HF page: 8.03B
    "llama-3.1-70b": 70.6e9,  # HF page: 70.6B
    "llama-3.3-70b": 70.6e9,  # HF page: 70.6B
    "llama-4-maverick": 400e9,  # model card: 400B total, 17B active
    "mistral-7b": 7.24e9,  # HF page: 7.24B
    "mixtral-8x7b": 46.7e9,  # HF page: 46.7B
    "qwen2-7b": 7.62e9,  # HF page: 7.62B
    "qwen2.5-7b": 7.61e9,  # model card: 7.61B
    "qwen3-8b": 8.2e9,  # model card: 8.2B
    "qwen3-30b-a3b": 30.5e9,  # model card: 30.5B total, 3.3B active
    "gemma-2-9b": 9.24e9,  # HF page: 9.24B
    "gemma-2-27b": 27.2e9,  # HF page: 27.2B
    "gemma-3-1b": 1.00e9,  # HF page: 1.00B
    "phi-3.5-mini": 3.82e9,  # HF page: 3.82B
    "phi-4-mini": 3.84e9,  # HF page: 3.84B
    "aya-23-8b": 8.03e9,  # HF page: 8.03B (Command-R architecture)
    "deepseek-v2-lite": 15.7e9,  # model card: 15.7B total
    "deepseek-v2.5": 236e9,  # model card: 236B total, 21B active
    "deepseek-r1": 671e9,  # model card: 671B total (685B on the HF page includes the 14B MTP module)
    "gpt-oss-20b": 20.9e9,  # HF page: 20.9B
    "gpt-oss-120b": 116.8e9,  # HF page: 116.8B
}
#: folder -> published active parameters per token, where the card gives one
ACTIVE = {"llama-4-maverick": 17e9, "qwen3-30b-a3b": 3.3e9, "deepseek-v2.5": 21e9, "deepseek-r1": 37e9}


def test_every_stored_config_has_a_published_total():
    assert {p.parent.name for p in HF.glob("*/config.json")} == set(PUBLISHED)


@pytest.mark.parametrize("folder", sorted(PUBLISHED))
def test_parameter_count_within_one_percent(folder):
    model = tokenfab.load_model(str(HF / folder))  # a directory holding config.json
    assert model.params == pytest.approx(PUBLISHED[folder], rel=0.01)
    if folder in ACTIVE:
        assert model.active_params == pytest.approx(ACTIVE[folder], rel=0.05)  # cards round active counts


def test_architecture_details_from_real_configs():
    gemma2 = tokenfab.load_model(str(HF / "gemma-2-9b" / "config.json"))
    # Gemma 2 alternates: layers 0, 2, ..., 40 slide (21 of 42) over 4096 tokens; embeddings tied by default
    assert (gemma2.sliding_window, gemma2.sliding_layers, gemma2.tie_word_embeddings) == (4096, 21, True)
    gemma3 = tokenfab.load_model(str(HF / "gemma-3-1b"))
    # Gemma 3: every 6th layer is global: 26 - 26 // 6 = 22 sliding layers of 512 tokens
    assert (gemma3.sliding_window, gemma3.sliding_layers) == (512, 22)
    maverick = tokenfab.load_model(str(HF / "llama-4-maverick"))
    # 48 layers, every 2nd MoE (24), 128 experts of width 8192 + 1 shared, dense layers 16384 wide
    assert (maverick.moe_layers, maverick.num_experts, maverick.num_shared_experts) == (24, 128, 1)
    assert (maverick.moe_intermediate_size, maverick.intermediate_size) == (8192, 16384)
    r1 = tokenfab.load_model(str(HF / "deepseek-r1"))
    assert r1.is_mla and r1.num_shared_experts == 1 and r1.first_dense_layers == 3 and r1.mtp_layers == 1
    assert tokenfab.load_model(str(HF / "mistral-7b")).sliding_window == 4096
    assert tokenfab.load_model(str(HF / "qwen2.5-7b")).sliding_window is None  # use_sliding_window: false


@pytest.mark.parametrize("folder,precision", [("deepseek-r1", "fp8"), ("gpt-oss-120b", "mxfp4"), ("qwen3-8b", None)])
def test_quantization_config_sets_default_weight_precision(folder, precision):
    model = tokenfab.load_model(str(HF / folder))
    assert model.weight_precision == precision
    if precision:
        scenario = dict(devices=8, tp=8, batch=8, input_tokens=512, output_tokens=64)
        est = tokenfab.estimate(model, "nvidia:b200", **scenario)
        assert est.weights == precision
        explicit = tokenfab.estimate(model, "nvidia:b200", weights="bf16", **scenario)
        assert explicit.weights == "bf16"  # an explicit choice still wins
        assert explicit.memory_per_device_bytes > est.memory_per_device_bytes


def test_catalog_agrees_with_real_configs():
    for name in ("llama-3.1-8b", "llama-3.3-70b", "mixtral-8x7b", "qwen3-30b-a3b", "deepseek-r1", "gpt-oss-20b"):
        catalog, real = tokenfab.load_model(name), tokenfab.load_model(str(HF / name))
        skip = {"id", "source", "weight_precision"}
        differing = [
            f for f in attrs.fields_dict(type(real)) if f not in skip and getattr(catalog, f) != getattr(real, f)
        ]
        assert differing == [], name


def test_unknown_keys_ignored_unless_strict(tmp_path):
    config = json.loads((HF / "llama-3.1-8b" / "config.json").read_text())
    config["some_future_key"] = {"anything": 1}
    assert tokenfab.load_model(config).params == tokenfab.load_model(str(HF / "llama-3.1-8b")).params
    with pytest.raises(tokenfab.ValidationError, match="unknown key 'some_future_key'"):
        tokenfab.load_model(config, strict=True)


def test_missing_key_and_missing_path_are_one_line_errors(tmp_path, capsys):
    config = json.loads((HF / "gemma-2-9b" / "config.json").read_text())
    del config["intermediate_size"]
    with pytest.raises(tokenfab.ValidationError, match="missing required key 'intermediate_size'"):
        tokenfab.load_model(config)
    with pytest.raises(tokenfab.ValidationError, match="no such file"):
        tokenfab.load_model(str(tmp_path / "nowhere" / "config.json"))
    with pytest.raises(tokenfab.ValidationError, match="no such file"):
        tokenfab.load_model(str(tmp_path))  # a folder without config.json
    assert main(["estimate", "--model", str(tmp_path / "x.json"), "--backend", "nvidia:h200"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and err.count("\n") == 1


def test_cli_accepts_a_directory(capsys):
    argv = ["estimate", "--model", str(HF / "qwen3-8b"), "--backend", "nvidia:h200", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "qwen3-8b"
