"""Distribution: `python -m build` makes an sdist and a wheel; the wheel installs into a fresh
virtualenv and works there (CLI, API, shipped data, plugins, pack template)."""

import json
import pathlib
import sys
import tarfile
import venv
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory, run_ok):
    out = tmp_path_factory.mktemp("dist")
    run_ok([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    (sdist,), (wheel,) = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    return sdist, wheel


def test_sdist_carries_the_kernel_sources_and_no_binaries(dist):
    sdist, _ = dist
    names = tarfile.open(sdist).getnames()
    for needed in ("native/build_kernel.py", "native/tokenfab_kernel.c", "native/tokenfab_kernel.h", "CHANGELOG.md"):
        assert any(name.endswith(needed) for name in names), needed
    assert not any(name.endswith((".so", ".pyd")) for name in names)


def test_wheel_metadata_and_package_data(dist):
    _, wheel = dist
    assert "-cp310-abi3-" in wheel.name  # one wheel for every CPython >= 3.10
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert {"tokenfab/testing/templates/pyproject.toml.tmpl", "tokenfab/validation/points.json"} <= names
    meta = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python: >=3.10" in meta and "License" in meta and "Classifier: Typing :: Typed" in meta
    assert "Provides-Extra: pandas" in meta and "Provides-Extra: arrow" in meta
    entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[pytest11]" in entry_points and "nvidia = tokenfab.plugins.nvidia" in entry_points


def test_wheel_installs_and_runs_in_a_fresh_venv(dist, tmp_path, run_ok):
    _, wheel = dist
    venv.create(tmp_path / "venv", with_pip=True)
    bindir = tmp_path / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    run_ok([str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)])
    out = run_ok([str(bindir / "tokenfab"), "compare", "--model", "llama-3.1-8b", "--backends", "all", "--json"])
    rows = json.loads(out)["rows"]
    assert len(rows) > 10 and any(r.get("fits") for r in rows)
    probe = (
        "import tokenfab, tokenfab.kernel as k; print(tokenfab.estimate('llama-3.1-8b', 'nvidia:h200', "
        "input_tokens=1000, output_tokens=100).tokens_per_s > 0)"
    )
    assert run_ok([str(bindir / "python"), "-c", probe]).strip().endswith("True")
    run_ok([str(bindir / "tokenfab"), "new-pack", "smoke", "--dir", str(tmp_path / "pack")], cwd=str(tmp_path))
    assert (tmp_path / "pack" / "pyproject.toml").exists()
