"""The stage layout (DESIGN section 6, docs/architecture.md) and the old flat import paths it keeps."""

import importlib
import pathlib
import pickle
import subprocess
import sys

import pytest
import tokenfab

ROOT = pathlib.Path(__file__).resolve().parents[1]
MOVED = sorted((f"tokenfab.{old}", f"tokenfab.{stage}.{old}") for old, stage in tokenfab._MOVED.items())


@pytest.mark.parametrize(("old", "new"), MOVED)
def test_old_path_is_the_same_module(old, new):
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert sys.modules[old] is sys.modules[new]
    assert module.__name__ == new and module.__spec__.name == new  # the alias does not relabel it
    assert getattr(tokenfab, old.rpartition(".")[2]) is module  # attribute access on the package too


@pytest.mark.parametrize(("old", "new"), MOVED)
def test_old_module_files_are_gone_and_new_ones_exist(old, new):
    assert not (ROOT / "core" / f"{old.split('.')[1]}.py").exists()
    assert (ROOT / "core" / pathlib.Path(*new.split(".")[1:])).with_suffix(".py").is_file()


def test_patching_the_old_name_patches_what_the_core_runs(monkeypatch):
    import tokenfab.registry as old_registry

    monkeypatch.setattr(old_registry, "_layout_probe", 42, raising=False)
    assert importlib.import_module("tokenfab.hardware.registry")._layout_probe == 42


def test_old_packages_forward_every_old_name():
    from tokenfab.models import Model, load_model
    from tokenfab.models.description import Model as NewModel
    from tokenfab.serving import METRICS, _backend_ids, compare, estimate, steady

    assert Model is NewModel and load_model is importlib.import_module("tokenfab.models.description").load_model
    assert (METRICS, _backend_ids, compare, estimate) == (
        steady.METRICS,
        steady._backend_ids,
        steady.compare,
        steady.estimate,
    )
    namespace = {}
    exec("from tokenfab.serving import *", namespace)
    assert namespace["Estimate"] is steady.Estimate and "_backend_ids" not in namespace
    with pytest.raises(ImportError, match="no_such_name"):
        exec("from tokenfab.serving import no_such_name", {})


def test_a_pickle_naming_the_old_module_loads():
    from tokenfab.cost.engine import OpCost

    # Protocol 0 names the class by module path: point it at the pre-split module name.
    data = pickle.dumps(OpCost, protocol=0).replace(b"tokenfab.cost.engine", b"tokenfab.engine")
    assert b"tokenfab.engine\n" in data and pickle.loads(data) is OpCost


def test_import_tokenfab_imports_no_stage_module():
    code = "import sys, tokenfab; print(sorted(m for m in sys.modules if m.startswith('tokenfab')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tokenfab']"


def test_every_subpackage_is_listed_for_installation():
    text = (ROOT / "pyproject.toml").read_text()
    for init in sorted((ROOT / "core").rglob("__init__.py")):
        name = ".".join(["tokenfab", *init.parent.relative_to(ROOT / "core").parts])
        assert f'"{name}"' in text, name


def test_models_function_survives_importing_the_models_package():
    """``tokenfab.models()`` is public API (DESIGN section 3); importing ``tokenfab.models.description``
    rebinds the attribute to the package, which must still answer the call with the same list."""
    import subprocess
    import sys

    code = (
        "import tokenfab; before = tokenfab.models(); import tokenfab.models.description; "
        "assert tokenfab.models() == before and 'llama-2-70b' in before; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
