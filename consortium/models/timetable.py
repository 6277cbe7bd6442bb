"""The member's own timetable as an ETA model: no model at all, the schedule it already has.

:class:`TimetableEta` forecasts a delay of 0 (the carrier's schedule), with the central
``level`` range of the training delays (the schedule's errors) as the interval and the training
on-time rate as ``p_on_time``: the same forecast as
:class:`consortium.baselines.empirical.ScheduleBaseline`, but a stored model (``to_dict`` /
``from_dict``, model directory form ``"timetable"``). It is a member's local-only candidate for
its own model (:mod:`consortium.baselines.own_model`), so an own model is never worse on the
member's validation period than the schedule it has without joining.

Examples
--------
>>> legs = pd.DataFrame({
...     "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"] * 4, utc=True),
...     "actual_arrival": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:10",
...         "2024-01-01 10:20", "2024-01-01 11:00"], utc=True)})
>>> model = TimetableEta(level=0.5, tolerance_minutes=15).fit(legs)
>>> model.predict_eta(legs).iloc[0].tolist()
[0.0, 7.5, 30.0, 0.5]
>>> TimetableEta.from_dict(model.to_dict()).predict_eta(legs).equals(model.predict_eta(legs))
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import pandas as pd

from consortium.data.targets import delay_minutes, on_time
from consortium.errors import ConfigError, ModelError

__all__ = ["TimetableEta"]


class TimetableEta:
    """The schedule's forecast: delay 0, the training delays' central range, their on-time rate.

    Parameters
    ----------
    level
        Nominal coverage of the interval, in (0, 1).
    tolerance_minutes
        Minutes late that still count as on time.
    name
        The name it reports under.

    Raises
    ------
    ConfigError
        An argument is out of range.
    """

    kind = "eta"
    """The family this model belongs to (:mod:`consortium.models.families`)."""

    def __init__(self, *, level: float, tolerance_minutes: int, name: str = "timetable") -> None:
        if not 0.0 < level < 1.0:
            raise ConfigError("level", "must be strictly between 0 and 1")
        if tolerance_minutes < 0:
            raise ConfigError("tolerance_minutes", "must be zero or positive")
        self.level = float(level)
        self.tolerance_minutes = int(tolerance_minutes)
        self.name = name
        self._stats: tuple[float, float, float] | None = None
        """Lower and upper interval ends (minutes) and the on-time rate."""

    def fit(self, legs: pd.DataFrame) -> Self:
        """Learn the interval and on-time rate from the legs with an ``actual_arrival``."""
        labelled = legs.loc[legs["actual_arrival"].notna()]
        if labelled.empty:
            raise ConfigError("legs", "has no legs with actual_arrival to fit on")
        delay = delay_minutes(labelled).astype(np.float64)
        punctual = on_time(labelled, tolerance_minutes=self.tolerance_minutes)
        self._stats = (
            float(delay.quantile((1.0 - self.level) / 2.0)),
            float(delay.quantile((1.0 + self.level) / 2.0)),
            float(punctual.astype(np.float64).mean()),
        )
        return self

    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        """Return ``delay_minutes, delay_lower, delay_upper, p_on_time`` aligned to ``legs``."""
        if self._stats is None:
            raise ModelError(self.name, "not fitted: call fit() first")
        lower, upper, rate = self._stats
        return pd.DataFrame(
            {
                "delay_minutes": 0.0,
                "delay_lower": lower,
                "delay_upper": upper,
                "p_on_time": rate,
            },
            index=legs.index,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the settings and the fitted statistics."""
        if self._stats is None:
            raise ModelError(self.name, "not fitted: call fit() first")
        lower, upper, rate = self._stats
        return {
            "name": self.name,
            "level": self.level,
            "tolerance_minutes": self.tolerance_minutes,
            "delay_lower": lower,
            "delay_upper": upper,
            "on_time_rate": rate,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimetableEta:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            A setting is out of range, or a statistic is not a finite number (rate: in [0, 1]).
        """
        model = cls(
            level=float(data["level"]),
            tolerance_minutes=int(data["tolerance_minutes"]),
            name=str(data["name"]),
        )
        stats = tuple(float(data[k]) for k in ("delay_lower", "delay_upper", "on_time_rate"))
        if not all(math.isfinite(v) for v in stats) or not 0.0 <= stats[2] <= 1.0:
            raise ConfigError("timetable", f"statistics out of range: {stats}")
        model._stats = (stats[0], stats[1], stats[2])
        return model
