"""The long fuzz run (issue 12): the properties of tests/test_fuzz.py on thousands of examples.

    python tools/fuzz.py                 # 5000 examples per property (about 20 minutes on 2 cores)
    python tools/fuzz.py --examples 200  # a quick look
    tools/sanitize_kernel.sh --long      # the same fuzz tests against an ASan/UBSan kernel

Property: every API call, CLI command line, Hugging Face config and TOML pack gives a finite
result or a one-line TokenfabError: never another exception, a hang (60 s per call), inf/NaN
or invalid JSON. Exit status 0 means clean; Hypothesis prints the smallest failing input.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per property (default 5000)")
    args = parser.parse_args()
    env = {**os.environ, "TOKENFAB_FUZZ_EXAMPLES": str(args.examples)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_fuzz.py")]
    return subprocess.call(command, env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
