"""When a carrier's legs are planned to leave and arrive.

Sea, rail and air run timetables: each lane has fixed departure weekdays and local hours, and
several legs (containers, wagons, unit load devices) travel on the same sailing, train or flight,
so they share that service's delay. Road legs are individual trucks: each picks its own day and
hour, with few departures at weekends (Sunday driving bans) and peaks in the early morning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consortium.synth.places import Lane, Mode, lanes_for, location
from consortium.synth.world import LUNAR_NEW_YEAR, N_DAYS, START

# Delay scale per mode, in minutes, for a lane of reference duration (hours).
MODE_SCALE_MIN: dict[Mode, float] = {"sea": 600.0, "road": 20.0, "rail": 180.0, "air": 40.0}
REFERENCE_HOURS: dict[Mode, float] = {"sea": 600.0, "road": 8.0, "rail": 48.0, "air": 10.0}
_ROUND_MIN: dict[Mode, int] = {"sea": 30, "road": 5, "rail": 15, "air": 5}
_ROAD_HOUR_P = np.array(
    [2, 2, 2, 3, 6, 9, 10, 9, 6, 4, 3, 3, 3, 5, 6, 5, 3, 2, 2, 2, 3, 3, 3, 2], dtype=float
)
_ROAD_DOW_P = np.array([1.1, 1.1, 1.1, 1.1, 1.0, 0.35, 0.04])


@dataclass(frozen=True)
class Schedule:
    """The planned side of a carrier's legs, one entry per leg.

    ``day`` counts days since :data:`~consortium.synth.world.START` (local date at the origin);
    ``service`` numbers the sailing, train, flight or truck the leg travels on.
    """

    lane: np.ndarray
    day: np.ndarray
    minute_of_day: np.ndarray
    duration_min: np.ndarray
    service: np.ndarray


def scheduled_hours(lane: Lane) -> float:
    """Planned door-to-door duration of a lane, in hours (speed, stops and driver rest)."""
    km = lane.distance_km
    if lane.mode == "sea":
        return km / 29.6 + 48.0  # 16 knots plus port stays
    if lane.mode == "rail":
        return km / 28.0 + 24.0 if km > 5000 else km / 45.0 + 6.0
    if lane.mode == "air":
        return km / 820.0 + 1.0
    drive = km / 68.0  # EU rules: a 45 min break per 4.5 h, an 11 h rest per 9 h of driving
    return drive + 0.75 * np.floor(drive / 4.5) + 11.0 * np.floor(drive / 9.0) + 1.0


def delay_scale_min(mode: Mode, duration_min: np.ndarray) -> np.ndarray:
    """Typical size of a delay (minutes) for legs of this mode and planned duration."""
    return MODE_SCALE_MIN[mode] * np.sqrt(duration_min / 60.0 / REFERENCE_HOURS[mode])


def day_of_week(day: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6, for days counted since START (a Monday)."""
    return (day + START.weekday()) % 7


def volume_factor(mode: Mode, days: np.ndarray, from_china: bool) -> np.ndarray:
    """Relative number of departures per day: peak seasons up, holidays down."""
    dates = np.datetime64(START.isoformat(), "D") + days
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    f = np.ones(len(days))
    if mode == "sea":
        f += 0.3 * np.exp(-0.5 * ((doy - 260) / 30.0) ** 2)
    elif mode == "air":
        f += 0.4 * np.exp(-0.5 * ((doy - 330) / 25.0) ** 2)
    elif mode == "road":
        f += 0.2 * ((doy >= 330) & (doy <= 356)) - 0.2 * ((doy >= 213) & (doy <= 243))
    if from_china:
        for lny in LUNAR_NEW_YEAR:
            lag = days - (lny - START).days
            f *= np.where((lag >= 0) & (lag < 10), 0.4, 1.0)
    return f


def draw_schedule(mode: Mode, n_rows: int, rng: np.random.Generator) -> Schedule:
    """Draw the planned departures of ``n_rows`` legs of a carrier of ``mode``.

    Each lane gets a share of the legs (a few busy lanes, many quiet ones); within a lane, legs
    fall on its timetable in proportion to the seasonal volume, and only on departures whose
    planned arrival is within the two years.
    """
    lanes = lanes_for(mode)
    hours = np.array([scheduled_hours(lane) for lane in lanes])
    step = _ROUND_MIN[mode]
    duration = np.maximum(step, np.round(hours * 60.0 / step) * step)
    weights = rng.dirichlet(np.full(len(lanes), 1.5))
    counts = rng.multinomial(n_rows, weights)
    parts: list[tuple[np.ndarray, ...]] = []
    for i, (lane, n) in enumerate(zip(lanes, counts, strict=True)):
        last_day = N_DAYS - 1 - int(np.ceil(duration[i] / 1440.0)) - 1
        parts.append(_lane_departures(mode, lane, i, int(n), last_day, rng))
    lane_idx, day, minute, service_key = (np.concatenate(p) for p in zip(*parts, strict=True))
    _, service = np.unique(service_key, return_inverse=True)
    return Schedule(lane_idx, day, minute, duration[lane_idx], service)


def _lane_departures(
    mode: Mode, lane: Lane, lane_idx: int, n: int, last_day: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    days = np.arange(last_day + 1)
    dow = day_of_week(days)
    china = location(lane.origin).tz == "Asia/Shanghai"
    if mode == "road":
        p = volume_factor(mode, days, china) * _ROAD_DOW_P[dow]
        day = rng.choice(days, size=n, p=p / p.sum())
        hour = rng.choice(24, size=n, p=_ROAD_HOUR_P / _ROAD_HOUR_P.sum())
        minute = hour * 60 + rng.integers(0, 12, size=n) * 5
        key = lane_idx * 10**9 + np.arange(n)  # every truck is its own service
        return np.full(n, lane_idx), day, minute, key
    if mode == "sea":
        runs = np.isin(dow, rng.choice(7, size=1))
        slots = np.array([int(rng.integers(4, 22)) * 60])
    elif mode == "rail":
        per_week = 2 if lane.distance_km > 5000 else 5
        runs = np.isin(dow, np.sort(rng.choice(7 if per_week == 2 else 5, per_week, replace=False)))
        slots = np.array([int(rng.integers(17, 24)) * 60])
    else:  # air: a night freighter and a daytime belly-hold flight
        night = (int(rng.integers(21, 27)) % 24) * 60 + 5 * int(rng.integers(0, 12))
        slots = np.array([night, int(rng.integers(9, 17)) * 60 + 5 * int(rng.integers(0, 12))])
        runs = np.ones(len(days), dtype=bool)
    service_days = days[runs]
    p = volume_factor(mode, service_days, china)
    day = rng.choice(service_days, size=n, p=p / p.sum())
    slot = rng.choice(len(slots), size=n, p=[0.65, 0.35] if len(slots) == 2 else None)
    minute = slots[slot]
    if mode == "sea":  # vessels rarely leave on the minute: a per-sailing jitter
        jitter = rng.integers(-6, 7, size=N_DAYS) * 30
        minute = np.clip(minute + jitter[day], 0, 1410)
    key = (lane_idx * 10**6 + day) * 10 + slot
    return np.full(n, lane_idx), day, minute, key
