from __future__ import annotations

import pandas as pd
import pytest

from consortium.baselines import RouteMedianBaseline, ScheduleBaseline, StockRateBaseline
from consortium.errors import ConfigError, ModelError
from consortium.evaluation import ETA_REPORT_COLUMNS, evaluate_eta, evaluate_stock


def _legs() -> pd.DataFrame:
    scheduled = pd.to_datetime(["2024-01-01 10:00"] * 4, utc=True)
    return pd.DataFrame(
        {
            "mode": "road",
            "origin": ["AAA", "AAA", "BBB", "BBB"],
            "destination": "CCC",
            "scheduled_arrival": scheduled,
            "actual_arrival": pd.to_datetime(
                ["2024-01-01 10:10", "2024-01-01 10:30", "2024-01-01 11:00", None], utc=True
            ),
        },
        index=[7, 8, 9, 10],
    )


class _LabelWatcher:
    """A predictor that records whether it could see any arrival label."""

    name = "watcher"

    def __init__(self) -> None:
        self.saw_labels: bool | None = None

    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        self.saw_labels = bool(legs["actual_arrival"].notna().any())
        return pd.DataFrame(
            {"delay_minutes": 0.0, "delay_lower": 0.0, "delay_upper": 0.0, "p_on_time": 0.5},
            index=legs.index,
        )


class _MissingColumns:
    name = "broken"

    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"delay_minutes": 0.0}, index=legs.index)


def test_evaluate_eta_scores_each_model_on_labelled_legs():
    # Prepare: delays 10, 30 and 60 minutes; the fourth leg has no label
    legs = _legs()
    schedule = ScheduleBaseline(level=0.8, tolerance_minutes=15).fit(legs)
    route = RouteMedianBaseline(level=0.8, tolerance_minutes=15, min_group_size=1).fit(legs)

    # Execute
    report = evaluate_eta({"schedule": schedule, "route": route}, legs, tolerance_minutes=15)

    # Assert
    assert list(report.columns) == list(ETA_REPORT_COLUMNS)
    assert report.index.tolist() == ["schedule", "route"]
    assert report.loc["schedule", "mae"] == pytest.approx(100.0 / 3.0)
    assert report.loc["route", "mae"] == pytest.approx(20.0 / 3.0)  # AAA median 20, BBB 60
    assert report.loc["schedule", "n"] == 3
    assert report.loc["route", "on_time_auc"] == 0.5  # both medians late: p_on_time is 0 for all


def test_evaluate_eta_hides_arrival_labels_from_predictors():
    # Prepare
    watcher = _LabelWatcher()

    # Execute
    evaluate_eta({"watcher": watcher}, _legs(), tolerance_minutes=15)

    # Assert
    assert watcher.saw_labels is False


def test_evaluate_eta_names_the_model_whose_forecast_lacks_columns():
    # Execute / Assert
    with pytest.raises(ModelError) as error:
        evaluate_eta({"broken": _MissingColumns()}, _legs(), tolerance_minutes=15)
    assert error.value.path == "broken"


def test_evaluate_eta_rejects_no_predictors():
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        evaluate_eta({}, _legs(), tolerance_minutes=15)
    assert error.value.name == "predictors"


def test_evaluate_stock_scores_rows_with_an_observed_horizon_only():
    # Prepare: W1 runs out after days 0 and 2; W2 never does
    stock = pd.DataFrame(
        {
            "warehouse_id": ["W1"] * 4 + ["W2"] * 4,
            "date": list(pd.date_range("2024-01-01", periods=4)) * 2,
            "on_hand_units": [5.0, 0.0, 3.0, 0.0, 5.0, 6.0, 7.0, 8.0],
            "capacity_units": 10.0,
        }
    )
    model = StockRateBaseline(horizon_days=1, min_group_size=1).fit(stock)

    # Execute
    report = evaluate_stock({"rate": model}, stock, horizon_days=1)

    # Assert: W1 rate 2/3 on rows (1, 0, 1), W2 rate 0 on rows (0, 0, 0)
    assert report.loc["rate", "n"] == 6
    expected_brier = ((1 / 3) ** 2 * 2 + (2 / 3) ** 2) / 6
    assert report.loc["rate", "stockout_brier"] == pytest.approx(expected_brier)
    assert report.loc["rate", "stockout_auc"] == 0.875  # ties within W1 count half
    assert report.loc["rate", "overflow_brier"] == 0.0
