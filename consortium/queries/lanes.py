"""Preview a lane forecast from the pooled ETA model, as a paid lane query would answer it.

The preview runs the same code as the paid query (:func:`consortium.forecasts.lane.answer_lane`
over the pooled model and its lane catalog) under the board's minimum group size, but charges
nothing and records nothing: it is the coordinator's own look at what its model answers.

Examples
--------
>>> # with factory.begin() as session:
>>> #     answer = lane_preview(session, model_dir=eta_dir, origin="CNSHA",
>>> #                           destination="NLRTM", mode="sea",
>>> #                           departure_from=datetime(2026, 5, 1, tzinfo=UTC),
>>> #                           departure_to=datetime(2026, 5, 8, tzinfo=UTC))
>>> #     interval_frame(answer)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from consortium.forecasts.lane import LaneAnswer, LaneRequest, answer_lane
from consortium.forecasts.pooled import lane_catalog, pooled_eta_model
from consortium.policy.store import current_policy


def lane_preview(
    session: Session,
    *,
    model_dir: Path,
    origin: str,
    destination: str,
    mode: str,
    departure_from: datetime,
    departure_to: datetime,
) -> LaneAnswer:
    """Forecast a lane's on-time rate and ETA interval for departures in a window.

    Parameters
    ----------
    session
        Read for the board's minimum group size.
    model_dir
        The pooled ETA model with its lane catalog.
    origin, destination
        Location codes (``CNSHA``, ``NLRTM``).
    mode
        ``sea``, ``road``, ``rail`` or ``air``.
    departure_from, departure_to
        The departure window (tz-aware).

    Returns
    -------
    LaneAnswer
        Aggregates only, as a paid lane query would return them.

    Raises
    ------
    QueryRejected
        ``bad-window``, ``same-place``, ``unknown-lane`` or ``too-few-data``.
    ModelError
        If ``model_dir`` holds no ETA model or no lane catalog.
    """
    request = LaneRequest.from_params(
        {
            "origin": origin.strip().upper(),
            "destination": destination.strip().upper(),
            "mode": mode,
            "departure_from": departure_from.isoformat(),
            "departure_to": departure_to.isoformat(),
        }
    )
    model, version = pooled_eta_model(model_dir)
    return answer_lane(
        model=model,
        catalog=lane_catalog(model_dir),
        request=request,
        model_version=version,
        min_group_size=current_policy(session).min_group_size,
    )


def interval_frame(answer: LaneAnswer) -> pd.DataFrame:
    """Return the ETA interval as rows ``lower``, ``median``, ``upper`` (for a chart).

    Columns: ``bound``, ``delay_minutes`` and ``transit_hours``.
    """
    return pd.DataFrame(
        {
            "bound": ["lower", "median", "upper"],
            "delay_minutes": [
                answer.delay_minutes_lower, answer.delay_minutes_median, answer.delay_minutes_upper
            ],
            "transit_hours": [
                answer.transit_hours_lower, answer.transit_hours_median, answer.transit_hours_upper
            ],
        }
    )  # fmt: skip
