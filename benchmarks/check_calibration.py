"""Predicted vs published for every public point tokenfab ships (tokenfab/validation/points.json).

    python benchmarks/check_calibration.py [--vendor V] [--role check|calibration|all] [--json]

Kept for old habits: it runs ``tokenfab validate`` with the same options.
"""

from __future__ import annotations

import sys

from tokenfab.cli import main

if __name__ == "__main__":
    sys.exit(main(["validate", *sys.argv[1:]]))
