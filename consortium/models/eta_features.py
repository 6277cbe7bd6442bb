"""What the ETA model sees of a leg: only what is known before departure.

Categorical fields (raw codes and their crosses) are hashed into embedding buckets; numeric
features are transformed into well-scaled values (logs, cyclic hour/day/season encodings) whose
statistics are additive. ``actual_departure`` and ``actual_arrival`` are never inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

REQUIRED_COLUMNS: tuple[str, ...] = (
    "mode",
    "carrier",
    "origin",
    "destination",
    "scheduled_departure",
    "scheduled_arrival",
)
CONTEXT_COLUMNS: tuple[str, ...] = (
    "wind_speed",
    "precipitation",
    "visibility",
    "temperature",
    "congestion_index",
)
CATEGORICAL_FIELDS: tuple[str, ...] = (
    "mode",
    "carrier",
    "origin",
    "destination",
    "cargo_type",
    "lane",
    "carrier_lane",
    "lane_departure_hour",
    "mode_month",
    "carrier_weekday",
    "mode_departure_hour",
    "destination_arrival_hour",
)
NUMERIC_FEATURES: tuple[str, ...] = (
    "log_distance_km",
    "log_scheduled_hours",
    "log_scheduled_speed_kmh",
    "departure_hour_sin",
    "departure_hour_cos",
    "arrival_hour_sin",
    "arrival_hour_cos",
    "weekday_sin",
    "weekday_cos",
    "season_sin",
    "season_cos",
    "wind_speed",
    "log_precipitation",
    "visibility",
    "temperature",
    "congestion_index",
)


def _text(legs: pd.DataFrame, column: str) -> pd.Series:
    if column not in legs.columns:
        return pd.Series("", index=legs.index, dtype="object")
    return legs[column].astype("object").where(legs[column].notna(), "").astype(str)


def _number(legs: pd.DataFrame, column: str) -> np.ndarray:
    if column not in legs.columns:
        return np.full(len(legs), np.nan)
    return pd.to_numeric(legs[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _utc(legs: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_datetime(legs[column], utc=True)
    if values.isna().any():
        raise ConfigError(column, f"{int(values.isna().sum())} legs have no {column}")
    return values


def eta_categorical(legs: pd.DataFrame) -> dict[str, pd.Series]:
    """Return the categorical fields of :data:`CATEGORICAL_FIELDS` as strings, aligned to legs."""
    missing = [c for c in REQUIRED_COLUMNS if c not in legs.columns]
    if missing:
        raise ConfigError("legs", f"missing columns: {', '.join(missing)}")
    dep, arr = _utc(legs, "scheduled_departure"), _utc(legs, "scheduled_arrival")
    mode, carrier = _text(legs, "mode"), _text(legs, "carrier")
    origin, destination = _text(legs, "origin"), _text(legs, "destination")
    lane = origin + ">" + destination
    dep_hour = dep.dt.hour.astype(str)
    fields = {
        "mode": mode,
        "carrier": carrier,
        "origin": origin,
        "destination": destination,
        "cargo_type": _text(legs, "cargo_type"),
        "lane": lane,
        "carrier_lane": carrier + "|" + lane,
        "lane_departure_hour": lane + "|" + dep_hour,
        "mode_month": mode + "|" + dep.dt.month.astype(str),
        "carrier_weekday": carrier + "|" + dep.dt.day_of_week.astype(str),
        "mode_departure_hour": mode + "|" + dep_hour,
        "destination_arrival_hour": destination + "|" + arr.dt.hour.astype(str),
    }
    return {name: fields[name] for name in CATEGORICAL_FIELDS}


def eta_numeric(legs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return the transformed numeric features of :data:`NUMERIC_FEATURES` (NaN = missing)."""
    dep, arr = _utc(legs, "scheduled_departure"), _utc(legs, "scheduled_arrival")
    hours = ((arr - dep).dt.total_seconds() / 3600.0).to_numpy(np.float64)
    distance = _number(legs, "distance_km")
    speed = np.divide(distance, hours, out=np.full_like(hours, np.nan), where=hours > 0)
    two_pi = 2.0 * np.pi
    dep_h = (dep.dt.hour + dep.dt.minute / 60.0).to_numpy(np.float64)
    arr_h = (arr.dt.hour + arr.dt.minute / 60.0).to_numpy(np.float64)
    weekday = dep.dt.day_of_week.to_numpy(np.float64)
    season = dep.dt.day_of_year.to_numpy(np.float64) / 365.25
    values = {
        "log_distance_km": np.log1p(np.clip(distance, 0.0, None)),
        "log_scheduled_hours": np.log1p(np.clip(hours, 0.0, None)),
        "log_scheduled_speed_kmh": np.log1p(np.clip(speed, 0.0, None)),
        "departure_hour_sin": np.sin(two_pi * dep_h / 24.0),
        "departure_hour_cos": np.cos(two_pi * dep_h / 24.0),
        "arrival_hour_sin": np.sin(two_pi * arr_h / 24.0),
        "arrival_hour_cos": np.cos(two_pi * arr_h / 24.0),
        "weekday_sin": np.sin(two_pi * weekday / 7.0),
        "weekday_cos": np.cos(two_pi * weekday / 7.0),
        "season_sin": np.sin(two_pi * season),
        "season_cos": np.cos(two_pi * season),
        "wind_speed": _number(legs, "wind_speed"),
        "log_precipitation": np.log1p(np.clip(_number(legs, "precipitation"), 0.0, None)),
        "visibility": _number(legs, "visibility"),
        "temperature": _number(legs, "temperature"),
        "congestion_index": _number(legs, "congestion_index"),
    }
    return {name: values[name] for name in NUMERIC_FEATURES}


def to_delay_space(delay_minutes: np.ndarray, *, scale_minutes: float) -> np.ndarray:
    """Map delays to the robust signed-log space ``sign(y) log1p(|y| / scale)``."""
    y = np.asarray(delay_minutes, dtype=np.float64)
    return np.sign(y) * np.log1p(np.abs(y) / scale_minutes)


def from_delay_space(z: np.ndarray, *, scale_minutes: float) -> np.ndarray:
    """Invert :func:`to_delay_space` (monotone, so quantiles map to quantiles)."""
    z = np.asarray(z, dtype=np.float64)
    return np.sign(z) * np.expm1(np.abs(np.clip(z, -30.0, 30.0))) * scale_minutes
