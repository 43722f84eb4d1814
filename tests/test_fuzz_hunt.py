"""Defects a hostile user found past the first fuzz suite (tests/test_fuzz.py, test_input_bounds.py).

Each case was a traceback, a hang, an out-of-memory kill, a NaN, or a silent wrong answer (an
empty table with exit 0, a negative slice that hid rows, a nonsense figure) before its fix; now
each is a one-line TokenfabError naming the field, the value and the allowed range (exit 2 on
the command line). Hangs are guarded by a deadline so a regression fails instead of stalling CI."""

import json
import math

import pytest
import tokenfab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_input_bounds import BASE  # the same small Llama config
from tokenfab.cli import main
from tokenfab.errors import TokenfabError
from tokenfab.testing.fuzz import run_with_deadline

M, B = "llama-3.2-1b", "nvidia:h200"
SMALL = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(capsys, argv, field_text):
    code, out, err = cli(capsys, *argv)
    assert code == 2, f"{argv}: exit {code}, stderr {err!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tokenfab: error: "), err
    assert field_text in lines[0], lines[0]
    assert out == ""


# -- command line: tracebacks, hangs and silent wrong answers -------------------------------------

SIM = ["simulate", "--model", M, "--backend", B, "--rate", "2"]
PLAN = ["plan", "--model", M, "--ttft", "1s", "--tpot", "50ms", "--backends", B, "--max-devices", "2"]
PARETO = ["pareto", "--model", M, "--backends", B, "--max-devices", "2"]


@pytest.mark.parametrize(
    "argv,field_text",
    [
        # ValueError tracebacks from numpy before
        ([*SIM, "--seed", "-1"], "seed: must be an integer >= 0"),
        ([*SIM, "--requests", "-1"], "requests: must be an integer >= 1"),
        ([*SIM, "--requests", "99999999999999999999"], "requests: must be an integer >= 1"),
        ([*SIM, "--requests", "0"], "requests: must be an integer >= 1"),
        ([*SIM, "--duration", "-1"], "duration: must be a number"),
        ([*SIM, "--duration", "1e300"], "duration: must be a number"),
        # a per-row "unsupported" with exit 0 before: bad input, not a property of the backend
        (["sweep", "--model", M, "--backends", B, "--tp", "-1"], "tp: must be an integer >= 1"),
        (["compare", "--model", M, "--backends", B, "--pp", "0"], "pp: must be an integer >= 1"),
        # negative slices silently hid rows before
        (["mappings", "--model", M, "--backend", B, "--limit", "-1"], "limit: must be an integer >= 0"),
        ([*PLAN, "--top", "-1"], "top: must be an integer >= 0"),
        # an empty plan or front with exit 0 before
        ([*PLAN, "--precisions", "int3"], "precisions: 'int3' is not a precision"),
        ([*PARETO, "--precisions", "bf17"], "precisions: 'bf17' is not a precision"),
        ([*PARETO, "--max-devices", "-1"], "max_devices: must be an integer >= 1"),
        ([*PARETO, "--input", "99999999999999999999"], "input_tokens"),
        ([*PARETO, "--input", "200000"], "input_tokens + output_tokens: must be <="),
        (["validate", "--vendor", "nobody"], "vendor: no point has vendor 'nobody'"),
        (["validate", "--kind", "nothing"], "kind: no point has kind 'nothing'"),
        # absurd prices and facility figures gave 1e+299 $/Mtok before
        (["estimate", "--model", M, "--backend", B, "--capex", "30000", "--pue", "1e300"], "pue must be >= 1 and <= 5"),
        (
            ["estimate", "--model", M, "--backend", B, "--usd-per-device-hour", "1e300"],
            "usd_per_device_hour must be > 0 and <= 100000",
        ),
        # "1,,2" read as 12 s before
        ([*PLAN, "--ttft", "1,,2"], "ttft: cannot parse '1,,2'"),
        # an empty draft was silently no speculative decoding
        (["estimate", "--model", M, "--backend", B, "--draft", ""], "draft: give a draft model"),
    ],
)
def test_cli_input_errors_are_one_line_exit_2(capsys, argv, field_text):
    assert_one_line_error(capsys, argv, field_text)


