"""The repository's tracked text files hold no unresolved merge-conflict markers.

A bad merge once left ``<<<<<<< HEAD`` blocks in the README's command list; this keeps it from
happening again without anyone noticing.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def _tracked_text_files():
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in out.splitlines():
        path = ROOT / name
        if path.suffix in {".py", ".md", ".toml", ".json", ".yaml", ".yml", ".c", ".h", ".txt", ".cfg", ""}:
            if path.is_file():
                yield path


def test_no_conflict_markers():
    bad = [str(p.relative_to(ROOT)) for p in _tracked_text_files() if MARKER.search(p.read_text(errors="replace"))]
    assert bad == []
