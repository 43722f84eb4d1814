"""Without the C kernel tokenfab runs on the numpy reference, warning once and naming why."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = """
import json, warnings
warnings.simplefilter("always")
import tokenfab
from tokenfab import kernel
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    a = tokenfab.decode_step("llama-3.1-8b", "nvidia:h100-sxm", batch=[1, 8, 64], context=2048, devices=1)
    b = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=8, input_tokens=1000, output_tokens=100)
messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
print(json.dumps({"native": kernel.native_available(), "messages": messages,
                  "seconds": list(a.seconds), "tpot": b.tpot_s}))
"""


def _run(env_extra: dict[str, str]) -> dict:
    env = {**os.environ, **env_extra}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_env_var_forces_the_reference_with_one_warning_naming_the_cause():
    forced = _run({"TOKENFAB_NO_NATIVE": "1"})
    assert forced["native"] is False
    # one warning for the whole process, though the kernel ran many times, and it says why
    assert len(forced["messages"]) == 1 and "TOKENFAB_NO_NATIVE=1" in forced["messages"][0]
    normal = _run({"TOKENFAB_NO_NATIVE": "0"})
    if normal["native"]:  # same numbers from both paths
        assert normal["messages"] == []
        for x, y in zip(forced["seconds"], normal["seconds"], strict=True):
            assert x == pytest.approx(y, rel=1e-12)
        assert forced["tpot"] == pytest.approx(normal["tpot"], rel=1e-12)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the sources")
def test_build_without_a_compiler_does_not_fail(tmp_path):
    """``CC=/bin/false``: the extension's compile fails, the build step still succeeds and says why."""
    pytest.importorskip("cffi")
    pytest.importorskip("setuptools")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if name.startswith(("native/", "core/")) or name in ("setup.py", "pyproject.toml", "README.md"):
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, target)
    env = {**os.environ, "CC": "/bin/false", "LDSHARED": "/bin/false"}
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "the C kernel could not be built" in proc.stderr
    assert not list((tmp_path / "out").rglob("_native*"))
