"""Figures for people: durations in the unit that fits, shares in percent, times to the minute.

Pure functions (no UI framework): the dashboard pages and the notebook panels format with them.

Examples
--------
>>> duration(43_560, unit="days"), duration(312, unit="hours"), duration(45, unit="minutes")
('30.2 days', '5.2 h', '45 min')
>>> seconds_text(259_200), seconds_text(3_600), seconds_text(5_400)
('3 days', '1 h', '1 h 30 min')
>>> bps_percent(1000), percent(0.8125)
('10 %', '81.2 %')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consortium.config import ON_TIME_TOLERANCE_MINUTES_BY_MODE

MINUTES = {"days": 1440.0, "hours": 60.0, "minutes": 1.0}
"""Minutes in each unit a duration is shown in."""
_SYMBOL = {"days": "days", "hours": "h", "minutes": "min"}
_SMALLER = {"days": "hours", "hours": "minutes"}

DELAY_UNIT = {"sea": "days", "rail": "days", "road": "hours", "air": "minutes"}
"""The unit a delay is shown in, per mode (a smaller one when the delay is under one)."""
TRANSIT_UNIT = {"sea": "days", "rail": "days", "road": "hours", "air": "hours"}
"""The unit a transit time is shown in, per mode (a smaller one when it is under one)."""

DASH = "–"
"""What an empty cell shows (never ``None`` or ``NaN``)."""


def unit_for(mode: str, *, what: str = "delay") -> str:
    """Return the unit a ``delay`` or ``transit`` time of ``mode`` is shown in.

    Examples
    --------
    >>> unit_for("sea"), unit_for("air"), unit_for("air", what="transit")
    ('days', 'minutes', 'hours')
    """
    table = TRANSIT_UNIT if what == "transit" else DELAY_UNIT
    return table.get(mode, "hours")


def fitting_unit(minutes: float, unit: str) -> str:
    """Return ``unit``, or a smaller one when ``|minutes|`` is under one ``unit``.

    Examples
    --------
    >>> fitting_unit(300, "days"), fitting_unit(30, "days"), fitting_unit(3000, "days")
    ('hours', 'minutes', 'days')
    """
    while unit in _SMALLER and abs(minutes) < MINUTES[unit]:
        unit = _SMALLER[unit]
    return unit


def duration(minutes: float, *, unit: str, signed: bool = False) -> str:
    """Show ``minutes`` in ``unit`` (or a smaller one when under one); ``signed`` adds ``+``.

    Examples
    --------
    >>> duration(2160, unit="days"), duration(-90, unit="days", signed=True)
    ('1.5 days', '-1.5 h')
    >>> duration(float("nan"), unit="hours")
    '–'
    """
    if not math.isfinite(minutes):
        return DASH
    shown = fitting_unit(minutes, unit)
    value = minutes / MINUTES[shown]
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    if shown == "minutes" or text.endswith(".0"):
        text = f"{value:+.0f}" if signed else f"{value:.0f}"
    if shown == "days" and text in ("1", "+1", "-1"):
        return f"{text} day"
    return f"{text} {_SYMBOL[shown]}"


def seconds_text(seconds: float) -> str:
    """Show a governance duration in whole days, hours, minutes (and seconds under a minute).

    Examples
    --------
    >>> seconds_text(86_400), seconds_text(90_000), seconds_text(0), seconds_text(3)
    ('1 day', '1 day 1 h', '0 s', '3 s')
    """
    left = int(seconds)
    if left < 60:
        return f"{left} s"
    parts = []
    for size, name in ((86_400, "day"), (3_600, "h"), (60, "min")):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}s" if name == "day" and count > 1 else f"{count} {name}")
    return " ".join(parts[:2])


def percent(rate: float, *, digits: int = 1) -> str:
    """Show a share in ``[0, 1]`` as a percentage (``DASH`` when not a number)."""
    if not isinstance(rate, int | float) or not math.isfinite(rate):
        return DASH
    return f"{100 * rate:.{digits}f} %"


def bps_percent(bps: int) -> str:
    """Show basis points as a percentage: 1000 -> ``10 %``, 1250 -> ``12.5 %``."""
    return f"{bps / 100:g} %"


def zone(name: str | None) -> tzinfo:
    """Return the time zone called ``name`` (the viewer's), or UTC when unknown or empty.

    Examples
    --------
    >>> str(zone("Europe/Amsterdam")), str(zone("Mars/Olympus")), str(zone(None))
    ('Europe/Amsterdam', 'UTC', 'UTC')
    """
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: str | datetime | None, *, tz: tzinfo) -> str:
    """Show a time to the minute in ``tz`` with the zone's abbreviation (``DASH`` for none).

    Examples
    --------
    >>> local_time("2026-06-01T12:05:59.123456Z", tz=zone("Europe/Amsterdam"))
    '2026-06-01 14:05 CEST'
    >>> local_time(None, tz=zone("UTC"))
    '–'
    """
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return DASH
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def tolerance_minutes(mode: str, tolerances: Mapping[str, object] | None = None) -> int:
    """Return the on-time tolerance of ``mode``, in minutes.

    The board's ``tolerances`` (its policy key ``on_time_tolerance_minutes``) when given, else
    the defaults (:data:`ON_TIME_TOLERANCE_MINUTES_BY_MODE`).

    Examples
    --------
    >>> tolerance_minutes("sea"), tolerance_minutes("air", {"air": 30, "sea": 1440})
    (1440, 30)
    """
    given = (tolerances or {}).get(mode)
    if isinstance(given, int) and not isinstance(given, bool) and given > 0:
        return given
    return int(ON_TIME_TOLERANCE_MINUTES_BY_MODE.get(mode, 60))


def on_time_share(
    *, lower: float, median: float, upper: float, level: float, tolerance: float
) -> tuple[float, str]:
    """Read the share of arrivals within ``tolerance`` minutes late from an ETA interval.

    The interval's bounds are the delay quantiles ``(1 - level) / 2`` and ``(1 + level) / 2``,
    the median the 0.5 quantile; between them the share is interpolated linearly. Outside them
    only a bound is known: ``("under", q_low)`` or ``("over", q_high)``.

    Returns
    -------
    tuple[float, str]
        The share and how it is known: ``about``, ``under`` or ``over``.

    Examples
    --------
    >>> on_time_share(lower=-600, median=0, upper=600, level=0.8, tolerance=300)
    (0.7, 'about')
    >>> on_time_share(lower=600, median=900, upper=1200, level=0.8, tolerance=60)
    (0.1, 'under')
    """
    q_low, q_high = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    if tolerance < lower:
        return round(q_low, 4), "under"
    if tolerance >= upper:
        return round(q_high, 4), "over"
    if tolerance < median:
        share = q_low + (0.5 - q_low) * (tolerance - lower) / max(median - lower, 1e-9)
    else:
        share = 0.5 + (q_high - 0.5) * (tolerance - median) / max(upper - median, 1e-9)
    return round(share, 4), "about"
