"""Forecast evaluation: pure metrics, side-by-side reports of predictors, reliability diagrams."""

from consortium.evaluation.metrics import (
    HOURS_OUT_BUCKETS,
    eta_point_metrics,
    interval_metrics,
    mae_by_hours_out,
    probability_metrics,
)
from consortium.evaluation.reliability import plot_reliability, reliability_curve
from consortium.evaluation.report import (
    ETA_REPORT_COLUMNS,
    STOCK_REPORT_COLUMNS,
    evaluate_eta,
    evaluate_stock,
)

__all__ = [
    "ETA_REPORT_COLUMNS",
    "HOURS_OUT_BUCKETS",
    "STOCK_REPORT_COLUMNS",
    "eta_point_metrics",
    "evaluate_eta",
    "evaluate_stock",
    "interval_metrics",
    "mae_by_hours_out",
    "plot_reliability",
    "probability_metrics",
    "reliability_curve",
]
