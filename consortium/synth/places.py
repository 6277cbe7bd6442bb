"""The static geography of the synthetic world: climate regions, locations and lanes.

Everything here is fixed data (no randomness): real UN/LOCODEs and IATA codes with their real
coordinates and time zones, a rough climate per region, and the lanes each mode runs. The random
parts (weather, congestion, lane effects) are drawn in :mod:`consortium.synth.world`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Mode = Literal["sea", "road", "rail", "air"]
MODES: tuple[Mode, ...] = ("sea", "road", "rail", "air")


@dataclass(frozen=True)
class Region:
    """A climate region; every location in it shares the same daily weather.

    Temperatures peak around day-of-year 200 in the northern hemisphere. Storms are multi-day
    episodes (typhoons, winter storms, sand storms) that bring wind, rain or snow, fog and port
    or airport congestion to every location of the region.
    """

    name: str
    temp_mean_c: float
    temp_amplitude_c: float
    wet_day_prob: float
    wet_peak_doy: int
    mean_wind_ms: float
    fog_prone: float
    storm_months: tuple[int, ...]
    storm_rate_per_year: float


@dataclass(frozen=True)
class Location:
    """A port, inland hub or airport, with the congestion profile of its operator."""

    code: str
    name: str
    region: str
    tz: str
    lat: float
    lon: float
    kind: Literal["port", "inland", "airport"]
    congestion_base: float
    episode_rate_per_year: float


@dataclass(frozen=True)
class Lane:
    """A directed origin-destination pair served by one mode."""

    mode: Mode
    origin: str
    destination: str
    distance_km: float


_R = Region
REGIONS: tuple[Region, ...] = (
    _R("shanghai", 17.0, 11.0, 0.35, 170, 4.0, 0.10, (7, 8, 9), 1.5),
    _R("hongkong", 23.5, 6.0, 0.35, 200, 4.5, 0.05, (6, 7, 8, 9, 10), 2.0),
    _R("chongqing", 18.5, 10.0, 0.40, 170, 2.0, 0.30, (), 0.0),
    _R("singapore", 27.5, 0.8, 0.50, 350, 3.0, 0.02, (11, 12, 1), 1.0),
    _R("dubai", 28.0, 8.0, 0.03, 40, 4.5, 0.05, (3, 4, 5, 6, 7), 1.5),
    _R("rotterdam", 10.5, 7.5, 0.50, 320, 6.0, 0.20, (10, 11, 12, 1, 2, 3), 3.0),
    _R("antwerp", 11.0, 7.5, 0.48, 320, 5.0, 0.18, (10, 11, 12, 1, 2, 3), 2.0),
    _R("hamburg", 9.5, 8.5, 0.50, 330, 6.0, 0.15, (10, 11, 12, 1, 2, 3), 3.0),
    _R("ruhr", 10.5, 8.0, 0.45, 330, 4.0, 0.15, (11, 12, 1, 2), 1.5),
    _R("frankfurt", 10.5, 9.0, 0.42, 330, 3.5, 0.15, (11, 12, 1, 2), 1.0),
    _R("munich", 8.5, 9.5, 0.45, 190, 3.0, 0.20, (12, 1, 2), 1.5),
    _R("paris", 12.0, 8.0, 0.42, 320, 4.0, 0.15, (11, 12, 1, 2), 1.0),
    _R("warsaw", 8.0, 11.0, 0.42, 200, 4.0, 0.20, (12, 1, 2), 2.0),
    _R("prague", 8.5, 10.0, 0.42, 190, 3.5, 0.20, (12, 1, 2), 1.5),
    _R("milan", 13.5, 11.0, 0.32, 300, 2.0, 0.45, (11, 12, 1), 1.0),
    _R("losangeles", 18.5, 4.5, 0.10, 20, 3.5, 0.15, (12, 1, 2), 1.0),
    _R("newyork", 12.5, 12.0, 0.33, 120, 5.0, 0.10, (12, 1, 2, 3), 2.0),
    _R("chicago", 10.0, 14.0, 0.33, 150, 5.0, 0.10, (12, 1, 2, 3), 3.0),
)

_L = Location
LOCATIONS: tuple[Location, ...] = (
    # Sea ports (UN/LOCODE).
    _L("CNSHA", "Shanghai", "shanghai", "Asia/Shanghai", 31.23, 121.47, "port", 0.35, 3.0),
    _L("CNNGB", "Ningbo", "shanghai", "Asia/Shanghai", 29.87, 121.54, "port", 0.30, 2.5),
    _L("SGSIN", "Singapore", "singapore", "Asia/Singapore", 1.26, 103.84, "port", 0.30, 2.0),
    _L("AEJEA", "Jebel Ali", "dubai", "Asia/Dubai", 25.01, 55.06, "port", 0.22, 1.5),
    _L("NLRTM", "Rotterdam", "rotterdam", "Europe/Amsterdam", 51.92, 4.48, "port", 0.30, 3.0),
    _L("BEANR", "Antwerp", "antwerp", "Europe/Brussels", 51.26, 4.40, "port", 0.28, 2.5),
    _L("DEHAM", "Hamburg", "hamburg", "Europe/Berlin", 53.55, 9.99, "port", 0.32, 2.5),
    _L(
        "USLAX",
        "Los Angeles",
        "losangeles",
        "America/Los_Angeles",
        33.74,
        -118.27,
        "port",
        0.33,
        2.0,
    ),
    _L("USNYC", "New York", "newyork", "America/New_York", 40.68, -74.04, "port", 0.28, 1.5),
    # Inland hubs and rail terminals (UN/LOCODE).
    _L("DEDUI", "Duisburg", "ruhr", "Europe/Berlin", 51.43, 6.76, "inland", 0.28, 3.0),
    _L("DEMUC", "Munich", "munich", "Europe/Berlin", 48.14, 11.58, "inland", 0.22, 1.5),
    _L("FRPAR", "Paris", "paris", "Europe/Paris", 48.86, 2.35, "inland", 0.30, 2.0),
    _L("PLWAW", "Warsaw", "warsaw", "Europe/Warsaw", 52.23, 21.01, "inland", 0.24, 2.5),
    _L("CZPRG", "Prague", "prague", "Europe/Prague", 50.08, 14.44, "inland", 0.20, 1.5),
    _L("ITMIL", "Milan", "milan", "Europe/Rome", 45.46, 9.19, "inland", 0.26, 1.5),
    _L("CNCKG", "Chongqing", "chongqing", "Asia/Shanghai", 29.56, 106.55, "inland", 0.25, 2.0),
    # Cargo airports (IATA).
    _L("PVG", "Shanghai Pudong", "shanghai", "Asia/Shanghai", 31.14, 121.81, "airport", 0.30, 2.0),
    _L("HKG", "Hong Kong", "hongkong", "Asia/Hong_Kong", 22.31, 113.91, "airport", 0.28, 1.5),
    _L(
        "SIN", "Singapore Changi", "singapore", "Asia/Singapore", 1.36, 103.99, "airport", 0.20, 1.0
    ),
    _L("FRA", "Frankfurt", "frankfurt", "Europe/Berlin", 50.03, 8.57, "airport", 0.28, 2.0),
    _L(
        "AMS",
        "Amsterdam Schiphol",
        "rotterdam",
        "Europe/Amsterdam",
        52.31,
        4.76,
        "airport",
        0.26,
        1.5,
    ),
    _L("ORD", "Chicago O'Hare", "chicago", "America/Chicago", 41.98, -87.90, "airport", 0.30, 2.0),
    _L("JFK", "New York JFK", "newyork", "America/New_York", 40.64, -73.78, "airport", 0.30, 1.5),
    _L(
        "LAX",
        "Los Angeles",
        "losangeles",
        "America/Los_Angeles",
        33.94,
        -118.41,
        "airport",
        0.25,
        1.0,
    ),
)

# Sea distances follow the real sailing routes (Suez for Asia-Europe), rail the land bridge.
_SEA_KM: dict[tuple[str, str], float] = {
    ("CNSHA", "NLRTM"): 19800, ("CNSHA", "DEHAM"): 20300, ("CNNGB", "NLRTM"): 19700,
    ("SGSIN", "NLRTM"): 15400, ("CNSHA", "USLAX"): 10500, ("NLRTM", "USNYC"): 6300,
    ("NLRTM", "CNSHA"): 19800, ("DEHAM", "CNSHA"): 20300, ("USLAX", "CNSHA"): 10500,
    ("AEJEA", "NLRTM"): 11700, ("SGSIN", "AEJEA"): 5900, ("BEANR", "USNYC"): 6200,
    ("CNSHA", "SGSIN"): 3900,
}  # fmt: skip
_RAIL_KM: dict[tuple[str, str], float] = {
    ("CNCKG", "DEDUI"): 11200, ("CNCKG", "PLWAW"): 9800, ("DEDUI", "CNCKG"): 11200,
    ("NLRTM", "DEDUI"): 230, ("DEDUI", "NLRTM"): 230, ("DEHAM", "CZPRG"): 650,
    ("CZPRG", "DEHAM"): 650, ("DEDUI", "ITMIL"): 1050, ("ITMIL", "DEDUI"): 1050,
    ("NLRTM", "PLWAW"): 1250, ("DEHAM", "DEMUC"): 800, ("BEANR", "DEDUI"): 260,
}  # fmt: skip
_ROAD_HUBS = ("NLRTM", "BEANR", "DEHAM", "DEDUI", "DEMUC", "FRPAR", "PLWAW", "CZPRG", "ITMIL")
_ROAD_MAX_KM = 1400.0
_ROAD_DETOUR = 1.25
_AIR_PAIRS: tuple[tuple[str, str], ...] = (
    ("PVG", "FRA"), ("FRA", "PVG"), ("PVG", "AMS"), ("HKG", "FRA"), ("HKG", "ORD"),
    ("FRA", "ORD"), ("ORD", "FRA"), ("AMS", "JFK"), ("SIN", "AMS"), ("PVG", "LAX"),
)  # fmt: skip
_AIR_DETOUR = 1.05


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the haversine distance between two points, in kilometres.

    Examples
    --------
    >>> round(great_circle_km(51.92, 4.48, 51.43, 6.76))
    166
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def location(code: str) -> Location:
    """Return the location with this code; raise ``KeyError`` if the world has none."""
    return _BY_CODE[code]


def lanes_for(mode: Mode) -> tuple[Lane, ...]:
    """Return every lane of ``mode`` in a fixed order."""
    return _LANES[mode]


def _build_lanes() -> dict[Mode, tuple[Lane, ...]]:
    def km(a: str, b: str) -> float:
        la, lb = _BY_CODE[a], _BY_CODE[b]
        return great_circle_km(la.lat, la.lon, lb.lat, lb.lon)

    road = [
        Lane("road", a, b, round(km(a, b) * _ROAD_DETOUR))
        for a in _ROAD_HUBS
        for b in _ROAD_HUBS
        if a != b and km(a, b) * _ROAD_DETOUR <= _ROAD_MAX_KM
    ]
    return {
        "sea": tuple(Lane("sea", a, b, d) for (a, b), d in _SEA_KM.items()),
        "road": tuple(road),
        "rail": tuple(Lane("rail", a, b, d) for (a, b), d in _RAIL_KM.items()),
        "air": tuple(Lane("air", a, b, round(km(a, b) * _AIR_DETOUR)) for a, b in _AIR_PAIRS),
    }


_BY_CODE: dict[str, Location] = {loc.code: loc for loc in LOCATIONS}
REGION_INDEX: dict[str, int] = {r.name: i for i, r in enumerate(REGIONS)}
LOCATION_INDEX: dict[str, int] = {loc.code: i for i, loc in enumerate(LOCATIONS)}
_LANES = _build_lanes()
