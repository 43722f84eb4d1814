"""Validation: published results tokenfab is calibrated and checked against (``points.json``)."""

from .validate import (
    PREDICTORS,
    PointResult,
    Summary,
    ValidationReport,
    load_points,
    register_predictor,
    summarise,
    validate,
)

__all__ = [
    "PREDICTORS",
    "PointResult",
    "Summary",
    "ValidationReport",
    "load_points",
    "register_predictor",
    "summarise",
    "validate",
]
