"""Fuzz tests (issue 12): API calls, CLI command lines, Hugging Face configs and TOML packs.

Property: a valid (finite) result or a one-line TokenfabError; never another exception, a hang,
inf/NaN or invalid JSON. A few dozen examples each here; ``python tools/fuzz.py`` runs thousands
(``TOKENFAB_FUZZ_EXAMPLES``)."""

import os
import pathlib
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from tokenfab.testing import fuzz

EXAMPLES = int(os.environ.get("TOKENFAB_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=EXAMPLES <= 25
)
DATA = pathlib.Path(__file__).parent / "data"


@FUZZ
@given(fuzz.api_calls())
def test_api_gives_a_finite_result_or_a_tokenfab_error(call):
    fuzz.assert_valid_or_tokenfab_error(*fuzz.call_api(*call))


@FUZZ
@given(fuzz.cli_argvs())
def test_cli_exits_0_1_or_2_with_one_line_errors_and_strict_json(argv):
    fuzz.check_cli(argv)


@FUZZ
@given(fuzz.hf_configs())
def test_hf_configs_load_or_fail_in_one_line(config):
    fuzz.check_config(config)


@FUZZ
@given(fuzz.toml_texts())
def test_a_fuzzed_toml_pack_never_hides_a_good_one(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("toml")
    shutil.copy(DATA / "good_toml" / "gaudi3-liquid.toml", folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOKENFAB_DEVICE_PATH", str(folder))
        fuzz.check_toml(folder, text)
