"""A member's lane totals for the consortium's lane catalog, computed from its own legs.

Each member turns its contract-checked legs into four additive totals per lane bucket (legs,
scheduled transit hours, distance, legs with a distance); only their secure sum over all members
ever leaves a member (see :mod:`consortium.forecasts.catalog`, which reads it). A lane is
counted in one bucket of each of :data:`LANE_TABLES` tables, chosen by keyed BLAKE2b hashes, as
in a count-min sketch.

Examples
--------
>>> import pandas as pd
>>> dep = pd.to_datetime(["2024-05-01T00:00Z"])
>>> legs = pd.DataFrame({"origin": "CNSHA", "destination": "NLRTM", "mode": "sea",
...     "scheduled_departure": dep, "scheduled_arrival": dep + pd.Timedelta(hours=720)})
>>> lane_sums(legs).shape == (len(SUM_ROWS), LANE_BUCKETS)
True
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

LANE_TABLES = 4
"""Independent hash tables each lane is counted in."""

TABLE_BUCKETS = 4096
"""Buckets per table."""

LANE_BUCKETS = LANE_TABLES * TABLE_BUCKETS
"""Width of the secure-summed array: the tables side by side."""

LANE_HASH_KEY = b"logistics-consortium-lanes-v1"
"""Consortium-wide key of :func:`lane_buckets`; every member must use the same one."""

SUM_ROWS: tuple[str, ...] = ("legs", "scheduled_hours", "distance_km", "legs_with_distance")
"""What each row of the :func:`lane_sums` array totals, in order."""

_LANE_COLUMNS = ("origin", "destination", "mode", "scheduled_departure", "scheduled_arrival")


def key_fingerprint(key: bytes) -> str:
    """Return a short public fingerprint of the lane hashing key (saved with a catalog)."""
    return hashlib.sha256(b"lane-catalog-key\x1f" + key).hexdigest()[:16]


def lane_buckets(
    origin: str, destination: str, mode: str, *, key: bytes = LANE_HASH_KEY
) -> tuple[int, ...]:
    """Return the lane's column in each table of the array (one per table, ascending).

    Table ``t`` spans columns ``t * TABLE_BUCKETS`` to ``(t + 1) * TABLE_BUCKETS - 1``; the
    bucket within it is a keyed BLAKE2b hash of the table number and the lane's three codes.

    Examples
    --------
    >>> columns = lane_buckets("CNSHA", "NLRTM", "sea")
    >>> len(columns) == LANE_TABLES, columns == lane_buckets("CNSHA", "NLRTM", "sea")
    (True, True)
    >>> all(t * TABLE_BUCKETS <= c < (t + 1) * TABLE_BUCKETS for t, c in enumerate(columns))
    True
    """
    lane = "\x1f".join((origin, destination, mode)).encode("utf-8")
    columns = []
    for table in range(LANE_TABLES):
        digest = hashlib.blake2b(bytes([table]) + lane, key=key, digest_size=8).digest()
        columns.append(table * TABLE_BUCKETS + int.from_bytes(digest, "little") % TABLE_BUCKETS)
    return tuple(columns)


def lane_sums(legs: pd.DataFrame, *, key: bytes = LANE_HASH_KEY) -> np.ndarray:
    """Return one member's additive lane totals, shape ``(4, LANE_BUCKETS)``; see :data:`SUM_ROWS`.

    Runs at the member; the result is what enters the secure sum. Legs without both scheduled
    times are skipped (they have no scheduled transit time); a negative scheduled transit time
    counts as zero hours.

    Parameters
    ----------
    legs
        Contract-checked legs (``legs.v1``): ``origin``, ``destination``, ``mode``,
        ``scheduled_departure``, ``scheduled_arrival`` and optionally ``distance_km``.
    key
        The consortium's lane hashing key.

    Raises
    ------
    ConfigError
        ``legs`` when a needed column is missing.
    """
    missing = [c for c in _LANE_COLUMNS if c not in legs.columns]
    if missing:
        raise ConfigError("legs", f"missing columns for lane sums: {', '.join(missing)}")
    sums = np.zeros((len(SUM_ROWS), LANE_BUCKETS), dtype=np.float64)
    dep = pd.to_datetime(legs["scheduled_departure"], utc=True)
    arr = pd.to_datetime(legs["scheduled_arrival"], utc=True)
    hours = ((arr - dep).dt.total_seconds() / 3600.0).to_numpy(np.float64, na_value=np.nan)
    keep = np.isfinite(hours)
    if not keep.any():
        return sums
    lanes = legs.loc[keep, ["origin", "destination", "mode"]].astype(str)
    codes, uniques = pd.factorize(
        lanes["origin"] + "\x1f" + lanes["destination"] + "\x1f" + lanes["mode"]
    )
    table = np.array([lane_buckets(*u.split("\x1f"), key=key) for u in uniques], dtype=np.int64)
    distance = (
        pd.to_numeric(legs.loc[keep, "distance_km"], errors="coerce").to_numpy(
            np.float64, na_value=np.nan
        )
        if "distance_km" in legs.columns
        else np.full(len(codes), np.nan)
    )
    has_distance = np.isfinite(distance)
    values = (
        np.ones(len(codes)),
        np.clip(hours[keep], 0.0, None),
        np.where(has_distance, distance, 0.0),
        has_distance.astype(np.float64),
    )
    for t in range(LANE_TABLES):
        columns = table[codes, t]
        for row, weights in enumerate(values):
            sums[row] += np.bincount(columns, weights=weights, minlength=LANE_BUCKETS)
    return sums
