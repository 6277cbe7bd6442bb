"""A lane forecast as a cargo owner reads it: an answer card in the units that fit the mode.

:func:`lane_card` turns a lane answer (``LaneAnswer.summary()``, the mapping a paid query or
the preview returns) into the card's lines: departures covered, typical transit and delay,
the interval, the on-time share at the tolerance the board set for the mode and the legs pooled.
:func:`interval_frame` gives the interval in the card's unit, for a chart.

Examples
--------
>>> answer = {"origin": "CNSHA", "destination": "NLRTM", "mode": "sea", "departures": 28,
...     "departure_from": "2026-06-01T00:00:00Z", "departure_to": "2026-06-08T00:00:00Z",
...     "on_time_rate": 0.04, "tolerance_minutes": 15, "interval_level": 0.8,
...     "delay_minutes_lower": -600.0, "delay_minutes_median": 720.0,
...     "delay_minutes_upper": 3140.5, "transit_hours_lower": 709.0,
...     "transit_hours_median": 731.0, "transit_hours_upper": 771.3, "legs_in_pool": 120}
>>> card = lane_card(answer)
>>> card.transit, card.delay, card.on_time_label, card.on_time
('30.5 days', '+12 h', 'On time (within 1 day of schedule)', 'about 62 %')
>>> card.interval
'29.5 to 32.1 days'
>>> lane_card(answer, tolerances={"sea": 2880}).on_time_label
'On time (within 2 days of schedule)'
>>> lane_card({**answer, "mode": "air"}, tolerances={"air": 240}).on_time_label
'On time (within 4 h of schedule)'
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from consortium.widgets.formatting import facts_table
from consortium.widgets.units import (
    MINUTES,
    duration,
    fitting_unit,
    on_time_share,
    tolerance_minutes,
    unit_for,
)

MODE_NAMES = {"sea": "by sea", "rail": "by rail", "road": "by road", "air": "by air"}


@dataclass(frozen=True)
class LaneCard:
    """The lines of a lane answer card, ready to show."""

    title: str
    departures: str
    transit: str
    interval: str
    interval_label: str
    delay: str
    on_time_label: str
    on_time: str
    legs: str
    unit: str
    """The unit of the transit figures and of :func:`interval_frame`."""


def _number(answer: Mapping[str, object], key: str) -> float:
    value = answer.get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def _day(value: object) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%d %b %Y")
    except ValueError:
        return str(value)


def transit_unit(answer: Mapping[str, object]) -> str:
    """Return the unit of the lane's transit times (the mode's; smaller for short trips)."""
    mode = str(answer.get("mode", ""))
    return fitting_unit(
        _number(answer, "transit_hours_median") * 60.0, unit_for(mode, what="transit")
    )


def lane_card(
    answer: Mapping[str, object], *, tolerances: Mapping[str, object] | None = None
) -> LaneCard:
    """Return the answer card of a lane answer (see the module example).

    ``tolerances`` is the board's on-time tolerance per mode (the policy's
    ``on_time_tolerance_minutes``; default: the kit's defaults). When the answer was read at
    another tolerance (an older answer), the share at the board's is read from its interval.
    """
    mode = str(answer.get("mode", ""))
    unit = transit_unit(answer)
    level = _number(answer, "interval_level")
    low, mid, high = (
        _number(answer, f"transit_hours_{b}") * 60.0 for b in ("lower", "median", "upper")
    )
    size = MINUTES[unit]
    tolerance = tolerance_minutes(mode, tolerances)
    if tolerance == int(_number(answer, "tolerance_minutes")):
        share, how = _number(answer, "on_time_rate"), "about"
    else:
        share, how = on_time_share(
            lower=_number(answer, "delay_minutes_lower"),
            median=_number(answer, "delay_minutes_median"),
            upper=_number(answer, "delay_minutes_upper"),
            level=level,
            tolerance=tolerance,
        )
    legs = int(_number(answer, "legs_in_pool"))
    symbol = duration(mid, unit=unit).split(" ", 1)[1]
    return LaneCard(
        title=f"{answer.get('origin')} → {answer.get('destination')} {MODE_NAMES.get(mode, mode)}",
        departures=(f"{int(_number(answer, 'departures'))} departures, "
                    f"{_day(answer.get('departure_from'))} to {_day(answer.get('departure_to'))}"),
        transit=duration(mid, unit=unit),
        interval=f"{low / size:.1f} to {high / size:.1f} {symbol}",
        interval_label=f"Transit, {100 * level:.0f} % of departures",
        delay=duration(_number(answer, "delay_minutes_median"), unit=unit_for(mode), signed=True),
        on_time_label=f"On time (within {duration(tolerance, unit='days')} of schedule)",
        on_time=f"{how} {100 * share:.0f} %",
        legs=f"{legs:,}+ legs" if legs > 0 else "fewer than 10 legs",
        unit=unit,
    )  # fmt: skip


def interval_frame(answer: Mapping[str, object]) -> pd.DataFrame:
    """Return the transit interval in the card's unit: rows ``lower``, ``median``, ``upper``.

    Columns: ``bound``, ``transit`` (in :attr:`LaneCard.unit`) and ``unit``.
    """
    unit = transit_unit(answer)
    bounds = ["lower", "median", "upper"]
    values = [_number(answer, f"transit_hours_{b}") * 60.0 / MINUTES[unit] for b in bounds]
    return pd.DataFrame({"bound": bounds, "transit": values, "unit": unit})


def lane_card_html(
    answer: Mapping[str, object],
    *,
    tolerances: Mapping[str, object] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """Render the answer card as HTML for a notebook; ``extra`` adds ``(label, value)`` lines.

    Examples
    --------
    >>> answer = {"origin": "ITMIL", "destination": "FRPAR", "mode": "road", "departures": 28,
    ...     "departure_from": "2026-06-01T00:00:00Z", "departure_to": "2026-06-08T00:00:00Z",
    ...     "on_time_rate": 0.7, "tolerance_minutes": 60, "interval_level": 0.8,
    ...     "delay_minutes_lower": -20.0, "delay_minutes_median": 25.0,
    ...     "delay_minutes_upper": 95.0, "transit_hours_lower": 13.2,
    ...     "transit_hours_median": 14.0, "transit_hours_upper": 15.2, "legs_in_pool": 40}
    >>> text = lane_card_html(answer, extra=[("Price paid", "14 points")])
    >>> "ITMIL → FRPAR by road" in text and "14 h" in text and "Price paid" in text
    True
    """
    card = lane_card(answer, tolerances=tolerances)
    lines = [
        ("Departures", card.departures), ("Typical transit", card.transit),
        (card.interval_label, card.interval), ("Typical delay", card.delay),
        (card.on_time_label, card.on_time), ("Pooled", card.legs), *extra,
    ]  # fmt: skip
    return f"<h4>{html.escape(card.title)}</h4>" + facts_table(
        (html.escape(label), html.escape(value)) for label, value in lines
    )
