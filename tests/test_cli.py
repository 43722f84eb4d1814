import json

import pytest
from tokenfab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_backends_json_lists_pack_and_version(capsys):
    code, out, _ = run(capsys, "backends", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0 and rows["nvidia:h100-sxm"]["plugin"] == "nvidia"
    assert rows["nvidia:h100-sxm"]["plugin_version"].startswith("tokenfab")
    assert rows["nvidia:gb200-nvl72"]["devices"] == 72


def test_models_table_and_json(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0 and "llama-3.1-405b" in out
    code, out, _ = run(capsys, "models", "--json")
    assert {"llama-3.1-8b", "llama-2-70b", "llama-3.3-70b"} <= {r["id"] for r in json.loads(out)}


def test_estimate_json_has_contract_fields(capsys):
    code, out, _ = run(
        capsys,
        "estimate",
        "--model",
        "llama-3.1-8b",
        "--backend",
        "nvidia:h200",
        "--batch",
        "4",
        "--input",
        "256",
        "--output",
        "64",
        "--json",
        "--breakdown",
    )
    data = json.loads(out)
    assert code == 0 and data["devices"] == 1 and data["fits"] is True
    assert {op["name"] for op in data["decode_breakdown"]} >= {"qkv_proj", "attention", "mlp_down", "lm_head"}


def test_compare_table_and_csv(capsys):
    code, out, _ = run(
        capsys,
        "compare",
        "--model",
        "llama-3.1-70b",
        "--backends",
        "nvidia:h100-sxm,nvidia:h200,nvidia:b200",
        "--devices",
        "8",
    )
    assert code == 0 and "TTFT" in out and "$/Mtok" in out and "J/tok" in out and " ms" in out
    code, out, _ = run(
        capsys, "compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h100-sxm", "--batch", "1", "--csv"
    )
    header, row = out.strip().splitlines()
    # the scenario comes first on every row, then the backend and its estimate
    assert header.startswith("model,batch,input_tokens,output_tokens,backend,error,devices")
    assert row.startswith("llama-3.1-8b,1,1000,500,nvidia:h100-sxm,,1,")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h10"], "did you mean"),
        (["estimate", "--model", "lama-3.1-8b", "--backend", "nvidia:h200"], "unknown model 'lama-3.1-8b'"),
        (
            ["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--batch", "-2"],
            "batch: must be an integer",
        ),
        (["estimate", "--model", "llama-3.1-405b", "--backend", "nvidia:h100-sxm", "--devices", "1"], "does not fit"),
        (
            ["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:a100-80gb", "--activations", "fp8"],
            "no peak rate for precision 'fp8'",
        ),
        (
            ["compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h200,amd:nothing"],
            "unknown backend 'amd:nothing'",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err
    assert err.count("\n") == 1 and err.startswith("tokenfab: error: ")


def test_sweep_csv(capsys):
    code, out, _ = run(
        capsys,
        "sweep",
        "--model",
        "llama-3.1-8b",
        "--backends",
        "nvidia:h200",
        "--batch",
        "1,8",
        "--context",
        "512",
        "--csv",
    )
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("backend,devices,batch,context") and len(lines) == 3


def test_speculative_and_chunking_flags(capsys):
    code, out, _ = run(
        capsys,
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--backend",
        "nvidia:h100-sxm",
        "--devices",
        "8",
        "--draft",
        "llama-3.2-1b",
        "--draft-tokens",
        "4",
        "--acceptance",
        "0.8",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["speculative_tokens_per_step"] == pytest.approx((1 - 0.8**5) / 0.2)
    code, out, _ = run(
        capsys, "estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--no-chunked-prefill", "--json"
    )
    assert json.loads(out)["chunked_prefill"] is False
