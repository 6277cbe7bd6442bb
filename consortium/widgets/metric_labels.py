"""Test metrics for people: each column named with its unit, shares in percent.

Pure (pandas only). A card's ``metrics_per_member`` becomes one row per member with labelled
columns: errors of the arrival delay in minutes, coverage and on-time shares in percent, Brier
scores on their 0-1 scale and AUCs as they are (0.5 = a coin toss, 1 = perfect).

Examples
--------
>>> frame = metrics_frame({"a": {"mae": 76.3, "coverage": 0.776, "test_rows": 750.0}})
>>> frame.columns.tolist()
['test rows', 'MAE (min)', 'interval coverage (%)']
>>> frame.loc["a"].tolist()
[750.0, 76.3, 77.6]
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["METRIC_LABELS", "metrics_frame"]

METRIC_LABELS: dict[str, tuple[str, float]] = {
    "test_rows": ("test rows", 1.0),
    "mae": ("MAE (min)", 1.0),
    "rmse": ("RMSE (min)", 1.0),
    "mean_width": ("mean interval width (min)", 1.0),
    "coverage": ("interval coverage (%)", 100.0),
    "on_time_auc": ("on-time AUC (0.5 = coin toss)", 1.0),
    "on_time_brier": ("on-time Brier (0-1)", 1.0),
    "stockout_auc": ("stock-out AUC (0.5 = coin toss)", 1.0),
    "stockout_brier": ("stock-out Brier (0-1)", 1.0),
    "overflow_auc": ("overflow AUC (0.5 = coin toss)", 1.0),
    "overflow_brier": ("overflow Brier (0-1)", 1.0),
    "epsilon_spent": ("ε spent", 1.0),
}
"""Metric name to (label with unit, factor applied to the value)."""

_SKIPPED = ("n",)


def metrics_frame(per_member: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Return one row per member with labelled, scaled metric columns (unknown ones kept as is)."""
    rows: dict[str, dict[str, float]] = {}
    order = list(METRIC_LABELS)
    names = sorted({k for m in per_member.values() for k in m} - set(_SKIPPED),
                   key=lambda k: (order.index(k) if k in order else len(order), k))  # fmt: skip
    for member, metrics in per_member.items():
        row = {}
        for name in names:
            label, factor = METRIC_LABELS.get(name, (name, 1.0))
            value = metrics.get(name)
            row[label] = float(value) * factor if value is not None else float("nan")
        rows[member] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "member"
    return frame.round(3)
