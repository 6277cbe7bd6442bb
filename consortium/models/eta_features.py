"""What the ETA model sees of a leg: only what is known before departure.

Categorical fields (raw codes and their crosses) are hashed into embedding buckets; numeric
features are transformed into well-scaled values (logs, cyclic hour/day/season encodings, the
origin's recent delay in the target's signed log) whose statistics are additive. A context number
is known when the forecast is made or missing (a forecast days ahead has no recent delay).
``actual_departure`` and ``actual_arrival`` are never inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consortium.errors import ConfigError
from consortium.models.encoding import Coded

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
    "origin_recent_delay_minutes",
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
    "carrier_destination",
    "origin_departure_hour",
    "carrier_departure_hour",
)
"""Hashed fields: the codes, the lane, crosses of carrier, origin and destination with each other
and with the scheduled hour, weekday and month (hub banks, a carrier's network, the season)."""
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
    "origin_recent_delay",
)
"""Transformed numbers; a missing one is standardised to 0 beside its own missing flag
(:func:`~consortium.models.encoding.standardise`), so a leg without a context column (a forecast
made days ahead) still gets a finite forecast."""

RECENT_DELAY_SCALE_MINUTES = 30.0
"""Scale of the origin's recent delay in the signed log (like the target's, see :mod:`.eta`)."""


def _number(legs: pd.DataFrame, column: str) -> np.ndarray:
    if column not in legs.columns:
        return np.full(len(legs), np.nan)
    return pd.to_numeric(legs[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _utc(legs: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_datetime(legs[column], utc=True)
    if values.isna().any():
        raise ConfigError(column, f"{int(values.isna().sum())} legs have no {column}")
    return values


def _distinct(codes: np.ndarray, strings: list[str]) -> Coded:
    """Merge equal strings (``1`` and ``"1"`` both read ``"1"``) so the values are distinct."""
    if len(set(strings)) == len(strings):
        return Coded(codes, np.asarray(strings, dtype=object))
    merged, distinct = pd.factorize(np.asarray(strings, dtype=object))
    return Coded(merged[codes], np.asarray(distinct, dtype=object))


def _coded_text(legs: pd.DataFrame, column: str) -> Coded:
    """Return the column as text (missing, or absent: ``""``), coded by distinct value."""
    if column not in legs.columns:
        return Coded(np.zeros(len(legs), dtype=np.intp), np.asarray([""], dtype=object))
    values = legs[column].to_numpy(dtype=object, na_value=None)
    if legs[column].dtype == object:  # mixed types: 1 == 1.0 == True, yet they read differently
        values = np.asarray([v if v is None else str(v) for v in values], dtype=object)
    codes, uniques = pd.factorize(values)
    strings = [str(u) for u in uniques] + [""]
    return _distinct(np.where(codes < 0, len(uniques), codes), strings)


def _coded_ints(values: np.ndarray) -> Coded:
    uniques, codes = np.unique(values, return_inverse=True)
    return Coded(codes, np.asarray([str(u) for u in uniques.tolist()], dtype=object))


def _cross(left: Coded, sep: str, right: Coded) -> Coded:
    """``left + sep + right`` per row, joining strings once per distinct pair, not per row."""
    width = len(right.values)
    pairs, codes = np.unique(left.codes.astype(np.int64) * width + right.codes, return_inverse=True)
    strings = [f"{left.values[p // width]}{sep}{right.values[p % width]}" for p in pairs.tolist()]
    return _distinct(codes, strings)


def _seconds(values: pd.Series) -> np.ndarray:
    """Whole seconds since 1970-01-01 UTC of tz-aware times (int64)."""
    return values.dt.tz_localize(None).to_numpy("datetime64[s]").astype(np.int64)


def _hour(seconds: np.ndarray) -> np.ndarray:
    return (seconds % 86_400) // 3_600


def _minute(seconds: np.ndarray) -> np.ndarray:
    return (seconds % 3_600) // 60


def _weekday(seconds: np.ndarray) -> np.ndarray:
    return (seconds // 86_400 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0


def _month(seconds: np.ndarray) -> np.ndarray:
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _day_of_year(seconds: np.ndarray) -> np.ndarray:
    year_start = seconds.astype("datetime64[s]").astype("datetime64[Y]").astype("datetime64[D]")
    return seconds // 86_400 - year_start.astype(np.int64) + 1


def eta_categorical(legs: pd.DataFrame) -> dict[str, Coded]:
    """Return the categorical fields of :data:`CATEGORICAL_FIELDS` as coded strings.

    Each field is a :class:`~consortium.models.encoding.Coded` column aligned to ``legs``
    (missing text reads ``""``). The strings of a cross such as ``carrier|origin>destination``
    are joined once per distinct combination, so a few dozen legs cost well under a millisecond
    and a million legs no million string joins.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in legs.columns]
    if missing:
        raise ConfigError("legs", f"missing columns: {', '.join(missing)}")
    dep = _seconds(_utc(legs, "scheduled_departure"))
    arr = _seconds(_utc(legs, "scheduled_arrival"))
    mode, carrier = _coded_text(legs, "mode"), _coded_text(legs, "carrier")
    origin, destination = _coded_text(legs, "origin"), _coded_text(legs, "destination")
    lane = _cross(origin, ">", destination)
    dep_hour = _coded_ints(_hour(dep))
    fields = {
        "mode": mode,
        "carrier": carrier,
        "origin": origin,
        "destination": destination,
        "cargo_type": _coded_text(legs, "cargo_type"),
        "lane": lane,
        "carrier_lane": _cross(carrier, "|", lane),
        "lane_departure_hour": _cross(lane, "|", dep_hour),
        "mode_month": _cross(mode, "|", _coded_ints(_month(dep))),
        "carrier_weekday": _cross(carrier, "|", _coded_ints(_weekday(dep))),
        "mode_departure_hour": _cross(mode, "|", dep_hour),
        "destination_arrival_hour": _cross(destination, "|", _coded_ints(_hour(arr))),
        "carrier_destination": _cross(carrier, "|", destination),
        "origin_departure_hour": _cross(origin, "|", dep_hour),
        "carrier_departure_hour": _cross(carrier, "|", dep_hour),
    }
    return {name: fields[name] for name in CATEGORICAL_FIELDS}


def eta_numeric(legs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return the transformed numeric features of :data:`NUMERIC_FEATURES` (NaN = missing)."""
    dep, arr = _utc(legs, "scheduled_departure"), _utc(legs, "scheduled_arrival")
    hours = ((arr - dep).dt.total_seconds() / 3600.0).to_numpy(np.float64)
    distance = _number(legs, "distance_km")
    speed = np.divide(distance, hours, out=np.full_like(hours, np.nan), where=hours > 0)
    two_pi = 2.0 * np.pi
    dep_s, arr_s = _seconds(dep), _seconds(arr)
    dep_h = _hour(dep_s) + _minute(dep_s) / 60.0
    arr_h = _hour(arr_s) + _minute(arr_s) / 60.0
    weekday = _weekday(dep_s).astype(np.float64)
    season = _day_of_year(dep_s).astype(np.float64) / 365.25
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
        "origin_recent_delay": to_delay_space(
            _number(legs, "origin_recent_delay_minutes"), scale_minutes=RECENT_DELAY_SCALE_MINUTES
        ),
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
