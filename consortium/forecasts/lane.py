"""Lane forecasts from the pooled ETA model: on-time rate and ETA interval for a departure window.

The coordinator holds the pooled ETA model and the lane catalog (secure-summed lane totals), never
a member's legs. For a lane and a departure window it builds representative legs, one departure
every :data:`DEPARTURE_STEP_HOURS` hours across the window, each scheduled to arrive after the
pool's mean scheduled transit time, over the pool's mean distance, with carrier and cargo type
unknown and no weather. The model scores them and the answer aggregates the scores:

* ``on_time_rate``: the mean probability of arriving within the tolerance: the model's
  calibrated on-time probability at the tolerance it was trained for, else (the board sets a
  tolerance per mode) read from each departure's delay quantiles (:func:`share_within`);
* the ETA interval: the median over departures of the lower, median and upper delay (and the
  same as transit hours, the mean scheduled transit time plus the delay);
* ``legs_in_pool``: how many legs of the lane the pool holds, rounded down to a multiple of 10.

Nothing else is reported, and a lane with fewer legs in the pool than the board's minimum group
size is refused, so an answer never reveals one member's figures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from consortium.errors import QueryRejected
from consortium.forecasts.catalog import LaneCatalog
from consortium.ledger.canonical import format_time
from consortium.models.eta import EtaModel

logger = logging.getLogger(__name__)

DEPARTURE_STEP_HOURS = 6
"""One representative departure every this many hours across the window."""

MAX_WINDOW_DAYS = 92
"""Longest departure window a query may ask about."""

LEGS_ROUNDING = 10
"""``legs_in_pool`` is rounded down to a multiple of this."""


@dataclass(frozen=True)
class LaneRequest:
    """A lane query's parameters, checked: codes, mode and a tz-aware window ``from < to``."""

    origin: str
    destination: str
    mode: str
    departure_from: datetime
    departure_to: datetime

    @property
    def label(self) -> str:
        """``lane CNSHA>NLRTM (sea)``: the subject of errors about this lane."""
        return f"lane {self.origin}>{self.destination} ({self.mode})"

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> LaneRequest:
        """Build from a schema-valid ``params`` object of a ``lane`` query.

        Raises
        ------
        QueryRejected
            ``bad-window`` when the window is empty, reversed, not tz-aware or longer than
            :data:`MAX_WINDOW_DAYS`; ``same-place`` when origin equals destination.
        """
        origin, destination = str(params["origin"]), str(params["destination"])
        subject = f"lane {origin}>{destination} ({params['mode']})"
        try:
            start = datetime.fromisoformat(str(params["departure_from"]))
            end = datetime.fromisoformat(str(params["departure_to"]))
        except ValueError as exc:
            raise QueryRejected(
                subject, code="bad-window", reason=f"not a date-time: {exc}"
            ) from exc
        if start.utcoffset() is None or end.utcoffset() is None:
            raise QueryRejected(subject, code="bad-window", reason="times need a UTC offset")
        if end <= start:
            raise QueryRejected(
                subject, code="bad-window", reason="departure_to must be after departure_from"
            )
        if end - start > timedelta(days=MAX_WINDOW_DAYS):
            raise QueryRejected(
                subject,
                code="bad-window",
                reason=f"the departure window is longer than {MAX_WINDOW_DAYS} days",
            )
        if origin == destination:
            raise QueryRejected(subject, code="same-place", reason="origin equals destination")
        return cls(origin, destination, str(params["mode"]), start, end)


@dataclass(frozen=True)
class LaneAnswer:
    """A lane forecast: aggregates of the pooled model over representative departures.

    Delays are minutes after the scheduled arrival (negative: early); transit hours are the
    pool's mean scheduled transit time plus the delay. ``interval_level`` is the nominal
    coverage of the lower/upper pair, ``tolerance_minutes`` the delay still counted on time.
    """

    origin: str
    destination: str
    mode: str
    departure_from: str
    departure_to: str
    departures: int
    on_time_rate: float
    tolerance_minutes: int
    interval_level: float
    delay_minutes_lower: float
    delay_minutes_median: float
    delay_minutes_upper: float
    transit_hours_lower: float
    transit_hours_median: float
    transit_hours_upper: float
    legs_in_pool: int
    model_version: str

    def summary(self) -> dict[str, object]:
        """Return the answer as a ledger-payload-safe mapping (ids, codes, times and numbers)."""
        return asdict(self)


def representative_legs(
    request: LaneRequest, *, hours: float, distance_km: float | None
) -> pd.DataFrame:
    """Return one leg per departure slot of the window (what the model scores).

    Departures start at ``departure_from`` and step by :data:`DEPARTURE_STEP_HOURS` while before
    ``departure_to``; each arrives ``hours`` later (rounded to the minute).
    """
    start = pd.Timestamp(request.departure_from).tz_convert("UTC")
    end = pd.Timestamp(request.departure_to).tz_convert("UTC")
    departures = pd.date_range(
        start, end, freq=f"{DEPARTURE_STEP_HOURS}h", inclusive="left", tz="UTC"
    )
    if len(departures) == 0:
        departures = pd.DatetimeIndex([start])
    transit = pd.Timedelta(minutes=round(hours * 60.0))
    return pd.DataFrame(
        {
            "mode": request.mode,
            "carrier": "",
            "origin": request.origin,
            "destination": request.destination,
            "scheduled_departure": departures,
            "scheduled_arrival": departures + transit,
            "distance_km": np.nan if distance_km is None else float(distance_km),
        }
    )


