import pytest
import tokenfab
from tokenfab.registry import build_registry, set_default_registry


@pytest.fixture
def fresh_registry():
    """Run a test against a registry built anew, and restore the process default afterwards."""
    yield build_registry
    set_default_registry(None)


@pytest.fixture(scope="session")
def h100():
    return tokenfab.get_backend("nvidia:h100-sxm")


def _run_ok(cmd, **kwargs):
    """Run ``cmd``; fail the test with the tail of its output unless it exits 0; return stdout."""
    import subprocess

    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="session")
def run_ok():
    """``run_ok(cmd, **subprocess_kwargs) -> stdout``, failing the test when ``cmd`` fails."""
    return _run_ok
