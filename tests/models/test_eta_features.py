"""The ETA model's features: coded crosses hash exactly like the per-row strings they stand for."""

from __future__ import annotations

import numpy as np
import pandas as pd

from consortium.models.encoding import EncoderConfig, encode_categorical
from consortium.models.eta_features import CATEGORICAL_FIELDS, eta_categorical, eta_numeric


def _legs() -> pd.DataFrame:
    dep = pd.date_range("1969-12-31 21:47", periods=9, freq="977min", tz="Asia/Kolkata")
    return pd.DataFrame(
        {
            "mode": ["road", "sea", "road", None, "rail", "road", "sea", "air", "road"],
            "carrier": ["A|B", "A", None, "", np.nan, "A", "C", "A", "A|B"],
            "origin": ["DEHAM", "A", "DEHAM", "X", "DEHAM", "FRPAR", "B|C", "DEHAM", "DEHAM"],
            "destination": ["DEMUC"] * 4 + ["FRPAR", "DEHAM", "D", "DEMUC", "DEMUC"],
            "cargo_type": [1, "1", None, "bulk", 1.0, "", True, None, "reefer"],
            "scheduled_departure": dep,
            "scheduled_arrival": dep + pd.Timedelta(hours=30, seconds=31),
            "distance_km": [780.0, np.nan, 1.0, 5.0, 0.0, 900.0, 12.0, 3.0, 780.0],
        },
        index=[10, 3, 7, 1, 2, 99, 5, 6, 4],
    )


def _per_row(legs: pd.DataFrame) -> dict[str, list[str]]:
    """The fields spelled out row by row: the definition every trained model was hashed with."""

    def text(column: str) -> list[str]:
        return ["" if pd.isna(v) else str(v) for v in legs[column]]

    dep = legs["scheduled_departure"].dt.tz_convert("UTC")
    arr = legs["scheduled_arrival"].dt.tz_convert("UTC")
    mode, carrier, origin, dest = text("mode"), text("carrier"), text("origin"), text("destination")
    lane = [f"{o}>{d}" for o, d in zip(origin, dest, strict=True)]
    rows = list(zip(mode, carrier, dest, lane, dep, arr, strict=True))
    return {
        "mode": mode, "carrier": carrier, "origin": origin, "destination": dest,
        "cargo_type": text("cargo_type"), "lane": lane,
        "carrier_lane": [f"{c}|{la}" for _, c, _, la, _, _ in rows],
        "lane_departure_hour": [f"{la}|{d.hour}" for _, _, _, la, d, _ in rows],
        "mode_month": [f"{m}|{d.month}" for m, _, _, _, d, _ in rows],
        "carrier_weekday": [f"{c}|{d.day_of_week}" for _, c, _, _, d, _ in rows],
        "mode_departure_hour": [f"{m}|{d.hour}" for m, _, _, _, d, _ in rows],
        "destination_arrival_hour": [f"{de}|{a.hour}" for _, _, de, _, _, a in rows],
        "carrier_destination": [f"{c}|{de}" for _, c, de, _, _, _ in rows],
        "origin_departure_hour": [f"{o}|{d.hour}" for o, d in zip(origin, dep, strict=True)],
        "carrier_departure_hour": [f"{c}|{d.hour}" for _, c, _, _, d, _ in rows],
    }  # fmt: skip


def test_coded_fields_hash_like_the_per_row_strings_they_stand_for() -> None:
    # Prepare: missing values, numbers among text, separators inside codes, times before 1970
    legs = _legs()
    config = EncoderConfig(buckets=64)
    # Execute
    coded = eta_categorical(legs)
    spelled = {name: pd.Series(values) for name, values in _per_row(legs).items()}
    # Assert
    assert tuple(coded) == CATEGORICAL_FIELDS
    for name, field in coded.items():
        assert list(field.values[field.codes]) == list(spelled[name]), name
    assert np.array_equal(encode_categorical(coded, config=config),
                          encode_categorical(spelled, config=config))  # fmt: skip


def test_clock_features_follow_the_utc_calendar() -> None:
    legs = _legs()
    features = eta_numeric(legs)
    dep = legs["scheduled_departure"].dt.tz_convert("UTC")
    hour = (dep.dt.hour + dep.dt.minute / 60.0).to_numpy()
    assert np.allclose(features["departure_hour_sin"], np.sin(2 * np.pi * hour / 24.0))
    assert np.allclose(features["weekday_cos"], np.cos(2 * np.pi * dep.dt.day_of_week / 7.0))
    assert np.allclose(features["season_sin"], np.sin(2 * np.pi * dep.dt.day_of_year / 365.25))
    assert np.allclose(features["log_scheduled_hours"], np.log1p(30 + 31 / 3600))
