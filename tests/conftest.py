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