TRAIN = ["train", "--model", M, "--backend", "nvidia:h100-sxm", "--devices", "8"]


@pytest.mark.parametrize(
    "argv,field_text",
    [
        # a $1.8e+292 bill, a fraction of a step, and a step of 8.7e17 s before
        ([*TRAIN, "--tokens", "1e300"], "tokens must be between 1 and 1e+16"),
        ([*TRAIN, "--tokens", "0.5"], "tokens must be between 1 and 1e+16"),
        ([*TRAIN, "--steps", "99999999999999999999"], "steps must be an integer >= 1"),
        ([*TRAIN, "--tokens", "1e9", "--global-batch", "99999999999999999999"], "global_batch must be an integer"),
        # 1000 interleaved chunks per stage of 8 layers before
        (
            [
                *TRAIN,
                "--tokens",
                "1e9",
                "--pp",
                "2",
                "--tp",
                "1",
                "--dp",
                "4",
                "--schedule",
                "interleaved",
                "--chunks",
                "1000",
            ],
            "chunks: must be <= the 16 layers",
        ),
        # an IsADirectoryError traceback, and files written under a folder that did not exist
        (["report", "--model", M, "--backends", B, "--max-devices", "1", "--html", "/"], "html: must be a file"),
        (["report", "--model", M, "--backends", B, "--html", "/nonexistent-dir/r.html"], "html: must be a file"),
        (["compare", "--model", M, "--backends", B, "--batch", "1", "--plot", "/nonexistent-dir/p.png"], "plot: must"),
        (["sweep", "--model", M, "--backends", B, "--out", "/nonexistent-dir/rows.csv"], "out: must be a file"),
        # load limits without --rate were silently ignored before
        (["estimate", "--model", M, "--backend", B, "--ttft", "1s"], "ttft: --ttft applies to the load simulation"),
        (["estimate", "--model", M, "--backend", B, "--requests", "5"], "requests: --requests applies"),
        # the listing, exit 0, for an empty pack name before
        (["plugins", "--check", ""], "pack: no installed pack named ''"),
    ],
)
def test_cli_file_and_training_errors_are_one_line_exit_2(capsys, argv, field_text):
    assert_one_line_error(capsys, argv, field_text)


def test_sweep_workers_beyond_the_limit_is_refused_before_a_cluster_starts(capsys):
    # --workers 1e20 started a Dask LocalCluster of 1e20 processes: the machine ran out of memory
    argv = ["sweep", "--model", M, "--backends", B, "--workers", "99999999999999999999"]
    code, _error = run_with_deadline(lambda: main(argv))
    assert code == 2
    assert "workers: must be an integer >= 1" in capsys.readouterr().err


def test_train_dp_beyond_the_global_batch_is_refused(capsys):
    # dp 1e20 with a global batch of 512 gave 6e-13 tokens/s per device and a $1.8e18 bill (now: at most 1e12)
    argv = ["train", "--model", M, "--backend", "nvidia:h100-sxm", "--tokens", "1e9", "--dp", "100000"]
    assert_one_line_error(capsys, argv, "dp: must be <= global_batch / micro_batch")


def test_csv_output_refuses_nan_like_json(capsys):
    # print_json checked for NaN; print_csv wrote "nan" into the cell
    from tokenfab.cli._common import print_csv

    with pytest.raises(tokenfab.NonFiniteError, match=r"\[1\].seconds"):
        print_csv([{"seconds": 1.0}, {"seconds": float("nan")}], ["seconds"])
    assert capsys.readouterr().out == ""
    print_csv([{"seconds": 1.5}], ["seconds"])
    assert capsys.readouterr().out.split() == ["seconds", "1.5"]


