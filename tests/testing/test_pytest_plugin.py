"""The conformance suite as a pytest plugin (pytest --tokenfab-pack NAME, PackConformance
subclasses) and as `tokenfab plugins --check NAME`."""

import json
import subprocess
import sys
import textwrap

from tokenfab.cli import main

BROKEN_PACK_TESTS = '''
import attrs
import tokenfab
from tokenfab import hookimpl
from tokenfab.testing import PackConformance


class Unsourced:
    @hookimpl
    def tokenfab_devices(self):
        h100 = tokenfab.get_backend("nvidia:h100-sxm")
        return [attrs.evolve(h100, id="unsourced:chip", sources={})]


class Empty:
    """Registers nothing: a TOML pack whose files were not shipped looks like this."""

    @hookimpl
    def tokenfab_devices(self):
        return []


class TestUnsourced(PackConformance):
    pack = Unsourced()


class TestEmpty(PackConformance):
    pack = Empty()
'''


def pytest_run(cwd, *args):
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfs", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_option_runs_the_suite_against_an_installed_builtin_pack(tmp_path):
    result = pytest_run(tmp_path, "--tokenfab-pack", "groq")
    # groq registers one device: 2 pack-level checks + 5 per-device checks
    assert result.returncode == 0, result.stdout[-3000:]
    assert "7 passed" in result.stdout


def test_subclass_reports_unsourced_figures_and_empty_packs(tmp_path):
    (tmp_path / "test_broken_pack.py").write_text(textwrap.dedent(BROKEN_PACK_TESTS))
    result = pytest_run(tmp_path, "test_broken_pack.py")
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert "FAILED test_broken_pack.py::TestUnsourced::test_sources[unsourced:chip]" in out
    assert "no source for 'peak.bf16'" in out
    assert "TestUnsourced::test_units_and_ranges[unsourced:chip]" not in out.split("short test summary")[-1]
    assert "FAILED test_broken_pack.py::TestEmpty::test_discovery" in out and "registers no devices" in out


def test_plugin_adds_nothing_to_a_plain_run(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert True\n")
    result = pytest_run(tmp_path, "test_plain.py")
    assert result.returncode == 0 and "1 passed" in result.stdout
    probe = (
        "import sys, tokenfab.testing.plugin; "
        "print(any(m in sys.modules for m in ('tokenfab.testing.checks', 'tokenfab.testing.suite')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert loaded.stdout.strip() == "False"  # the checks load only when a suite runs


def test_cli_check_passes_a_good_pack_and_refuses_an_unknown_name(capsys):
    assert main(["plugins", "--check", "groq", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert {r["check"] for r in results} >= {"discovery", "id prefixes", "sources [groq:lpu]", "hooks [groq:lpu]"}
    assert all(r["status"] == "pass" for r in results)
    assert main(["plugins", "--check", "no-such-pack"]) == 2
    assert "no installed pack named 'no-such-pack'" in capsys.readouterr().err


def test_plugins_listing_reports_a_pack_with_no_devices(capsys):
    from tokenfab import hookimpl
    from tokenfab.registry import build_registry, set_default_registry

    class Empty:
        @hookimpl
        def tokenfab_devices(self):
            return []

    set_default_registry(build_registry([Empty()], entry_points=False))
    try:
        assert main(["plugins", "--json"]) == 0
    finally:
        set_default_registry(None)
    (row,) = [r for r in json.loads(capsys.readouterr().out) if not r["backends"]]
    assert row["status"] == "warning" and "registers no devices" in row["problems"][0]
