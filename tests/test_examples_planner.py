"""The planner examples run and print verdicts whose numbers agree with the rows they summarise."""

import re
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(capsys, name):
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    assert "nan" not in out and "inf" not in out.replace("info", "")
    verdicts = [line for line in out.splitlines() if "verdict:" in line]
    assert verdicts, out
    return out, verdicts


def dollars(text):
    return [float(x) for x in re.findall(r"\$([0-9.]+)", text)]


def test_cheapest_chip(capsys):
    out, verdicts = run_example(capsys, "cheapest_chip.py")
    assert len(verdicts) == 2  # at 50 and at 500 tok/s per user
    blocks = out.split("llama-3.3-70b at >= ")[1:]
    for block in blocks:
        rows = [line for line in block.splitlines() if "/Mtok output" in line]
        verdict = next(line for line in block.splitlines() if "verdict:" in line)
        if "is cheapest" in verdict:
            # the verdict names the first (cheapest) row and its price
            assert rows[0].strip().startswith(verdict.split("verdict: ")[1].split(" ")[0])
            assert dollars(verdict)[0] == dollars(rows[0])[0]
            costs = [dollars(r)[0] for r in rows]
            assert costs == sorted(costs)


def test_moe_vs_dense(capsys):
    out, (verdict,) = run_example(capsys, "moe_vs_dense.py")
    moe, dense = (line for line in out.splitlines() if "cheapest at >= 30" in line)
    ratio = float(re.search(r"\(([0-9.]+)x Llama", verdict).group(1))
    assert ratio == pytest.approx(dollars(moe)[0] / dollars(dense)[0], rel=0.02)


def test_precision(capsys):
    out, verdicts = run_example(capsys, "precision.py")
    assert len(verdicts) == 3
    for line in out.splitlines():
        if line.startswith(("nvidia", "amd")):
            bf16, fp8, _ = dollars(line)
            verdict = verdicts[[v for v in out.splitlines() if v.startswith(("nvidia", "amd"))].index(line)]
            assert float(re.search(r"FP8 ([0-9.]+)x", verdict).group(1)) == pytest.approx(bf16 / fp8, rel=0.02)


def test_speculative_load(capsys):
    out, (verdict,) = run_example(capsys, "speculative_load.py")
    speedups = [float(x) for x in re.findall(r"\(([0-9.]+)x\);", out)]
    assert len(speedups) == 4 and speedups == sorted(speedups, reverse=True)  # the gain shrinks with load
    assert f"{speedups[0]:.2f}x faster" in verdict and f"{speedups[-1]:.2f}x" in verdict


def test_sram_latency(capsys):
    out, (verdict,) = run_example(capsys, "sram_latency.py")
    assert "faster per user than the fastest GPU" in verdict
    assert "groq:lpu:" in out and "cerebras:wse-3:" in out
