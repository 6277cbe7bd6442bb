from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consortium.errors import ConfigError
from consortium.evaluation import (
    eta_point_metrics,
    interval_metrics,
    mae_by_hours_out,
    probability_metrics,
)


def test_eta_point_metrics_match_hand_computed_errors():
    # Prepare: errors 5, 0 and -6 minutes
    y_true = [0.0, 10.0, 20.0]
    y_pred = [5.0, 10.0, 14.0]

    # Execute
    metrics = eta_point_metrics(y_true, y_pred)

    # Assert
    assert metrics["mae"] == pytest.approx(11.0 / 3.0)
    assert metrics["rmse"] == pytest.approx(math.sqrt(61.0 / 3.0))
    assert metrics["median_ae"] == 5.0


def test_eta_point_metrics_reject_arrays_of_different_length():
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        eta_point_metrics([1.0, 2.0], [1.0])
    assert error.value.name == "y_pred"


def test_interval_metrics_count_bounds_as_inside():
    # Prepare: the first two truths sit exactly on a bound, the last is above the interval
    y_true = np.array([0.0, 10.0, 5.0, 30.0])
    lower = np.array([0.0, 0.0, 0.0, 0.0])
    upper = np.array([10.0, 10.0, 20.0, 20.0])

    # Execute
    metrics = interval_metrics(y_true, lower, upper)

    # Assert
    assert metrics["coverage"] == 0.75
    assert metrics["mean_width"] == 15.0


def test_probability_metrics_match_hand_computed_scores():
    # Prepare
    y_true = [True, False, True, False]
    p = [0.9, 0.2, 0.6, 0.5]

    # Execute
    metrics = probability_metrics(y_true, p)

    # Assert: both positives rank above both negatives
    assert metrics["auc"] == 1.0
    assert metrics["brier"] == pytest.approx((0.01 + 0.04 + 0.16 + 0.25) / 4)
    expected_log_loss = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.5)) / 4
    assert metrics["log_loss"] == pytest.approx(expected_log_loss)


def test_probability_metrics_give_nan_auc_for_a_single_class():
    # Execute
    metrics = probability_metrics([True, True], [0.5, 1.0])

    # Assert
    assert math.isnan(metrics["auc"])
    assert metrics["brier"] == pytest.approx(0.125)


@pytest.mark.parametrize("bad", [[0.5, 1.2], [0.5, -0.1], [0.5, float("nan")]])
def test_probability_metrics_reject_values_that_are_not_probabilities(bad):
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        probability_metrics([True, False], bad)
    assert error.value.name == "p"


def test_mae_by_hours_out_buckets_by_time_under_way_and_skips_unknown_departures():
    # Prepare: 3 h, 30 h and 30 h under way, plus one leg without actual_departure
    departure = pd.to_datetime(
        ["2024-01-01 00:00", "2024-01-01 00:00", "2024-01-01 00:00", None], utc=True
    )
    arrival = pd.to_datetime(
        ["2024-01-01 03:00", "2024-01-02 06:00", "2024-01-02 06:00", "2024-01-01 01:00"], utc=True
    )
    legs = pd.DataFrame({"actual_departure": departure, "actual_arrival": arrival})

    # Execute
    table = mae_by_hours_out(legs, [0.0, 0.0, 0.0, 0.0], [10.0, 20.0, -40.0, 99.0])

    # Assert
    assert table["hours_from"].tolist() == [0.0, 6.0, 24.0, 72.0, 168.0]
    assert table["n"].tolist() == [1, 0, 2, 0, 0]
    assert table["mae"].iloc[0] == 10.0
    assert table["mae"].iloc[2] == 30.0
    assert table["mae"].iloc[[1, 3, 4]].isna().all()


def test_mae_by_hours_out_rejects_edges_that_do_not_increase():
    # Prepare
    legs = pd.DataFrame({"actual_departure": [], "actual_arrival": []})

    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        mae_by_hours_out(legs, [], [], buckets=(0.0, 24.0, 12.0))
    assert error.value.name == "buckets"


_FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(st.tuples(_FINITE, _FINITE, _FINITE), min_size=1, max_size=60))
def test_coverage_is_the_share_of_truths_inside_their_interval(rows):
    # Prepare
    y_true = np.array([r[0] for r in rows])
    lower = np.array([min(r[1], r[2]) for r in rows])
    upper = np.array([max(r[1], r[2]) for r in rows])
    inside = sum(1 for y, lo, hi in zip(y_true, lower, upper, strict=True) if lo <= y <= hi)

    # Execute
    coverage = interval_metrics(y_true, lower, upper)["coverage"]

    # Assert
    assert 0.0 <= coverage <= 1.0
    assert coverage == pytest.approx(inside / len(rows))
