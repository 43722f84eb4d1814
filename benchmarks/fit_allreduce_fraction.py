"""Fit ``tokenfab.collectives.SERVING_ALLREDUCE_FRACTION`` on the validation points marked
``"calibrates": "SERVING_ALLREDUCE_FRACTION"`` (TensorRT-LLM v0.17, H200, Llama-3.1-70B FP8 at TP2,
TP4 and TP8 over nine workloads).

The fraction only changes how throughput varies with ``tp``, so it is fitted on that variation
alone: for each workload ``w`` the log-ratios ``e(tp, w) = ln(predicted / published)`` at TP4 and
TP8 should equal the one at TP2. The objective is::

    sum_w [e(4, w) - e(2, w)]^2 + [e(8, w) - e(2, w)]^2

minimised over a grid of fractions (0.40 .. 1.00, step 0.01). The absolute level of the rows (the
TP2 error) is left to the rest of the model: tuning it here would fit this constant to more than
its meaning. Run: ``python benchmarks/fit_allreduce_fraction.py`` (prints the table and the best).
"""

from __future__ import annotations

import collections
import math

from tokenfab import collectives, fastpath
from tokenfab.validation.validate import load_points, validate

CONSTANT = "SERVING_ALLREDUCE_FRACTION"


def calibration_points() -> list[dict]:
    return [p for p in load_points() if str(p.get("calibrates", "")).startswith(CONSTANT)]


def objective(points: list[dict], fraction: float) -> float:
    collectives.SERVING_ALLREDUCE_FRACTION = fraction
    fastpath.clear_caches()  # plans, builders and searches were derived with the old fraction
    errors: dict[tuple, dict[int, float]] = collections.defaultdict(dict)
    for row in validate(points=points).rows:
        cond = row.point["conditions"]
        workload = (cond["input_tokens"], cond["output_tokens"])
        errors[workload][cond["mapping"]["tp"]] = math.log(row.ratio)
    return sum((e[tp] - e[2]) ** 2 for e in errors.values() for tp in (4, 8) if tp in e and 2 in e)


def main() -> None:
    points = calibration_points()
    grid = [round(0.40 + 0.01 * i, 2) for i in range(61)]
    scores = {f: objective(points, f) for f in grid}
    for f in grid[::5]:
        print(f"fraction {f:.2f}: objective {scores[f]:.4f}")
    best = min(scores, key=scores.get)
    print(f"{len(points)} points; best fraction {best:.2f} (objective {scores[best]:.4f})")


if __name__ == "__main__":
    main()
