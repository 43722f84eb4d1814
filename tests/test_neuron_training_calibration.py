"""NeuronCore-v2's sustained training GEMM fraction is a least-squares fit over the three Llama 2 rows of AWS's
Trn1 training table (calibration points, never one point): recompute it, check the shipped constant is its
optimum, and that the Llama 3.1 rows of a later Neuron release (checks) were not used."""

from __future__ import annotations

import tokenfab
from _calibration import points_log_error, trial_registry
from tokenfab.training.validation import predict_training
from tokenfab.validation.validate import load_points

CALIBRATES = "trainium efficiency.gemm_sustained"


def _calibration_points() -> list[dict]:
    return [p for p in load_points() if p["role"] == "calibration" and p.get("calibrates", "").startswith(CALIBRATES)]


def _log_error(fraction: float) -> float:
    """Sum over the calibration points of log(predicted / published tokens/s per chip)^2 at ``fraction``."""
    sustained = {"bf16": fraction, "fp16": fraction}
    registry = trial_registry("trainium:trn1", "trial:neuron", gemm_sustained=sustained)
    return points_log_error(_calibration_points(), predict_training, registry, "trial:neuron")


def test_three_llama2_rows_calibrate_and_the_llama31_rows_check():
    points = load_points()
    calibration = _calibration_points()
    assert {p["model"] for p in calibration} == {"llama-2-7b", "llama-2-13b", "llama-2-70b"}
    checks = [p for p in points if p["kind"] == "training" and p["backend"] == "trainium:trn1" and p["role"] == "check"]
    assert {p["model"] for p in checks} == {"llama-3.1-8b", "llama-3.1-70b"}


def test_shipped_sustained_fraction_is_the_least_squares_optimum():
    efficiency = tokenfab.get_backend("trainium:trn1").efficiency
    shipped = efficiency.sustained_gemm_fraction("bf16")
    assert shipped != efficiency.gemm_fraction("bf16")  # training no longer inherits the prefill 0.22
    step = 0.01
    here = _log_error(shipped)
    assert here <= _log_error(shipped - step) and here <= _log_error(shipped + step)


def test_inference_keeps_the_prefill_fraction():
    # The training figure is a separate field: Trn1 prefill GEMMs still run at the TTFT-calibrated 0.22.
    assert tokenfab.get_backend("trainium:trn1").efficiency.gemm_fraction("bf16") == 0.22
    assert tokenfab.get_backend("trainium:inf2").efficiency.gemm_sustained == {}
