"""A carrier's completed legs: planned times from the timetable, actual times from the world.

The delay of a leg (actual minus planned arrival, in minutes) is ``scale * (effects + noise) +
tail``: ``scale`` grows with the mode (sea hours to days, air minutes) and the leg's length; the
effects are the lane's own typical delay, the carrier's punctuality, season, weekday and hour,
cargo type, and the congestion and weather at origin (on departure) and destination (on planned
arrival), taken from the shared :class:`~consortium.synth.world.World`. The noise grows with
congestion at the destination, and a heavy (Pareto) tail adds the rare very late legs.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from consortium.synth.members import CarrierSpec, stream_key
from consortium.synth.places import LOCATION_INDEX, REGION_INDEX, Mode, lanes_for, location
from consortium.synth.schedule import Schedule, day_of_week, delay_scale_min, draw_schedule
from consortium.synth.timestamps import format_iso, localize
from consortium.synth.world import LUNAR_NEW_YEAR, START, World, stream

logger = logging.getLogger(__name__)

LEGS_COLUMNS: tuple[str, ...] = (
    "leg_id", "mode", "carrier", "origin", "destination", "scheduled_departure",
    "scheduled_arrival", "actual_departure", "actual_arrival", "distance_km", "cargo_type",
    "wind_speed", "precipitation", "visibility", "temperature", "congestion_index",
)  # fmt: skip
PERSONAL_EXTRAS: tuple[str, ...] = ("driver_name", "internal_note")

# Effect sizes in units of the leg's delay scale.
_CONGESTION_ORIGIN: dict[Mode, float] = {"sea": 3.0, "road": 3.0, "rail": 3.0, "air": 3.0}
_CONGESTION_DEST: dict[Mode, float] = {"sea": 5.0, "road": 4.0, "rail": 3.5, "air": 3.0}
_WEATHER_ORIGIN: dict[Mode, float] = {"sea": 0.8, "road": 1.5, "rail": 1.0, "air": 1.5}
_WEATHER_DEST: dict[Mode, float] = {"sea": 1.2, "road": 1.5, "rail": 1.0, "air": 1.5}
_DOW: dict[Mode, list[float]] = {
    "sea": [0.0] * 7,
    "road": [0.3, 0.0, 0.0, 0.1, 0.4, -0.3, -0.5],
    "rail": [0.2, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0],
    "air": [0.1, 0.0, 0.0, 0.0, 0.2, 0.0, -0.1],
}
_TAIL_P: dict[Mode, float] = {"sea": 0.05, "road": 0.03, "rail": 0.05, "air": 0.04}
_TAIL_SIZE: dict[Mode, float] = {"sea": 2.5, "road": 4.0, "rail": 3.0, "air": 4.0}
_MAX_DELAY_MIN: dict[Mode, float] = {
    "sea": 14 * 1440,
    "road": 36 * 60,
    "rail": 10 * 1440,
    "air": 72 * 60,
}
_SERVICE_SHARE: dict[Mode, float] = {"sea": 0.85, "road": 0.0, "rail": 0.7, "air": 0.6}
_CONGESTION_CENTRE = 0.3
_N_DRIVERS = 350
_NOTES = (
    "call before delivery",
    "tail-lift required",
    "rebooked by dispatch",
    "gate code at reception",
)


def generate_legs(world: World, spec: CarrierSpec, n_rows: int) -> pd.DataFrame:
    """Generate ``n_rows`` legs of a carrier as a contract-shaped frame (timestamps as text).

    Parameters
    ----------
    world
        The shared world (weather, congestion, lane effects).
    spec
        The carrier.
    n_rows
        Number of legs.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEGS_COLUMNS`, plus :data:`PERSONAL_EXTRAS` when the spec asks for them,
        sorted by planned departure; ``leg_id`` numbers the rows.

    Examples
    --------
    >>> from consortium.synth.members import CARRIERS
    >>> from consortium.synth.world import build_world
    >>> legs = generate_legs(build_world(7), CARRIERS[3], 50)
    >>> bool((legs["mode"] == "air").all())
    True
    """
    rng = stream(world.seed, stream_key(spec.member_id))
    mode = spec.mode
    plan = draw_schedule(mode, n_rows, rng)
    lanes = lanes_for(mode)
    origin = np.array([lanes[i].origin for i in plan.lane], dtype=object)
    destination = np.array([lanes[i].destination for i in plan.lane], dtype=object)
    tz_o = np.array([location(c).tz for c in origin], dtype=object)
    tz_d = np.array([location(c).tz for c in destination], dtype=object)

    start = np.datetime64(START.isoformat(), "s")
    wall = start + (plan.day * 1440 + plan.minute_of_day).astype("timedelta64[m]")
    sched_dep = localize(wall, tz_o)
    sched_arr = sched_dep + plan.duration_min.astype("timedelta64[m]")
    d0 = world.offset + plan.day
    d1 = world.offset + plan.day + (plan.duration_min // 1440).astype(int)
    loc_o = np.array([LOCATION_INDEX[c] for c in origin])
    loc_d = np.array([LOCATION_INDEX[c] for c in destination])
    reg_o = np.array([REGION_INDEX[location(c).region] for c in origin])
    reg_d = np.array([REGION_INDEX[location(c).region] for c in destination])

    cargo_idx = rng.choice(len(spec.cargo), size=n_rows, p=[c.share for c in spec.cargo])
    cong_o, cong_d = world.congestion[loc_o, d0], world.congestion[loc_d, d1]
    sev_o, sev_d = world.severity[mode][reg_o, d0], world.severity[mode][reg_d, d1]
    sens = spec.congestion_sensitivity
    origin_effect = sens * _CONGESTION_ORIGIN[mode] * (cong_o - _CONGESTION_CENTRE)
    origin_effect += _WEATHER_ORIGIN[mode] * sev_o
    effects = (
        world.lane_bias[mode][plan.lane]
        + spec.punctuality_bias
        + _season_effect(mode, plan.day, tz_o)
        + np.array(_DOW[mode])[day_of_week(plan.day)]
        + _hour_effect(mode, plan.minute_of_day // 60)
        + np.array([c.delay_effect for c in spec.cargo])[cargo_idx]
        + origin_effect
        + sens * _CONGESTION_DEST[mode] * (cong_d - _CONGESTION_CENTRE)
        + _WEATHER_DEST[mode] * sev_d
    )
    scale = delay_scale_min(mode, plan.duration_min)
    spread = world.lane_spread[mode][plan.lane] * spec.noise_scale
    spread = spread * (1.0 + 2.0 * np.maximum(cong_d - _CONGESTION_CENTRE, 0.0) + 0.5 * sev_d)
    noise = _shared_noise(plan, rng, _SERVICE_SHARE[mode]) * spread
    tail_p = _TAIL_P[mode] * (1.0 + 4.0 * cong_d + 2.0 * sev_d)
    tail_hit = _shared_uniform(plan, rng, _SERVICE_SHARE[mode]) < tail_p
    tail = np.where(tail_hit, _TAIL_SIZE[mode] * (rng.pareto(1.6, n_rows) + 0.2), 0.0)
    arrival_delay = np.minimum(scale * (effects + noise + tail), _MAX_DELAY_MIN[mode])
    if mode == "air":  # offloaded to the next day's flight
        arrival_delay += np.where(rng.random(n_rows) < 0.01, 1440.0, 0.0)

    dep_noise = 0.3 * rng.normal(size=n_rows)
    departure_delay = scale * np.maximum(0.4 * origin_effect + dep_noise, -0.3)
    act_dep = sched_dep + np.round(departure_delay).astype("timedelta64[m]")
    act_arr = sched_arr + np.round(arrival_delay).astype("timedelta64[m]")
    floor = act_dep + (plan.duration_min // 2).astype("timedelta64[m]")
    act_arr = np.maximum(act_arr, floor)
    act_dep_out = np.where(
        rng.random(n_rows) < spec.missing_departure_rate, np.datetime64("NaT"), act_dep
    )

    order = np.lexsort((plan.lane, sched_dep))
    zone_o = tz_o if spec.local_time else None
    zone_d = tz_d if spec.local_time else None
    columns: dict[str, object] = {
        "leg_id": [f"{spec.carrier_code}-{i:07d}" for i in range(1, n_rows + 1)],
        "mode": mode,
        "carrier": spec.carrier_code,
        "origin": origin[order],
        "destination": destination[order],
        "scheduled_departure": format_iso(sched_dep, zone_o)[order],
        "scheduled_arrival": format_iso(sched_arr, zone_d)[order],
        "actual_departure": format_iso(act_dep_out.astype("datetime64[s]"), zone_o)[order],
        "actual_arrival": format_iso(act_arr, zone_d)[order],
        "distance_km": np.array([lanes[i].distance_km for i in plan.lane], dtype=np.int64)[order],
        "cargo_type": np.array([c.name for c in spec.cargo], dtype=object)[cargo_idx][order],
    }
    columns.update(
        {k: v[order] for k, v in _weather_features(world, spec, reg_o, loc_o, d0, rng).items()}
    )
    if spec.personal_extras:
        drivers = rng.integers(1, _N_DRIVERS + 1, size=n_rows)
        columns["driver_name"] = np.array([f"Driver {d:04d}" for d in drivers], dtype=object)
        notes = np.array(("",) * 6 + _NOTES, dtype=object)
        columns["internal_note"] = notes[rng.choice(len(notes), size=n_rows, p=_note_p(len(notes)))]
    frame = pd.DataFrame(columns)
    logger.info("%s: %d legs on %d lanes", spec.member_id, n_rows, len(np.unique(plan.lane)))
    return frame


def _note_p(n: int) -> np.ndarray:
    p = np.full(n, 0.15 / (n - 6))
    p[:6] = 0.85 / 6
    return p


def _shared_noise(plan: Schedule, rng: np.random.Generator, share: float) -> np.ndarray:
    """Draw standard normal noise whose ``share`` of variance is common to legs of one service."""
    n_services = int(plan.service.max()) + 1
    common = rng.normal(size=n_services)[plan.service]
    own = rng.normal(size=len(plan.service))
    return np.sqrt(share) * common + np.sqrt(1.0 - share) * own


def _shared_uniform(plan: Schedule, rng: np.random.Generator, share: float) -> np.ndarray:
    """Draw uniforms that are, with probability ``share``, the same for a whole service."""
    n_services = int(plan.service.max()) + 1
    common = rng.random(n_services)[plan.service]
    own = rng.random(len(plan.service))
    return np.where(rng.random(len(plan.service)) < share, common, own)


def _season_effect(mode: Mode, day: np.ndarray, tz_origin: np.ndarray) -> np.ndarray:
    dates = np.datetime64(START.isoformat(), "D") + day
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    peak_sea = np.exp(-0.5 * ((doy - 290) / 30.0) ** 2)
    peak_air = np.exp(-0.5 * ((doy - 330) / 25.0) ** 2)
    pre_lny = np.zeros(len(day))
    for lny in LUNAR_NEW_YEAR:
        lag = day - (lny - START).days
        pre_lny += (lag >= -14) & (lag < 0)
    china = tz_origin == "Asia/Shanghai"
    if mode == "sea":
        return 0.8 * peak_sea + 1.0 * pre_lny * china
    if mode == "road":
        return 0.6 * ((doy >= 335) & (doy <= 357)) - 0.2 * ((doy >= 190) & (doy <= 240))
    if mode == "rail":
        return 0.6 * pre_lny * china + 0.3 * peak_sea
    return 0.7 * peak_air


def _hour_effect(mode: Mode, hour: np.ndarray) -> np.ndarray:
    if mode == "road":
        rush = np.isin(hour, (6, 7, 8)) * 0.7 + np.isin(hour, (15, 16, 17)) * 0.6
        return rush - 0.4 * ((hour >= 21) | (hour <= 4))
    if mode == "air":
        return -0.3 * ((hour >= 21) | (hour <= 4)) + 0.4 * ((hour >= 9) & (hour <= 17))
    return np.zeros(len(hour))


def _weather_features(
    world: World,
    spec: CarrierSpec,
    reg_o: np.ndarray,
    loc_o: np.ndarray,
    d0: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Return what the carrier records at departure: origin weather and congestion."""
    n = len(d0)
    daily = world.precipitation_mm_day[reg_o, d0]
    raining = rng.random(n) < np.where(daily > 0, 0.35 + 0.6 * np.minimum(daily / 30.0, 1.0), 0.0)
    rate = np.where(raining, daily / 24.0 * rng.gamma(2.0, 1.0, n), 0.0)
    congestion = world.congestion[loc_o, d0] + rng.normal(0.0, 0.02, n)
    features = {
        "wind_speed": np.round(world.wind_ms[reg_o, d0] * rng.uniform(0.85, 1.15, n), 1),
        "precipitation": np.round(rate, 2),
        "visibility": np.round(world.visibility_km[reg_o, d0], 2),
        "temperature": np.round(world.temperature_c[reg_o, d0] + rng.normal(0.0, 1.0, n), 1),
        "congestion_index": np.round(np.clip(congestion, 0.0, 1.0), 3),
    }
    if spec.missing_weather_rate > 0:  # gaps in the member's weather feed
        gap = rng.random(n) < spec.missing_weather_rate
        for name in ("wind_speed", "precipitation", "visibility", "temperature"):
            features[name] = np.where(gap, np.nan, features[name])
    return features
