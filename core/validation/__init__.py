"""Validation: published results tokenfab is calibrated and checked against."""
