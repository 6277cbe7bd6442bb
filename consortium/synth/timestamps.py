"""Vectorised conversion between local wall times, UTC instants and ISO 8601 text."""

from __future__ import annotations

import numpy as np
import pandas as pd

UTC = "UTC"


def localize(wall: np.ndarray, tz: np.ndarray) -> np.ndarray:
    """Turn local wall times into UTC instants.

    Parameters
    ----------
    wall
        Naive ``datetime64`` wall-clock times.
    tz
        IANA zone name of each time (same length). Non-existent times (spring forward) move
        forward; ambiguous ones (fall back) take the summer-time reading.

    Returns
    -------
    numpy.ndarray
        Naive ``datetime64[s]`` instants in UTC.
    """
    out = np.empty(len(wall), dtype="datetime64[s]")
    for zone in np.unique(tz):
        mask = tz == zone
        local = pd.DatetimeIndex(wall[mask]).tz_localize(
            str(zone), ambiguous=np.ones(int(mask.sum()), dtype=bool), nonexistent="shift_forward"
        )
        out[mask] = local.tz_convert(UTC).tz_localize(None).to_numpy().astype("datetime64[s]")
    return out


def format_iso(instants: np.ndarray, tz: np.ndarray | None) -> np.ndarray:
    """Write UTC instants as ISO 8601 strings with the offset of each row's zone.

    ``NaT`` becomes the empty string (a missing value in the data contract).

    Parameters
    ----------
    instants
        Naive ``datetime64`` instants in UTC.
    tz
        IANA zone of each row, or ``None`` to write every row in UTC (``+00:00``).

    Returns
    -------
    numpy.ndarray
        Strings such as ``2024-03-01T09:00:00+01:00``.

    Examples
    --------
    >>> t = np.array(["2024-07-01T12:00"], dtype="datetime64[s]")
    >>> format_iso(t, np.array(["Europe/Berlin"]))[0]
    '2024-07-01T14:00:00+02:00'
    """
    instants = instants.astype("datetime64[s]")
    zones = np.full(len(instants), UTC, dtype=object) if tz is None else tz
    local = instants.copy()
    for zone in np.unique(zones):
        if zone == UTC:
            continue
        mask = zones == zone
        index = pd.DatetimeIndex(instants[mask]).tz_localize(UTC).tz_convert(str(zone))
        local[mask] = index.tz_localize(None).to_numpy().astype("datetime64[s]")
    missing = np.isnat(instants)
    delta = (local - instants).astype("timedelta64[m]")
    offset_min = np.where(missing, 0, delta.astype(np.int64))
    codes, inverse = np.unique(offset_min, return_inverse=True)
    labels = np.array([_offset_label(int(m)) for m in codes], dtype="U6")[inverse]
    text = np.char.add(np.datetime_as_string(local, unit="s"), labels)
    return np.where(missing, "", text).astype(object)


def _offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"
