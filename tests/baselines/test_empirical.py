from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consortium.baselines import OnTimeRateBaseline, RouteMedianBaseline, ScheduleBaseline
from consortium.errors import ConfigError, ModelError


def _legs(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """Legs from (mode, origin, destination, delay minutes)."""
    scheduled = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    delays = pd.to_timedelta([r[3] for r in rows], "min")
    return pd.DataFrame(
        {
            "mode": [r[0] for r in rows],
            "origin": [r[1] for r in rows],
            "destination": [r[2] for r in rows],
            "scheduled_departure": scheduled - pd.Timedelta(hours=5),
            "scheduled_arrival": scheduled,
            "actual_arrival": scheduled + delays,
        }
    )


_TRAINING = _legs(
    [("road", "AAA", "BBB", d) for d in (10.0, 20.0, 30.0)]
    + [("road", "BBB", "CCC", d) for d in (100.0, 110.0, 120.0)]
    + [("sea", "XXX", "YYY", d) for d in (600.0, 600.0, 600.0)]
)


def test_route_median_uses_the_route_median_and_route_quantiles():
    # Prepare
    model = RouteMedianBaseline(level=0.5, tolerance_minutes=15, min_group_size=3).fit(_TRAINING)

    # Execute
    forecast = model.predict_eta(_legs([("road", "AAA", "BBB", 0.0)]))

    # Assert: quantiles 0.25 and 0.75 of (10, 20, 30) with linear interpolation
    assert forecast.iloc[0].tolist() == [20.0, 15.0, 25.0, 0.0]


def test_route_median_falls_back_to_the_mode_then_to_all_legs_for_unseen_lanes():
    # Prepare
    model = RouteMedianBaseline(level=0.8, tolerance_minutes=15, min_group_size=3).fit(_TRAINING)
    unseen = _legs([("road", "ZZZ", "QQQ", 0.0), ("air", "FRA", "JFK", 0.0)])

    # Execute
    forecast = model.predict_eta(unseen)

    # Assert: road median of (10, 20, 30, 100, 110, 120); overall median of all nine legs
    assert forecast["delay_minutes"].tolist() == [65.0, 110.0]
    assert forecast.notna().all().all()


def test_route_median_falls_back_when_a_route_has_too_few_legs():
    # Prepare
    model = RouteMedianBaseline(level=0.8, tolerance_minutes=15, min_group_size=4).fit(_TRAINING)

    # Execute
    forecast = model.predict_eta(_legs([("road", "AAA", "BBB", 0.0)]))

    # Assert: the three AAA-BBB legs are below the threshold, so the road median answers
    assert forecast["delay_minutes"].iloc[0] == 65.0


def test_route_median_survives_missing_keys():
    # Prepare
    model = RouteMedianBaseline(level=0.8, tolerance_minutes=15).fit(_TRAINING)
    legs = _legs([("road", "AAA", "BBB", 0.0)])
    legs["origin"] = None

    # Execute
    forecast = model.predict_eta(legs)

    # Assert
    assert forecast.notna().all().all()


def test_schedule_predicts_no_delay_with_the_overall_rate_and_interval():
    # Prepare
    model = ScheduleBaseline(level=0.5, tolerance_minutes=15).fit(_TRAINING)

    # Execute
    forecast = model.predict_eta(_legs([("rail", "NEW", "NEW", 0.0)]))

    # Assert: one on-time leg (10 min) of nine; quartiles of all nine delays
    all_delays = [10.0, 20.0, 30.0, 100.0, 110.0, 120.0, 600.0, 600.0, 600.0]
    assert forecast["delay_minutes"].iloc[0] == 0.0
    assert forecast["p_on_time"].iloc[0] == pytest.approx(1.0 / 9.0)
    assert forecast["delay_lower"].iloc[0] == np.quantile(all_delays, 0.25)
    assert forecast["delay_upper"].iloc[0] == np.quantile(all_delays, 0.75)


def test_on_time_rate_predicts_the_route_share_of_punctual_legs():
    # Prepare
    model = OnTimeRateBaseline(level=0.8, tolerance_minutes=20, min_group_size=3).fit(_TRAINING)

    # Execute
    forecast = model.predict_eta(_legs([("road", "AAA", "BBB", 0.0), ("road", "BBB", "CCC", 0.0)]))

    # Assert
    assert forecast["p_on_time"].tolist() == pytest.approx([2.0 / 3.0, 0.0])
    assert forecast["delay_minutes"].tolist() == [20.0, 110.0]


def test_empirical_baselines_ignore_unlabelled_training_legs():
    # Prepare
    legs = pd.concat([_TRAINING, _legs([("road", "AAA", "BBB", 0.0)])], ignore_index=True)
    legs.loc[len(legs) - 1, "actual_arrival"] = pd.NaT

    # Execute
    forecast = (
        RouteMedianBaseline(level=0.8, tolerance_minutes=15, min_group_size=3)
        .fit(legs)
        .predict_eta(_legs([("road", "AAA", "BBB", 0.0)]))
    )

    # Assert
    assert forecast["delay_minutes"].iloc[0] == 20.0


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"level": 1.0, "tolerance_minutes": 15}, "level"),
        ({"level": 0.0, "tolerance_minutes": 15}, "level"),
        ({"level": 0.8, "tolerance_minutes": -1}, "tolerance_minutes"),
        ({"level": 0.8, "tolerance_minutes": 15, "min_group_size": 0}, "min_group_size"),
    ],
)
def test_empirical_baselines_reject_bad_settings(arguments, name):
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        RouteMedianBaseline(**arguments)
    assert error.value.name == name


def test_predicting_before_fitting_names_the_baseline():
    # Execute / Assert
    with pytest.raises(ModelError) as error:
        ScheduleBaseline(level=0.8, tolerance_minutes=15).predict_eta(_TRAINING)
    assert error.value.path == "schedule"


def test_fitting_without_labelled_legs_is_refused():
    # Prepare
    legs = _TRAINING.assign(actual_arrival=pd.NaT)

    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        ScheduleBaseline(level=0.8, tolerance_minutes=15).fit(legs)
    assert error.value.name == "legs"