# -- Python API: raw exceptions and hangs ----------------------------------------------------------

W = tokenfab.Workload(input_tokens=10, output_tokens=5)
H100, RECIPE = "nvidia:h100-sxm", {"seq_len": 4096, "global_batch": 64, "tokens": 1e9}


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda: tokenfab.Workload.from_dict({}), "input_tokens"),
        (lambda: tokenfab.Workload.from_dict({"input_tokens": 10}), "output_tokens"),
        (lambda: tokenfab.Workload(input_tokens=10, output_tokens=5, rate=1e300), "rate"),
        (lambda: tokenfab.Workload(input_tokens=10, output_tokens=5, kv_reservation=[]), "kv_reservation"),
        (lambda: tokenfab.estimate(M, B, input_tokens=10, output_tokens=5, economics=3), "economics"),
        (lambda: tokenfab.estimate(M, B, input_tokens=10, output_tokens=5, chunked_prefill="no"), "chunked_prefill"),
        (lambda: tokenfab.sweep(M, B, chunk="x"), "chunk"),
        (lambda: tokenfab.sweep(M, B, chunk=float("nan")), "chunk"),
        (lambda: tokenfab.sweep(M, B, chunk=1.5), "chunk"),
        (lambda: tokenfab.sweep(M, B, executor=10**20), "workers"),
        (lambda: tokenfab.sweep(M, B, out="/nonexistent-dir/rows.csv"), "out"),
        (lambda: tokenfab.plan(M, {"input_tokens": 10, "output_tokens": 5}, slo={"x": 1}, backends=B), "slo"),
        (lambda: tokenfab.plan(M, {"input_tokens": 10, "output_tokens": 5}, slo="fast", backends=B), "slo"),
        (lambda: tokenfab.plan(M, W, slo={"percentile": "x"}, backends=B), "percentile"),
        (lambda: tokenfab.plan(M, W, max_devices="x", backends=B), "max_devices"),
        (lambda: tokenfab.plan(M, W, max_devices=1.5, backends=B), "max_devices"),
        (lambda: tokenfab.plan(M, W, precisions=[8], backends=B), "precisions"),
        (lambda: tokenfab.plan(M, W, precisions="int3", backends=B), "precisions"),
        (lambda: tokenfab.plan(M, 3, backends=B), "workload"),
        (lambda: tokenfab.pareto(M, W, max_devices=0, backends=B), "max_devices"),
        (lambda: tokenfab.simulate(M, {"backend": B}, W.evolve(rate=1.0), seed=-1), "seed"),
        (lambda: tokenfab.simulate(M, {"backend": B}, W.evolve(rate=1.0), requests=10**20), "requests"),
        (lambda: tokenfab.simulate(M, {"backend": B}, W.evolve(rate=1.0), requests=5, duration=5.0), "requests"),
        (lambda: tokenfab.simulate(M, {"backend": B}, {"input_tokens": "x", "output_tokens": 5}), "input_tokens"),
        (lambda: tokenfab.simulate(M, {"backend": B}, W, trace=3), "trace"),
        (lambda: tokenfab.train(M, H100, None, devices=8), "TrainingRecipe"),
        (lambda: tokenfab.train(M, H100, {**RECIPE, "foo": 1}, devices=8), "foo"),
        (lambda: tokenfab.train(M, H100, {"tokens": 1e9}, devices=8), "seq_len"),
        (lambda: tokenfab.train(M, H100, {**RECIPE, "grad_bytes": "x"}, devices=8), "grad_bytes"),
        (lambda: tokenfab.train(M, H100, {**RECIPE, "goodput": "x"}, devices=8), "goodput"),
        (lambda: tokenfab.train(M, H100, RECIPE, mapping={"foo": 1}), "foo"),
        (lambda: tokenfab.train(M, H100, RECIPE, mapping=[1]), "mapping"),
        (
            lambda: tokenfab.train(M, H100, RECIPE, mapping={"pp": 2, "dp": 4, "first_stage_layers": True}),
            "first_stage_layers",
        ),
        (lambda: tokenfab.train(M, H100, RECIPE, devices="8"), "devices"),
        (lambda: tokenfab.train(M, H100, RECIPE, devices=8, tdp_w="x"), "tdp_w"),
        (lambda: tokenfab.train(M, H100, RECIPE, devices=8, economics=3), "economics"),
        (lambda: tokenfab.validate(points=[{"x": 1}]), "points"),
        (lambda: tokenfab.validate(points=3), "points"),
    ],
)
def test_api_junk_raises_tokenfab_errors_naming_the_field(call, field):
    value, error = run_with_deadline(call)
    assert isinstance(error, TokenfabError), f"{type(error).__name__}: {error}" if error else f"returned {value!r:.80}"
    assert error.field == field and "\n" not in str(error), (error.field, str(error))


