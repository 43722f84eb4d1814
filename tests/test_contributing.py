"""The 'your first backend pack' example in CONTRIBUTING.md runs as written."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_first_pack_example_runs(tmp_path):
    text = (ROOT / "CONTRIBUTING.md").read_text()
    block = re.search(r"<!-- first-pack:start -->\s*```python\n(.*?)```\s*<!-- first-pack:end -->", text, re.S)
    assert block, "the first-pack example is missing from CONTRIBUTING.md"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 30
    script = tmp_path / "my_pack.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"\d+ tok/s, [\d.]+ ms/token, \$[\d.]+/M tokens", result.stdout)
