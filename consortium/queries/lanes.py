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

import difflib
from collections.abc import Iterable
from datetime import datetime
from itertools import permutations
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from consortium.forecasts.lane import LEGS_ROUNDING, LaneAnswer, LaneRequest, answer_lane
from consortium.forecasts.pooled import lane_catalog, pooled_eta_model
from consortium.policy.store import current_policy
from consortium.synth.places import LOCATIONS, MODES

CATALOGUE_COLUMNS = ["origin", "destination", "mode", "legs_pooled"]


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
    policy = current_policy(session)
    return answer_lane(
        model=model,
        catalog=lane_catalog(model_dir),
        request=request,
        model_version=version,
        min_group_size=policy.min_group_size,
        tolerance_minutes=policy.on_time_tolerance_minutes.get(request.mode),
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


def gazetteer_codes() -> list[str]:
    """Return the location codes the kit knows (UN/LOCODEs and IATA codes of its gazetteer)."""
    return sorted(loc.code for loc in LOCATIONS)


def lane_catalogue(
    session: Session, *, model_dir: Path, codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """Return the lanes a buyer can ask about: those with at least the minimum group of legs.

    The coordinator's lane catalog holds secure-summed totals per hashed lane bucket, never lane
    names, so every ordered pair of ``codes`` (default: :func:`gazetteer_codes`) by every mode
    is looked up in it, and lanes with at least the board's minimum group size of legs are kept.
    ``legs_pooled`` is rounded down to a multiple of 10, as an answer reports it, but never
    below the minimum group size (which every listed lane reaches).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CATALOGUE_COLUMNS`, sorted by mode, origin and destination.

    Raises
    ------
    ModelError
        If ``model_dir`` holds no lane catalog.
    """
    catalog = lane_catalog(model_dir)
    minimum = current_policy(session).min_group_size
    places = sorted(set(codes if codes is not None else gazetteer_codes()))
    rows = []
    for mode in MODES:
        for origin, destination in permutations(places, 2):
            stats = catalog.lookup(origin, destination, mode)
            if stats is not None and stats.legs >= minimum:
                legs = max(minimum, (stats.legs // LEGS_ROUNDING) * LEGS_ROUNDING)
                rows.append((origin, destination, mode, legs))
    frame = pd.DataFrame(rows, columns=CATALOGUE_COLUMNS).astype({"legs_pooled": "int64"})
    return frame.sort_values(["mode", "origin", "destination"], ignore_index=True)


def search_lanes(catalogue: pd.DataFrame, text: str) -> pd.DataFrame:
    """Return the catalogue rows whose origin, destination or mode contains every word of ``text``.

    Examples
    --------
    >>> lanes = pd.DataFrame({"origin": ["ITMIL", "CNSHA"], "destination": ["FRPAR", "NLRTM"],
    ...                       "mode": ["road", "sea"], "legs_pooled": [40, 90]})
    >>> search_lanes(lanes, "sha sea")["origin"].tolist()
    ['CNSHA']
    """
    words = text.upper().split()
    if not words or catalogue.empty:
        return catalogue
    haystack = (catalogue["origin"] + " " + catalogue["destination"] + " "
                + catalogue["mode"].str.upper())  # fmt: skip
    keep = pd.Series(True, index=catalogue.index)
    for word in words:
        keep &= haystack.str.contains(word, regex=False)
    return catalogue[keep]


def lane_label(origin: str, destination: str, mode: str) -> str:
    """``ITMIL > FRPAR (road)``: how a lane is named in suggestions."""
    return f"{origin} > {destination} ({mode})"


def did_you_mean(
    catalogue: pd.DataFrame, *, origin: str, destination: str, mode: str, n: int = 3
) -> list[tuple[str, str, str]] | None:
    """Near misses of a lane that is not in the catalogue; ``None`` when the lane is in it.

    Compares ``ORIGIN > DESTINATION (mode)`` with every catalogued lane (:mod:`difflib`), so a
    typo in a code or the wrong mode finds the lane meant.

    Examples
    --------
    >>> lanes = pd.DataFrame({"origin": ["ITMIL", "CNSHA"], "destination": ["FRPAR", "NLRTM"],
    ...                       "mode": ["road", "sea"], "legs_pooled": [40, 90]})
    >>> did_you_mean(lanes, origin="itmil", destination="FRPRA", mode="road")
    [('ITMIL', 'FRPAR', 'road')]
    >>> did_you_mean(lanes, origin="ITMIL", destination="FRPAR", mode="road") is None
    True
    """
    wanted = (origin.strip().upper(), destination.strip().upper(), mode)
    known = {
        lane_label(*lane): lane
        for lane in zip(catalogue["origin"], catalogue["destination"], catalogue["mode"],
                        strict=True)
    }  # fmt: skip
    label = lane_label(*wanted)
    if label in known:
        return None
    close = difflib.get_close_matches(label, list(known), n=n, cutoff=0.6)
    return [known[c] for c in close]
