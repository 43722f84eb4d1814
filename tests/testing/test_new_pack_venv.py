"""`tokenfab new-pack` writes packs that install with pip into a fresh virtualenv, pass their own
tests (tokenfab's conformance suite through the pytest plugin) and show up in `tokenfab backends`."""

import json
import pathlib
import sys
import venv

import pytest
from tokenfab.cli import main
from tokenfab.testing.newpack import pack_files

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_template_lists_package_data_and_entry_point():
    files = pack_files("acme", toml=True)
    pyproject = files["pyproject.toml"]
    assert '[project.entry-points."tokenfab.data"]\nacme = "tokenfab_acme"' in pyproject
    assert '"tokenfab_acme" = ["*.toml"]' in pyproject  # TOML files ship in the wheel
    assert 'id = "acme:h100-pcie"' in files["tokenfab_acme/acme-h100-pcie.toml"]
    assert "[project.entry-points.tokenfab]\nacme = " in pack_files("acme")["pyproject.toml"]


@pytest.mark.parametrize("name", ["Acme", "1chip", "a b", ""])
def test_bad_names_are_refused(name, capsys, tmp_path):
    assert main(["new-pack", name, "--dir", str(tmp_path / "x")]) == 2
    assert "name: must be a lower-case pack prefix" in capsys.readouterr().err


def test_refuses_to_overwrite(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["new-pack", "acme", "--dir", str(tmp_path)]) == 2
    assert "already holds files" in capsys.readouterr().err


@pytest.fixture(scope="module")
def env(tmp_path_factory, run_ok):
    where = tmp_path_factory.mktemp("newpack-venv")
    venv.create(where / "venv", with_pip=True)
    bindir = where / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    pip = [str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run_ok([*pip, str(ROOT), "pytest"])
    for name, flags in (("acme", []), ("acme-data", ["--toml"])):
        run_ok([str(bindir / "tokenfab"), "new-pack", name, "--dir", str(where / name), *flags])
        run_ok([*pip, str(where / name)])  # a regular (non-editable) install: only shipped files count
    return bindir, where


@pytest.mark.parametrize("name", ["acme", "acme-data"])
def test_generated_pack_passes_its_own_tests(env, name, run_ok):
    bindir, where = env
    out = run_ok([str(bindir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=str(where / name))
    assert " passed" in out and "failed" not in out


def test_generated_packs_appear_in_backends(env, run_ok):
    bindir, _ = env
    rows = {row["id"]: row for row in json.loads(run_ok([str(bindir / "tokenfab"), "backends", "--json"]))}
    assert rows["acme:h100-pcie"]["plugin"] == "acme"
    assert rows["acme-data:h100-pcie"]["plugin"] == "acme-data"
    checks = json.loads(run_ok([str(bindir / "tokenfab"), "plugins", "--check", "acme-data", "--json"]))
    assert {c["status"] for c in checks} <= {"pass", "skip"}
