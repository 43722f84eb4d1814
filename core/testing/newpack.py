"""``tokenfab new-pack NAME [--toml]``: write a working hardware pack from the templates in
``tokenfab/testing/templates`` (package data).

The pack is a distribution ``tokenfab-NAME`` holding a package ``tokenfab_NAME``, registered under
the entry point NAME (group ``tokenfab`` for a Python pack, ``tokenfab.data`` for a TOML pack), so
its ids take the prefix ``NAME:``. Its pyproject.toml lists ``*.toml`` as package data (without it
a TOML pack installs without its devices), and its tests run tokenfab's conformance suite through
the pytest plugin.
"""

from __future__ import annotations

import pathlib
import re
import string
from importlib import resources

from ..errors import ValidationError

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}$")


def _render(template: str, values: dict[str, str]) -> str:
    text = resources.files(__package__).joinpath("templates", template).read_text(encoding="utf-8")
    return string.Template(text).substitute(values)


def pack_files(name: str, *, toml: bool = False) -> dict[str, str]:
    """Relative path -> contents of the pack ``name`` (a lower-case prefix such as ``acme``)."""
    from .. import __version__

    if not _NAME.match(name or ""):
        raise ValidationError(
            f"name: must be a lower-case pack prefix (a letter, then letters, digits or '-'), got {name!r}",
        )
    package = "tokenfab_" + name.replace("-", "_")
    values = {
        "name": name,
        "package": package,
        "dist": f"tokenfab-{name}",
        "title": name.replace("-", " ").title(),
        "classname": "".join(part.title() for part in name.split("-")),
        "group": '"tokenfab.data"' if toml else "tokenfab",
        "kind": "TOML" if toml else "Python",
        "toml_flag": " --toml" if toml else "",
        "tokenfab_version": ".".join(__version__.split(".")[:2]),
    }
    files = {
        "pyproject.toml": _render("pyproject.toml.tmpl", values),
        "README.md": _render("README.md.tmpl", values),
        "tests/test_conformance.py": _render("test_conformance.py.tmpl", values),
        f"{package}/__init__.py": _render("init_toml.py.tmpl" if toml else "init_python.py.tmpl", values),
    }
    if toml:
        files[f"{package}/{name}-h100-pcie.toml"] = _render("device.toml.tmpl", values)
    return files


def write_pack(name: str, target: str | pathlib.Path | None = None, *, toml: bool = False) -> list[pathlib.Path]:
    """Write the pack into ``target`` (default ``./tokenfab-NAME``), which must not hold files yet."""
    root = pathlib.Path(target) if target is not None else pathlib.Path(f"tokenfab-{name}")
    files = pack_files(name, toml=toml)
    if root.exists() and any(root.iterdir()):
        raise ValidationError(f"dir: {str(root)!r} already holds files; choose an empty or new folder")
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
