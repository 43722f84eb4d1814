"""The example third-party pack, installed with pip into a fresh venv, appears in tokenfab
through the entry-point group, shows up in comparisons, and disappears when uninstalled."""

import json
import pathlib
import shutil
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# What a working checkout may hold that a fresh clone does not: setuptools' in-tree `build/`
# folders (stale ones install modules that no longer exist, so the venv would load two copies
# of tokenfab's classes), virtual environments, caches and the in-place kernel build.
LOCAL_ONLY = shutil.ignore_patterns("build", ".venv*", ".git", "*.egg-info", "__pycache__", "*.so", ".hypothesis")


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    bindir = where / ("Scripts" if sys.platform == "win32" else "bin")
    pip = [str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    source = tmp_path_factory.mktemp("source") / "tokenfab"
    shutil.copytree(ROOT, source, ignore=LOCAL_ONLY)
    run([*pip, str(source)])
    run([*pip, str(source / "examples" / "tokenfab-gaudi")])
    return bindir


def test_pack_appears_in_backends_and_comparisons(env):
    backends = {row["id"]: row for row in json.loads(run([str(env / "tokenfab"), "backends", "--json"]))}
    assert backends["gaudi:gaudi3"]["plugin"] == "gaudi"
    assert backends["gaudi:gaudi3"]["plugin_version"] == "tokenfab-gaudi 0.1.0"
    assert "nvidia:h100-sxm" in backends
    result = json.loads(
        run(
            [
                str(env / "tokenfab"),
                "compare",
                "--model",
                "llama-3.1-70b",
                "--backends",
                "gaudi:gaudi3,nvidia:h100-sxm",
                "--devices",
                "8",
                "--capex",
                "25000",
                "--json",
            ]
        )
    )
    rows = {row["backend"]: row for row in result["rows"]}
    assert rows["gaudi:gaudi3"]["fits"] is True and rows["gaudi:gaudi3"]["tokens_per_s"] > 0
    plugins = {row["plugin"]: row for row in json.loads(run([str(env / "tokenfab"), "plugins", "--json"]))}
    assert plugins["gaudi"]["status"] == "ok"


def test_pack_conformance_runs_from_its_own_tests(env):
    run([str(env / "python"), "-m", "pip", "install", "--quiet", "pytest"])
    run(
        [str(env / "python"), "-m", "pytest", "-q", str(ROOT / "examples" / "tokenfab-gaudi" / "tests")],
        cwd=str(ROOT / "examples" / "tokenfab-gaudi"),
    )


def test_uninstall_removes_it(env):
    run([str(env / "python"), "-m", "pip", "uninstall", "--yes", "--quiet", "tokenfab-gaudi"])
    backends = {row["id"] for row in json.loads(run([str(env / "tokenfab"), "backends", "--json"]))}
    assert "gaudi:gaudi3" not in backends and "nvidia:h100-sxm" in backends
