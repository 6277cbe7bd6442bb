from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consortium.baselines import (
    BoostingParams,
    LightGBMBaseline,
    RouteMedianBaseline,
    ScheduleBaseline,
)
from consortium.data.targets import time_split
from consortium.errors import ConfigError, ModelError
from consortium.evaluation import evaluate_eta

_PARAMS = BoostingParams(num_boost_round=200, min_data_in_leaf=10)


def _fit_lightgbm(legs: pd.DataFrame, *, seed: int = 0) -> LightGBMBaseline:
    model = LightGBMBaseline(
        level=0.8, tolerance_minutes=15, num_threads=1, seed=seed, params=_PARAMS
    )
    return model.fit(legs)


@pytest.fixture(scope="module")
def split(synthetic_legs):
    parts = time_split(synthetic_legs, time_column="scheduled_departure")
    return pd.concat([parts.train, parts.valid]), parts.test


@pytest.fixture(scope="module")
def fitted(split):
    return _fit_lightgbm(split[0])


def test_lightgbm_beats_the_schedule_and_route_median_on_the_later_period(split, fitted):
    # Prepare
    earlier, later = split
    schedule = ScheduleBaseline(level=0.8, tolerance_minutes=15).fit(earlier)
    route = RouteMedianBaseline(level=0.8, tolerance_minutes=15).fit(earlier)

    # Execute
    report = evaluate_eta(
        {"schedule": schedule, "route": route, "lightgbm": fitted}, later, tolerance_minutes=15
    )

    # Assert
    assert report.loc["lightgbm", "mae"] < report.loc["schedule", "mae"]
    assert report.loc["lightgbm", "mae"] < report.loc["route", "mae"]
    assert report.loc["lightgbm", "on_time_brier"] < report.loc["schedule", "on_time_brier"]
    assert 0.7 <= report.loc["lightgbm", "coverage"] <= 0.95


def test_lightgbm_intervals_contain_the_point(split, fitted):
    # Execute
    forecast = fitted.predict_eta(split[1])

    # Assert
    assert (forecast["delay_lower"] <= forecast["delay_minutes"]).all()
    assert (forecast["delay_minutes"] <= forecast["delay_upper"]).all()
    assert forecast["p_on_time"].between(0.0, 1.0).all()
    assert forecast.index.equals(split[1].index)


def test_lightgbm_is_deterministic_for_a_seed(split, fitted):
    # Execute
    again = _fit_lightgbm(split[0], seed=0)

    # Assert
    pd.testing.assert_frame_equal(fitted.predict_eta(split[1]), again.predict_eta(split[1]))


def test_lightgbm_handles_unseen_categories_and_missing_context(split, fitted):
    # Prepare
    legs = split[1].head(5).copy()
    legs["carrier"] = "NEWCARRIER"
    legs["origin"] = ["QQQ", "RRR", None, "AAA", "AAA"]
    legs["mode"] = "hyperloop"
    legs = legs.drop(columns=["wind_speed", "cargo_type"])

    # Execute
    forecast = fitted.predict_eta(legs)

    # Assert
    assert np.isfinite(forecast.to_numpy()).all()
    assert len(forecast) == 5


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"level": 1.5}, "level"),
        ({"tolerance_minutes": -5}, "tolerance_minutes"),
        ({"num_threads": 0}, "num_threads"),
    ],
)
def test_lightgbm_rejects_bad_settings(arguments, name):
    # Prepare
    settings = {"level": 0.8, "tolerance_minutes": 15, **arguments}

    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        LightGBMBaseline(**settings)
    assert error.value.name == name


@pytest.mark.parametrize(
    ("arguments", "name"),
    [({"num_boost_round": 0}, "num_boost_round"), ({"valid_fraction": 1.0}, "valid_fraction")],
)
def test_boosting_params_reject_bad_values(arguments, name):
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        BoostingParams(**arguments)
    assert error.value.name == name


def test_lightgbm_refuses_to_predict_before_fitting(split):
    # Execute / Assert
    with pytest.raises(ModelError) as error:
        LightGBMBaseline(level=0.8, tolerance_minutes=15).predict_eta(split[1])
    assert error.value.path == "lightgbm"
