"""The kernel tests pass against a build with AddressSanitizer and UndefinedBehaviorSanitizer
(tools/sanitize_kernel.sh; ``--long`` adds the fuzz tests). Skipped without gcc's sanitizer runtimes."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _sanitizers_available() -> bool:
    if shutil.which("gcc") is None or sys.platform != "linux":
        return False
    for lib in ("libasan.so", "libubsan.so"):
        found = subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
        if not pathlib.Path(found).is_file():
            return False
    return True


@pytest.mark.skipif(not _sanitizers_available(), reason="gcc with ASan/UBSan runtimes not available")
def test_kernel_is_clean_under_asan_and_ubsan():
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "sanitize_kernel.sh")],
        capture_output=True,
        text=True,
        timeout=1200,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(pathlib.Path.home())},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "kernel clean under AddressSanitizer and UndefinedBehaviorSanitizer" in result.stdout
    assert " passed" in result.stdout and "failed" not in result.stdout