@pytest.mark.parametrize("devices", [10**9 + 7, 10**12])
def test_a_huge_device_count_answers_promptly(devices):
    # the mapping search listed divisors by trial division up to n: 1e12 devices hung for minutes
    _value, error = run_with_deadline(tokenfab.estimate, M, B, devices=devices, input_tokens=10, output_tokens=5)
    assert error is None or isinstance(error, TokenfabError), repr(error)


def test_divisors_are_exact_and_fast():
    from tokenfab.planning.mappings import _divisors

    # 360 = 2^3 * 3^2 * 5: (3+1)(2+1)(1+1) = 24 divisors
    assert _divisors(360) == [d for d in range(1, 361) if 360 % d == 0] and len(_divisors(360)) == 24
    assert _divisors(1) == [1] and _divisors(97) == [1, 97]
    assert _divisors(10**12)[-2:] == [5 * 10**11, 10**12]


# -- Hugging Face configs --------------------------------------------------------------------------

BASE = {**BASE, "max_position_embeddings": 8192}
MOE = {**BASE, "model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2}


@pytest.mark.parametrize(
    "config,field",
    [
        # a billion layers hung the stage split before
        ({**BASE, "num_hidden_layers": 10**9}, "model.num_hidden_layers"),
        # a mixture-of-experts config with no experts was silently a dense model
        ({**MOE, "num_local_experts": 0}, "model.num_local_experts"),
        # 4096 / 33 heads was silently a 124-wide head
        ({**BASE, "num_attention_heads": 33}, "model.num_attention_heads"),
        # three layer types for 32 layers was silently 0 sliding layers
        ({**BASE, "layer_types": ["sliding_attention"] * 3, "sliding_window": 128}, "model.layer_types"),
        ({**BASE, "layer_types": ["banana"] * 32}, "model.layer_types"),
    ],
)
def test_odd_configs_are_one_line_errors(config, field):
    _value, error = run_with_deadline(tokenfab.load_model, config)
    assert isinstance(error, tokenfab.ValidationError), repr(error)
    assert error.field == field, (error.field, str(error))


def test_explicit_head_dim_may_differ_from_hidden_over_heads():
    # Gemma and Qwen3 give head_dim explicitly: hidden_size need not divide by the heads then
    model = tokenfab.load_model({**BASE, "num_attention_heads": 33, "num_key_value_heads": 3, "head_dim": 128})
    assert model.head_dim == 128 and model.num_heads == 33


# -- hostile TOML packs ----------------------------------------------------------------------------

GOOD = (pytest.importorskip("pathlib").Path(__file__).parent / "data" / "good_toml" / "gaudi3-liquid.toml").read_text()


@pytest.mark.parametrize(
    "old,new,reason",
    [
        # 1e-300 B/s loaded, then every estimate came out NaN (and numpy warned on stderr)
        ('bytes_per_s = "3.67 TB/s"', "bytes_per_s = 1e-300", "bytes_per_s must be"),
        ('bf16 = "1835 TFLOPS"', "bf16 = 1e300", "peak_flops_per_s['bf16'] must be"),
        ('capacity_bytes = "128 GB"', "capacity_bytes = 1e300", "capacity_bytes must be"),
        ("tdp_w = 1200", "tdp_w = 1e300", "tdp_w must be"),
        ("capex_usd = 15625", "capex_usd = 1e300", "capex_usd must be"),
        ("capex_usd = 15625", "usd_per_device_hour = 1e300", "usd_per_device_hour must be"),
        ('latency_s = "5 us"', "latency_s = 1e300", "latency_s must be"),
        # TOML true is not a count
        ("domain_size = 8", "domain_size = true", "domain_size must be an integer"),
    ],
)
def test_toml_figures_beyond_physics_are_reported_not_loaded(tmp_path, monkeypatch, old, new, reason):
    from tokenfab.registry import build_registry

    assert old in GOOD
    (tmp_path / "pack.toml").write_text(GOOD.replace(old, new))
    monkeypatch.setenv("TOKENFAB_DEVICE_PATH", str(tmp_path))
    registry = build_registry()
    assert "datapack:gaudi3-liquid" not in registry.backends
    assert any(reason in p.reason for p in registry.problems), [p.reason for p in registry.problems]


# -- invariant: every built-in backend x a few models gives finite, non-negative JSON --------------

FINITE_MODELS = ("llama-3.2-1b", "mixtral-8x7b")


def _walk_numbers(data, path=""):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk_numbers(value, f"{path}.{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk_numbers(value, f"{path}[{index}]")
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield path, data


def test_compare_json_is_finite_and_non_negative_on_every_builtin_backend(capsys):
    for model in FINITE_MODELS:
        code, out, err = cli(
            capsys, "compare", "--model", model, "--batch", "8", "--input", "500", "--output", "50", "--json"
        )
        assert code in (0, 1), err
        rows = json.loads(out, parse_constant=lambda name: pytest.fail(f"JSON constant {name}"))["rows"]
        assert len(rows) >= 8
        for path, number in _walk_numbers(rows):
            assert math.isfinite(number) and number >= 0, f"{model}{path} = {number}"


@SMALL
@given(
    backend=st.sampled_from(["nvidia:h200", "amd:mi300x", "groq:lpu", "cerebras:wse-3", "tpu:v6e", "trainium:trn2"]),
    batch=st.integers(1, 4096),
    input_tokens=st.integers(1, 8000),
    output_tokens=st.integers(1, 4000),
)
def test_estimates_are_finite_and_non_negative_or_errors(backend, batch, input_tokens, output_tokens):
    value, error = run_with_deadline(
        tokenfab.estimate, M, backend, batch=batch, input_tokens=input_tokens, output_tokens=output_tokens
    )
    if error is not None:
        assert isinstance(error, TokenfabError), repr(error)
        return
    for path, number in _walk_numbers(value.to_dict()):
        assert math.isfinite(number) and number >= 0, f"{backend}{path} = {number}"


_GRID_TEXT = st.one_of(
    st.text(alphabet="0123456789:,- e.", max_size=12),
    st.sampled_from(["5:1", "1:10:0", "1:10:-1", ":", "1:2:3:4", "a:b", "", "1:5:0.5", "-5:-1", "1:1000000000000"]),
)


@SMALL
@given(batch=_GRID_TEXT, context=_GRID_TEXT)
def test_sweep_grid_language_gives_rows_or_one_error(batch, context):
    value, error = run_with_deadline(tokenfab.sweep, M, B, batch=batch, context=context or "0")
    if error is not None:
        assert isinstance(error, TokenfabError) and "\n" not in str(error), repr(error)
        return
    for row in value.rows:
        assert row["status"] in ("ok", "does-not-fit"), row
        assert row["batch"] >= 1 and row["context"] >= 0
