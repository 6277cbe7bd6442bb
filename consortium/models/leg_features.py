"""Leg features known before departure, for the boosted ETA models (baseline and own models).

Categorical columns are pandas ``category``; at prediction time they take the categories seen in
training, so an unseen carrier or lane becomes missing instead of a wrong code or a crash.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: String columns used as categories (``lane`` is ``origin-destination``).
CATEGORICAL_FEATURES: tuple[str, ...] = (
    "mode",
    "carrier",
    "origin",
    "destination",
    "lane",
    "cargo_type",
)
#: Numeric context columns taken as they are (NaN when absent).
CONTEXT_FEATURES: tuple[str, ...] = (
    "distance_km",
    "wind_speed",
    "precipitation",
    "visibility",
    "temperature",
    "congestion_index",
    "origin_recent_delay_minutes",
)


def _text(legs: pd.DataFrame, column: str) -> pd.Series:
    if column not in legs.columns:
        return pd.Series(np.nan, index=legs.index, dtype=object)
    return legs[column].astype(object).where(legs[column].notna(), np.nan)


def leg_features(
    legs: pd.DataFrame, *, categories: Mapping[str, pd.Index] | None = None
) -> pd.DataFrame:
    """Return the pre-departure features of ``legs``, aligned to its index.

    Categorical: ``mode``, ``carrier``, ``origin``, ``destination``, ``lane``, ``cargo_type``.
    Numeric (float): ``departure_hour``, ``departure_day_of_week`` (Monday = 0) and
    ``departure_month`` of ``scheduled_departure`` in UTC, ``scheduled_hours`` (scheduled
    arrival minus departure) and the context columns :data:`CONTEXT_FEATURES`.

    Parameters
    ----------
    legs
        Legs with at least ``scheduled_departure`` and ``scheduled_arrival``.
    categories
        Categories per categorical column, from :func:`feature_categories` on the training
        features; values outside them become missing. ``None`` takes the categories found.

    Examples
    --------
    >>> legs = pd.DataFrame({"mode": ["sea"], "origin": ["NLRTM"], "destination": ["SGSIN"],
    ...     "scheduled_departure": pd.to_datetime(["2024-03-04 08:00"], utc=True),
    ...     "scheduled_arrival": pd.to_datetime(["2024-03-05 08:00"], utc=True)})
    >>> row = leg_features(legs).iloc[0]
    >>> row["lane"], float(row["scheduled_hours"])
    ('NLRTM-SGSIN', 24.0)
    """
    text = {column: _text(legs, column) for column in CATEGORICAL_FEATURES if column != "lane"}
    text["lane"] = text["origin"] + "-" + text["destination"]
    frame = pd.DataFrame(index=legs.index)
    for column in CATEGORICAL_FEATURES:
        values = text[column]
        if categories is None:
            frame[column] = pd.Categorical(values)
        else:
            known = categories[column]
            frame[column] = pd.Categorical(values.where(values.isin(known)), categories=known)
    departure = legs["scheduled_departure"].dt.tz_convert("UTC")
    frame["departure_hour"] = departure.dt.hour.astype(np.float64)
    frame["departure_day_of_week"] = departure.dt.day_of_week.astype(np.float64)
    frame["departure_month"] = departure.dt.month.astype(np.float64)
    planned = legs["scheduled_arrival"] - legs["scheduled_departure"]
    frame["scheduled_hours"] = planned.dt.total_seconds() / 3600.0
    for column in CONTEXT_FEATURES:
        values = legs[column] if column in legs.columns else pd.Series(np.nan, index=legs.index)
        frame[column] = values.astype(np.float64)
    return frame


def feature_categories(features: pd.DataFrame) -> dict[str, pd.Index]:
    """Return the categories of each categorical column of ``features`` (to reuse at predict).

    Examples
    --------
    >>> frame = pd.DataFrame({"mode": pd.Categorical(["sea", "air"]), "x": [1.0, 2.0]})
    >>> list(feature_categories(frame)["mode"])
    ['air', 'sea']
    """
    return {
        column: features[column].cat.categories
        for column in features.columns
        if isinstance(features[column].dtype, pd.CategoricalDtype)
    }
