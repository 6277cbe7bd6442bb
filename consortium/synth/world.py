"""The shared world every member lives in: calendar, daily weather and hub congestion.

One :class:`World` is drawn per seed and drives every member, so a typhoon at Shanghai or a strike
in the North Range ports shows up in the sea line's delays, the air line's delays and the
warehouses' late inbound deliveries at once. That shared structure is what makes pooling data
across members worth it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np

from consortium.synth.places import LOCATIONS, MODES, REGION_INDEX, REGIONS, Mode, lanes_for

logger = logging.getLogger(__name__)

START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
N_DAYS = (END - START).days + 1
WARMUP_DAYS = 56  # history before START that the warehouse simulation burns in on
PAD_DAYS = 120  # world days after END, for arrivals of legs that depart near the end
LUNAR_NEW_YEAR = (dt.date(2024, 2, 10), dt.date(2025, 1, 29))

# Sub-stream keys under the seed; members use keys >= 100 (see members.py).
_STREAM_WEATHER, _STREAM_CONGESTION, _STREAM_LANES = 1, 2, 3

# Clusters of locations that share labour actions and demand surges (second item: spillover).
_CLUSTERS: tuple[tuple[str, tuple[tuple[str, float], ...], float], ...] = (
    ("north-range", (("NLRTM", 1.0), ("BEANR", 0.9), ("DEHAM", 0.7), ("DEDUI", 0.5)), 1.5),
    ("yangtze", (("CNSHA", 1.0), ("CNNGB", 0.9), ("PVG", 0.5), ("CNCKG", 0.3)), 1.5),
    ("us-west", (("USLAX", 1.0), ("LAX", 0.4)), 0.5),
)


@dataclass(frozen=True)
class Episode:
    """A multi-day disruption: a storm over a region or a congestion shock at some hubs."""

    kind: str
    where: tuple[str, ...]
    start: dt.date
    days: int
    magnitude: float


@dataclass(frozen=True, eq=False)
class World:
    """Daily weather per region and congestion per location, over the padded calendar.

    Arrays are indexed ``[region or location, world_day]`` where world day ``offset`` is
    :data:`START`; use :meth:`day_index` to convert. ``severity[mode]`` is how much the weather
    disrupts that mode (0 = none, 1 = severe, can exceed 1).
    """

    seed: int
    first_day: dt.date
    offset: int
    temperature_c: np.ndarray
    precipitation_mm_day: np.ndarray
    wind_ms: np.ndarray
    visibility_km: np.ndarray
    storm: np.ndarray
    congestion: np.ndarray
    severity: dict[Mode, np.ndarray]
    lane_bias: dict[Mode, np.ndarray]
    lane_spread: dict[Mode, np.ndarray]
    episodes: tuple[Episode, ...]

    @property
    def n_world_days(self) -> int:
        """Number of days the arrays cover (warm-up, the two years, and padding)."""
        return int(self.congestion.shape[1])

    def day_index(self, day: dt.date) -> int:
        """Return the world-day index of a calendar day."""
        return (day - self.first_day).days

    def dates(self) -> np.ndarray:
        """Return the calendar of the arrays as ``datetime64[D]``."""
        first = np.datetime64(self.first_day.isoformat(), "D")
        return first + np.arange(self.n_world_days)


def stream(seed: int, key: int) -> np.random.Generator:
    """Return the generator of one named sub-stream of ``seed`` (independent of call order)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def build_world(seed: int) -> World:
    """Draw the shared world for ``seed``; the same seed always gives the same world.

    Examples
    --------
    >>> world = build_world(7)
    >>> world.congestion.shape[0] == len(LOCATIONS)
    True
    """
    first_day = START - dt.timedelta(days=WARMUP_DAYS)
    n = WARMUP_DAYS + N_DAYS + PAD_DAYS
    first = np.datetime64(first_day.isoformat(), "D")
    dates = first + np.arange(n)
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1

    weather = _draw_weather(stream(seed, _STREAM_WEATHER), doy, months, first_day)
    temp, precip, wind, vis, storm, storm_episodes = weather
    congestion, episodes = _draw_congestion(
        stream(seed, _STREAM_CONGESTION), dates, doy, storm, first_day
    )
    severity = _severity(temp, precip, wind, vis, storm)
    lane_bias, lane_spread = _draw_lane_effects(stream(seed, _STREAM_LANES))
    all_episodes = tuple(
        sorted(storm_episodes + episodes, key=lambda e: (e.start, e.kind, e.where))
    )
    logger.info("world for seed %d: %d episodes over %d days", seed, len(all_episodes), n)
    return World(
        seed=seed,
        first_day=first_day,
        offset=WARMUP_DAYS,
        temperature_c=temp,
        precipitation_mm_day=precip,
        wind_ms=wind,
        visibility_km=vis,
        storm=storm,
        congestion=congestion,
        severity=severity,
        lane_bias=lane_bias,
        lane_spread=lane_spread,
        episodes=all_episodes,
    )


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) noise along axis 1, one independent series per row."""
    eps = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), size=shape)
    out = np.empty(shape)
    out[:, 0] = rng.normal(0.0, sigma, size=shape[0])
    for t in range(1, shape[1]):
        out[:, t] = phi * out[:, t - 1] + eps[:, t]
    return out


def _draw_weather(
    rng: np.random.Generator, doy: np.ndarray, months: np.ndarray, first_day: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Episode]]:
    n_r, n_t = len(REGIONS), len(doy)
    col = np.array
    mean = col([r.temp_mean_c for r in REGIONS])[:, None]
    amp = col([r.temp_amplitude_c for r in REGIONS])[:, None]
    season = np.cos(2 * np.pi * (doy[None, :] - 200) / 365.25)
    temp = mean + amp * season + _ar1(rng, (n_r, n_t), 0.8, 2.5)

    # Storms: multi-day episodes in each region's storm months.
    storm = np.zeros((n_r, n_t))
    episodes: list[Episode] = []
    years = n_t / 365.25
    for i, region in enumerate(REGIONS):
        if not region.storm_months:
            continue
        candidates = np.flatnonzero(np.isin(months, region.storm_months))
        for _ in range(int(rng.poisson(region.storm_rate_per_year * years))):
            start = int(rng.choice(candidates))
            days = int(rng.integers(1, 5))
            strength = float(rng.uniform(0.5, 1.0))
            storm[i, start : start + days] = np.maximum(storm[i, start : start + days], strength)
            day = first_day + dt.timedelta(days=start)
            episodes.append(Episode("storm", (region.name,), day, days, round(strength, 2)))

    # Wet days: a two-state Markov chain with a seasonal wet-day probability.
    wet_p = col([r.wet_day_prob for r in REGIONS])[:, None]
    peak = col([r.wet_peak_doy for r in REGIONS])[:, None]
    p = np.clip(wet_p * (1 + 0.5 * np.cos(2 * np.pi * (doy[None, :] - peak) / 365.25)), 0.01, 0.9)
    u = rng.random((n_r, n_t))
    wet = np.zeros((n_r, n_t), dtype=bool)
    for t in range(1, n_t):
        stay = p[:, t] + 0.35 * (1 - p[:, t])
        wet[:, t] = np.where(wet[:, t - 1], u[:, t] < stay, u[:, t] < p[:, t] * 0.75)
    precip = np.where(wet, rng.gamma(0.8, 6.0, (n_r, n_t)), 0.0)
    precip += storm * rng.gamma(2.0, 15.0, (n_r, n_t))

    mean_wind = col([r.mean_wind_ms for r in REGIONS])[:, None]
    winter_wind = 1 - 0.25 * season  # windier in winter
    wind = mean_wind * winter_wind * rng.weibull(2.0, (n_r, n_t)) * 1.13
    wind += storm * rng.uniform(10.0, 22.0, (n_r, n_t))

    fog_prone = col([r.fog_prone for r in REGIONS])[:, None]
    fog_p = fog_prone * (0.5 + 0.5 * np.clip(-season, 0, 1)) * (wind < 3.5)
    fog = rng.random((n_r, n_t)) < fog_p * 0.5
    vis = 30.0 / (1 + precip / 6.0) * rng.uniform(0.7, 1.1, (n_r, n_t))
    vis = np.where(fog, rng.uniform(0.1, 1.2, (n_r, n_t)), vis)
    vis = np.where(storm > 0, np.minimum(vis, rng.uniform(0.5, 4.0, (n_r, n_t))), vis)
    vis = np.clip(vis, 0.05, 50.0)
    return temp, precip, wind, vis, storm, episodes


def _episode_shape(days: int, n_tail: int) -> np.ndarray:
    """Ramp up over a day, hold, then decay: the profile of one congestion shock."""
    body = np.ones(days)
    body[0] = 0.5
    tail = 0.5 ** np.arange(1, n_tail + 1)
    return np.concatenate([body, tail])


def _draw_congestion(
    rng: np.random.Generator,
    dates: np.ndarray,
    doy: np.ndarray,
    storm: np.ndarray,
    first_day: dt.date,
) -> tuple[np.ndarray, list[Episode]]:
    n_l, n_t = len(LOCATIONS), len(dates)
    base = np.array([loc.congestion_base for loc in LOCATIONS])
    z = np.log(base / (1 - base))[:, None] + _ar1(rng, (n_l, n_t), 0.85, 0.3)
    kinds = np.array([loc.kind for loc in LOCATIONS])
    dow = (dates.astype("datetime64[D]").astype(int) + 3) % 7  # 0 = Monday

    peak_sea = np.exp(-0.5 * ((doy - 290) / 30.0) ** 2)  # Sep-Nov peak season
    peak_air = np.exp(-0.5 * ((doy - 330) / 25.0) ** 2)  # Nov-Dec e-commerce peak
    pre_xmas = ((doy >= 335) & (doy <= 357)).astype(float)
    z[kinds == "port"] += 0.7 * peak_sea
    z[kinds == "airport"] += 0.6 * peak_air
    inland_dow = np.array([0.25, 0.05, 0.0, 0.05, 0.2, -0.35, -0.7])[dow]
    z[kinds == "inland"] += 0.5 * pre_xmas + inland_dow
    china = np.array([loc.tz == "Asia/Shanghai" for loc in LOCATIONS])
    for lny in LUNAR_NEW_YEAR:
        lag = (dates - np.datetime64(lny.isoformat(), "D")).astype(int)
        z[china] += 1.0 * ((lag >= -14) & (lag < 0)) + 0.6 * ((lag >= 7) & (lag < 21))

    region_of = np.array([REGION_INDEX[loc.region] for loc in LOCATIONS])
    storm_gain = np.where(kinds == "inland", 1.5, 2.5)[:, None]
    z += storm_gain * storm[region_of]

    index = {loc.code: i for i, loc in enumerate(LOCATIONS)}
    shocks = np.zeros((n_l, n_t))
    episodes: list[Episode] = []
    years = n_t / 365.25
    groups: list[tuple[str, tuple[tuple[str, float], ...], float]] = [
        ("surge", ((loc.code, 1.0),), loc.episode_rate_per_year) for loc in LOCATIONS
    ]
    groups += [("strike", members, rate) for _, members, rate in _CLUSTERS]
    for kind, members, rate in groups:
        for _ in range(int(rng.poisson(rate * years))):
            start = int(rng.integers(0, n_t - 30))
            days = int(np.clip(rng.lognormal(np.log(5.0), 0.5), 2, 21))
            magnitude = float(rng.uniform(1.5, 3.5))
            shape = _episode_shape(days, 3) * magnitude
            for code, weight in members:
                row = index[code]
                stop = min(n_t, start + len(shape))
                shocks[row, start:stop] = np.maximum(
                    shocks[row, start:stop], weight * shape[: stop - start]
                )
            day = first_day + dt.timedelta(days=start)
            where = tuple(code for code, _ in members)
            episodes.append(Episode(kind, where, day, days, round(magnitude, 2)))
    congestion = 1.0 / (1.0 + np.exp(-(z + shocks)))
    return congestion, episodes


def _severity(
    temp: np.ndarray, precip: np.ndarray, wind: np.ndarray, vis: np.ndarray, storm: np.ndarray
) -> dict[Mode, np.ndarray]:
    """How much the day's weather disrupts each mode, per region and day."""
    snow = ((precip > 1.0) & (temp < 0.5)).astype(float)
    fog = (vis < 1.0).astype(float)
    rain = np.minimum(precip / 25.0, 1.5)
    gale = np.maximum(wind - 12.0, 0.0)
    return {
        "sea": 0.10 * gale + 1.5 * storm + 0.3 * fog,
        "road": 0.6 * rain + 1.0 * snow + 0.5 * fog + 0.03 * gale + 0.8 * storm,
        "rail": 0.8 * snow + 0.4 * (temp > 33.0) + 0.6 * storm + 0.2 * rain,
        "air": 0.7 * fog + 0.06 * gale + 1.2 * snow + 1.0 * storm + 0.1 * rain,
    }


def _draw_lane_effects(
    rng: np.random.Generator,
) -> tuple[dict[Mode, np.ndarray], dict[Mode, np.ndarray]]:
    """Each lane's typical delay (in units of its mode's delay scale) and its spread."""
    bias: dict[Mode, np.ndarray] = {}
    spread: dict[Mode, np.ndarray] = {}
    for mode in MODES:
        km = np.array([lane.distance_km for lane in lanes_for(mode)], dtype=float)
        size = np.log(km / np.median(km))
        bias[mode] = rng.normal(0.0, 1.6, len(km)) + 0.3 * size
        spread[mode] = np.exp(rng.normal(0.0, 0.35, len(km)))
    return bias, spread
