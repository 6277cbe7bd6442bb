"""Empirical ETA baselines fitted on a member's own earlier legs: schedule, route median, rate.

Each keeps delay statistics (median, interval quantiles, on-time rate) per group at several
levels, finest first: route ``(mode, origin, destination)``, then ``mode``, then all legs. A
leg takes the finest level whose group had at least ``min_group_size`` training legs, so unseen
routes, modes or missing keys fall back instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd

from consortium.baselines._checks import (
    check_level,
    check_positive,
    check_tolerance,
    labelled_legs,
    not_fitted,
)
from consortium.data.targets import delay_minutes, on_time
from consortium.models.timetable import TimetableEta

_ROUTE_LEVELS: tuple[tuple[str, ...], ...] = (("mode", "origin", "destination"), ("mode",), ())
_STATS = ("median", "lower", "upper", "on_time_rate")


@dataclass(frozen=True)
class _LevelTables:
    """Statistics per group at each level (finest first); the last level is all legs."""

    levels: tuple[tuple[str, ...], ...]
    tables: tuple[pd.DataFrame, ...]


def _fit_tables(
    legs: pd.DataFrame,
    *,
    levels: tuple[tuple[str, ...], ...],
    level: float,
    tolerance_minutes: int,
    min_group_size: int,
) -> _LevelTables:
    labelled = labelled_legs(legs)
    delay = delay_minutes(labelled)
    punctual = on_time(labelled, tolerance_minutes=tolerance_minutes).astype(np.float64)
    tables = []
    for keys in levels:
        by = [labelled[k] for k in keys] if keys else np.zeros(len(labelled), dtype=np.int64)
        delays, rates = delay.groupby(by), punctual.groupby(by)
        table = pd.DataFrame(
            {
                "median": delays.median(),
                "lower": delays.quantile((1.0 - level) / 2.0),
                "upper": delays.quantile((1.0 + level) / 2.0),
                "on_time_rate": rates.mean(),
                "count": delays.size(),
            }
        )
        if keys:
            table = table.loc[table["count"] >= min_group_size]
        tables.append(table.drop(columns="count"))
    return _LevelTables(levels=levels, tables=tuple(tables))


def _look_up(fitted: _LevelTables, legs: pd.DataFrame) -> pd.DataFrame:
    found = pd.DataFrame(np.nan, index=legs.index, columns=list(_STATS))
    for keys, table in zip(fitted.levels, fitted.tables, strict=True):
        if keys:
            where = pd.MultiIndex.from_frame(legs[list(keys)].astype(object))
            if len(keys) == 1:
                where = where.get_level_values(0)
            values = table.reindex(where).to_numpy(np.float64)
        else:
            values = np.tile(table.iloc[0].to_numpy(np.float64), (len(legs), 1))
        missing = found["median"].isna().to_numpy()
        found.loc[missing, :] = values[missing]
    return found


class _EmpiricalBaseline:
    """Fit and look-up shared by the empirical baselines; subclasses shape the forecast."""

    name = "empirical"
    _levels: tuple[tuple[str, ...], ...] = _ROUTE_LEVELS

    def __init__(self, *, level: float, tolerance_minutes: int, min_group_size: int = 5) -> None:
        self.level = check_level(level)
        self.tolerance_minutes = check_tolerance(tolerance_minutes)
        check_positive("min_group_size", min_group_size)
        self.min_group_size = int(min_group_size)
        self._fitted: _LevelTables | None = None

    def fit(self, legs: pd.DataFrame) -> Self:
        """Learn the statistics from the legs with an ``actual_arrival``; return ``self``."""
        self._fitted = _fit_tables(
            legs,
            levels=self._levels,
            level=self.level,
            tolerance_minutes=self.tolerance_minutes,
            min_group_size=self.min_group_size,
        )
        return self

    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        """Return ``delay_minutes, delay_lower, delay_upper, p_on_time`` aligned to ``legs``."""
        if self._fitted is None:
            raise not_fitted(self.name)
        found = _look_up(self._fitted, legs)
        return pd.DataFrame(
            {
                "delay_minutes": self._point(found),
                "delay_lower": found["lower"],
                "delay_upper": found["upper"],
                "p_on_time": self._p_on_time(found),
            },
            index=legs.index,
        )

    def _point(self, found: pd.DataFrame) -> pd.Series:
        return found["median"]

    def _p_on_time(self, found: pd.DataFrame) -> pd.Series:
        return found["on_time_rate"]


class ScheduleBaseline(TimetableEta):
    """The carrier's own schedule: the ETA a cargo owner already has.

    The point forecast is a delay of 0; the interval is the central ``level`` range of all
    training delays (which are the schedule's errors), and ``p_on_time`` is the overall
    on-time rate. Only the point ignores the data, so the interval need not contain 0. It is
    :class:`~consortium.models.timetable.TimetableEta` (the stored form an own model can take)
    under the baseline's name; its example is there.
    """

    name = "schedule"

    def __init__(self, *, level: float, tolerance_minutes: int, min_group_size: int = 5) -> None:
        check_positive("min_group_size", min_group_size)  # one group: all legs
        super().__init__(level=level, tolerance_minutes=tolerance_minutes, name=self.name)


class RouteMedianBaseline(_EmpiricalBaseline):
    """Median delay per route ``(mode, origin, destination)``, then per mode, then overall.

    The interval is the route's central ``level`` range of delays (same fallback). Being a
    point forecaster, its ``p_on_time`` is what the point alone says: 1.0 when the median is
    within the tolerance, else 0.0; :class:`OnTimeRateBaseline` gives the graded rate.

    Examples
    --------
    >>> legs = pd.DataFrame({"mode": "road", "origin": ["AAA", "AAA", "BBB"],
    ...     "destination": "CCC",
    ...     "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"] * 3, utc=True),
    ...     "actual_arrival": pd.to_datetime(["2024-01-01 10:20", "2024-01-01 10:40",
    ...         "2024-01-01 10:00"], utc=True)})
    >>> model = RouteMedianBaseline(level=0.8, tolerance_minutes=15, min_group_size=1)
    >>> model.fit(legs).predict_eta(legs)["delay_minutes"].tolist()
    [30.0, 30.0, 0.0]
    """

    name = "route_median"

    def _p_on_time(self, found: pd.DataFrame) -> pd.Series:
        return (found["median"] <= self.tolerance_minutes).astype(np.float64)


class OnTimeRateBaseline(_EmpiricalBaseline):
    """Historical on-time rate per route as ``p_on_time``; point and interval as the route median.

    Examples
    --------
    >>> legs = pd.DataFrame({"mode": "rail", "origin": "AAA", "destination": "BBB",
    ...     "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"] * 4, utc=True),
    ...     "actual_arrival": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05",
    ...         "2024-01-01 10:10", "2024-01-01 12:00"], utc=True)})
    >>> model = OnTimeRateBaseline(level=0.8, tolerance_minutes=15, min_group_size=1)
    >>> model.fit(legs).predict_eta(legs)["p_on_time"].iloc[0]
    np.float64(0.75)
    """

    name = "on_time_rate"
