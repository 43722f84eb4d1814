"""Predicted vs measured, for every public point in calibration_points.json.

    python benchmarks/check_calibration.py [--json]

Prints each prediction, the measurement, their ratio, and the median absolute error. Points
for backends that are not installed are skipped with a note.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys

import tokenfab
from tokenfab.serving import max_batch

HERE = pathlib.Path(__file__).resolve().parent


def predict(point: dict) -> float:
    options = {k: point[k] for k in ("devices", "tp", "pp", "weights", "activations", "kv") if k in point}
    batch = point["batch"]
    if isinstance(batch, str) and batch.startswith("max"):  # "max" or "max:<cap>"
        cap = int(batch[4:]) if batch.startswith("max:") else 65536
        batch = max_batch(
            point["model"],
            point["backend"],
            input_tokens=point["input_tokens"],
            output_tokens=point["output_tokens"],
            limit=cap,
            **options,
        )
    est = tokenfab.estimate(
        point["model"],
        point["backend"],
        batch=batch,
        input_tokens=point["input_tokens"],
        output_tokens=point["output_tokens"],
        **options,
    )
    point["predicted_batch"] = batch
    return getattr(est, point["metric"])


def main() -> int:
    points = json.loads((HERE / "calibration_points.json").read_text())["points"]
    installed = set(tokenfab.backends())
    rows, errors = [], []
    for point in points:
        if point["backend"] not in installed:
            rows.append({**point, "note": "backend not installed"})
            continue
        predicted = predict(point)
        ratio = predicted / point["value"]
        errors.append(abs(ratio - 1))
        rows.append({**point, "predicted": predicted, "ratio": ratio})
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'id':58} {'metric':14} {'measured':>10} {'predicted':>10} {'ratio':>6}  batch")
    for r in rows:
        if "predicted" in r:
            print(
                f"{r['id']:58} {r['metric']:14} {r['value']:10.4g} {r['predicted']:10.4g} {r['ratio']:6.2f}  "
                f"{r['predicted_batch']}"
            )
        else:
            print(f"{r['id']:58} {r['note']}")
    if errors:
        print(f"median |error| {statistics.median(errors):.1%} over {len(errors)} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