def share_within(
    tolerance: float, *, lower: np.ndarray, median: np.ndarray, upper: np.ndarray, level: float
) -> np.ndarray:
    """Return, per departure, the share of arrivals at most ``tolerance`` minutes late.

    The delay quantiles ``(1 - level) / 2``, 0.5 and ``(1 + level) / 2`` are ``lower``,
    ``median`` and ``upper``; between them the share is interpolated linearly, outside them it
    is the nearest known quantile (below ``lower``: at most ``(1 - level) / 2``).

    Examples
    --------
    >>> share_within(300, lower=np.array([-600.0, 600.0]), median=np.array([0.0, 900.0]),
    ...              upper=np.array([600.0, 1200.0]), level=0.8).round(2).tolist()
    [0.7, 0.1]
    """
    q_low, q_high = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    below = q_low + (0.5 - q_low) * (tolerance - lower) / np.maximum(median - lower, 1e-9)
    above = 0.5 + (q_high - 0.5) * (tolerance - median) / np.maximum(upper - median, 1e-9)
    inside = np.where(tolerance < median, below, above)
    return np.where(tolerance < lower, q_low, np.where(tolerance >= upper, q_high, inside))


def answer_lane(
    *,
    model: EtaModel,
    catalog: LaneCatalog,
    request: LaneRequest,
    model_version: str,
    min_group_size: int,
    tolerance_minutes: int | None = None,
) -> LaneAnswer:
    """Forecast a lane's on-time rate and ETA interval for departures in the window.

    Parameters
    ----------
    model
        The pooled ETA model.
    catalog
        The secure-summed lane totals saved with that model.
    request
        The lane and the departure window.
    model_version
        SHA-256 of the model's weights (see :func:`consortium.forecasts.pooled.model_version`).
    min_group_size
        The board's minimum number of pooled legs behind an answer.
    tolerance_minutes
        The board's on-time tolerance for the lane's mode
        (``policy.on_time_tolerance_minutes[mode]``); ``None``: the model's own.

    Returns
    -------
    LaneAnswer
        Aggregates only.

    Raises
    ------
    QueryRejected
        ``unknown-lane`` when the pool holds no leg of the lane, ``too-few-data`` when it holds
        fewer than ``min_group_size``.
    """
    stats = catalog.lookup(request.origin, request.destination, request.mode)
    if stats is None:
        raise QueryRejected(
            request.label, code="unknown-lane", reason="the consortium's pool holds no leg of it"
        )
    if stats.legs < min_group_size:
        raise QueryRejected(
            request.label,
            code="too-few-data",
            reason=f"the pool holds fewer legs of it than the minimum group size {min_group_size}",
        )
    legs = representative_legs(
        request, hours=stats.mean_scheduled_hours, distance_km=stats.mean_distance_km
    )
    scores = model.predict_eta(legs)
    lower = float(np.median(scores["delay_lower"]))
    median = float(np.median(scores["delay_minutes"]))
    upper = float(np.median(scores["delay_upper"]))
    hours = stats.mean_scheduled_hours
    trained = int(model.spec.tolerance_minutes)
    tolerance = trained if tolerance_minutes is None else int(tolerance_minutes)
    if tolerance == trained:
        on_time = scores["p_on_time"].to_numpy(np.float64)
    else:
        on_time = share_within(
            tolerance, lower=scores["delay_lower"].to_numpy(np.float64),
            median=scores["delay_minutes"].to_numpy(np.float64),
            upper=scores["delay_upper"].to_numpy(np.float64), level=model.spec.interval_level,
        )  # fmt: skip
    answer = LaneAnswer(
        origin=request.origin,
        destination=request.destination,
        mode=request.mode,
        departure_from=format_time(request.departure_from),
        departure_to=format_time(request.departure_to),
        departures=len(legs),
        on_time_rate=round(float(on_time.mean()), 4),
        tolerance_minutes=tolerance,
        interval_level=float(model.spec.interval_level),
        delay_minutes_lower=round(lower, 1),
        delay_minutes_median=round(median, 1),
        delay_minutes_upper=round(upper, 1),
        transit_hours_lower=round(max(0.0, hours + lower / 60.0), 2),
        transit_hours_median=round(max(0.0, hours + median / 60.0), 2),
        transit_hours_upper=round(max(0.0, hours + upper / 60.0), 2),
        legs_in_pool=(stats.legs // LEGS_ROUNDING) * LEGS_ROUNDING,
        model_version=model_version,
    )
    logger.debug("answered %s over %d departures", request.label, answer.departures)
    return answer
