"""Test metrics shown with their units: minutes, percent, 0-1 scores."""

from __future__ import annotations

import math

import pytest

from consortium.widgets.metric_labels import metrics_frame


def test_each_metric_is_labelled_with_its_unit_and_shares_are_percent() -> None:
    # Prepare
    per_member = {"rhine-road": {"mae": 76.29, "coverage": 0.776, "on_time_auc": 0.48, "n": 750.0},
                  "duisburg-dc": {"stockout_brier": 0.2, "test_rows": 183.0}}  # fmt: skip

    # Execute
    frame = metrics_frame(per_member)

    # Assert
    expected = ["test rows", "MAE (min)", "interval coverage (%)",
                "on-time AUC (0.5 = coin toss)", "stock-out Brier (0-1)"]  # fmt: skip
    assert frame.columns.tolist() == expected
    assert frame.loc["rhine-road", "interval coverage (%)"] == pytest.approx(77.6)
    assert frame.loc["rhine-road", "MAE (min)"] == pytest.approx(76.29)
    assert math.isnan(frame.loc["duisburg-dc", "MAE (min)"])


def test_an_unknown_metric_is_kept_under_its_own_name() -> None:
    assert metrics_frame({"a": {"new_score": 1.5}}).loc["a", "new_score"] == pytest.approx(1.5)
