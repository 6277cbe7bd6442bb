"""The per-member metrics table of the notebooks' cards: every metric column with its unit."""

from __future__ import annotations

import re

from consortium.widgets import metrics_html
from consortium.widgets.metric_labels import METRIC_LABELS


def test_every_metric_column_is_named_with_its_unit_and_scaled() -> None:
    # Prepare: an ETA member and a stock member, as a model card reports them
    metrics = {
        "rhine-road": {"mae": 76.25, "rmse": 98.0, "coverage": 0.776, "mean_width": 310.0,
                       "on_time_auc": 0.61, "on_time_brier": 0.2, "test_rows": 750.0, "n": 750.0,
                       "epsilon_spent": 1.5},
        "duisburg-dc": {"stockout_auc": 0.48, "test_rows": 1200.0},
    }  # fmt: skip
    # Execute
    text = metrics_html(metrics)
    # Assert: headers are the labelled names (units in them), values scaled, gaps shown as –
    header = re.findall(r"<th[^>]*>(.*?)</th>", text)
    assert header[:2] == ["member", "test rows"]
    assert set(header[2:]) == {
        METRIC_LABELS[k][0] for k in ("mae", "rmse", "coverage", "mean_width", "on_time_auc",
                                      "on_time_brier", "stockout_auc", "epsilon_spent")
    }  # fmt: skip
    assert all("(" in h or h == "ε spent" for h in header[2:])
    assert header[-1] == "ε spent"
    assert ">77.6<" in text  # coverage in percent
    assert ">1,200<" in text
    assert "–" in text
    assert "n" not in header
    assert "coverage" not in header
