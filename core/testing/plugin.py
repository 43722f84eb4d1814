"""pytest plugin (entry point ``pytest11: tokenfab = tokenfab.testing.plugin``): the conformance
checks of :mod:`tokenfab.testing.checks` as real tests.

From the command line, against any installed pack (built-in ones included)::

    pytest --tokenfab-pack gaudi            # one test per check, per device
    pytest --tokenfab-pack nvidia --tokenfab-pack groq

From a pack's own test suite, subclass the test class and name the pack (its entry-point name, or
the module itself when it is not installed)::

    from tokenfab.testing import PackConformance
    import tokenfab_acme

    class TestAcme(PackConformance):
        pack = tokenfab_acme            # or "acme", the installed entry-point name

The ``tokenfab_pack`` fixture gives the loaded pack (:class:`~tokenfab.testing.checks.PackUnderTest`:
``name``, ``registry``, ``backend_ids``) to any test of such a class; ``tokenfab_backend`` is
parametrised over its device ids. Without ``--tokenfab-pack`` and without a ``PackConformance``
subclass the plugin adds nothing to a test run (it imports nothing of tokenfab until used).
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

_SUITE = pathlib.Path(__file__).with_name("suite.py")
_LOADED: dict[Any, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tokenfab", "tokenfab hardware-pack conformance")
    group.addoption(
        "--tokenfab-pack",
        action="append",
        default=[],
        metavar="NAME",
        help="run tokenfab's conformance suite against the installed pack NAME (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tokenfab_conformance: a tokenfab hardware-pack conformance check")
    if config.getoption("tokenfab_pack"):
        source = getattr(config, "args_source", None)
        explicit = source is not None and source == pytest.Config.ArgsSource.ARGS
        config.args[:] = [*config.args, str(_SUITE)] if explicit else [str(_SUITE)]


class _SuiteModule(pytest.Module):
    """The suite, imported by its package name: importing it by path would load a second copy of
    tokenfab (``core.testing.suite`` in a source checkout) whose classes differ from the real ones."""

    def _getobj(self) -> Any:
        import importlib

        return importlib.import_module("tokenfab.testing.suite")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: pathlib.Path, parent: Any) -> Any:
    if module_path == _SUITE:
        return _SuiteModule.from_parent(parent, path=module_path)
    return None


def _pack_spec(metafunc_or_request: Any) -> Any:
    cls = getattr(metafunc_or_request, "cls", None)
    return getattr(cls, "pack", None) if cls is not None else None


def load_pack(spec: Any) -> Any:
    """The :class:`PackUnderTest` for ``spec``, loaded once per test session."""
    from .checks import PackUnderTest

    key = spec if isinstance(spec, str) else id(spec)
    if key not in _LOADED:
        _LOADED[key] = PackUnderTest.load(spec)
    return _LOADED[key]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "tokenfab_pack_spec" not in names:
        return
    spec = _pack_spec(metafunc)
    specs = [spec] if spec is not None else metafunc.config.getoption("tokenfab_pack")
    if not specs:
        pytest.fail(f"{metafunc.cls.__name__}: set `pack` (a pack name or module), or run with --tokenfab-pack NAME")
    if "tokenfab_backend" in names:
        pairs = [(s, b) for s in specs for b in (load_pack(s).backend_ids or [None])]
        ids = [f"{s}-{b}" if len(specs) > 1 and isinstance(s, str) else str(b) for s, b in pairs]
        metafunc.parametrize("tokenfab_pack_spec,tokenfab_backend", pairs, ids=ids)
    else:
        metafunc.parametrize("tokenfab_pack_spec", specs, ids=[s if isinstance(s, str) else "pack" for s in specs])


@pytest.fixture
def tokenfab_pack(tokenfab_pack_spec: Any) -> Any:
    """The pack under test (:class:`tokenfab.testing.checks.PackUnderTest`)."""
    return load_pack(tokenfab_pack_spec)
