"""Detectors: small modules of polars expressions that add feature columns to the batch.

Each module defines ``DETECTOR`` (see :mod:`detectors.base`).  Rules name a detector by its
``name`` — that name is also the flag's ``kind``.
"""

from detectors import (
    amount_spike,
    cancel_reorder,
    credit_limit,
    duplicate_order,
    flag_cluster,
    missing_address,
    payment_mismatch,
    price_deviation,
    stage_overdue,
    step_mismatch,
    volume_surge,
)
from detectors.base import SUBJECT_COLUMNS, DetectContext, Detector

REGISTRY: dict[str, Detector] = {
    m.DETECTOR.name: m.DETECTOR
    for m in (volume_surge, amount_spike, step_mismatch, stage_overdue, missing_address,
              duplicate_order, price_deviation, payment_mismatch, cancel_reorder, credit_limit, flag_cluster)
}

__all__ = ["REGISTRY", "SUBJECT_COLUMNS", "DetectContext", "Detector"]
