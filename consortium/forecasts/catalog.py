"""The lane catalog: what the coordinator knows about lanes, learnt through a secure sum only.

The coordinator never sees a member's legs. Each member computes :func:`lane_sums` over its own
legs: four additive totals per lane bucket (legs, scheduled transit hours, distance, legs with a
distance). The federation secure-sums the members' arrays (SecAgg+), so only consortium-wide
totals exist in the clear, and saves them next to the pooled ETA model with
:meth:`LaneCatalog.save`. A paid lane query then asks :meth:`LaneCatalog.lookup` how many legs
the pool holds for the lane and its mean scheduled transit time and distance, which build the
representative legs the model scores.

A lane ``origin > destination by mode`` is counted in one bucket of each of
:data:`LANE_TABLES` tables of :data:`TABLE_BUCKETS` buckets, chosen by keyed BLAKE2b hashes
(:func:`lane_buckets`), as in a count-min sketch: two lanes may share a bucket of one table
(a few hundred lanes in 4096 buckets collide often), but a collision only ever adds legs, so
the lookup reads the table whose bucket holds the fewest legs. A lane's figures are wrong only
if it collides in every table (for 100 lanes, about one chance in 40,000), and even then they
mix several lanes, never expose one member's.

Examples
--------
>>> import pandas as pd
>>> dep = pd.to_datetime(["2024-05-01T00:00Z", "2024-05-02T00:00Z"])
>>> legs = pd.DataFrame({"origin": "CNSHA", "destination": "NLRTM", "mode": "sea",
...     "scheduled_departure": dep, "scheduled_arrival": dep + pd.Timedelta(hours=720),
...     "distance_km": [19500.0, None]})
>>> catalog = LaneCatalog(lane_sums(legs) + lane_sums(legs))   # the secure sum of two members
>>> catalog.lookup("CNSHA", "NLRTM", "sea")
LaneStats(legs=4, mean_scheduled_hours=720.0, mean_distance_km=19500.0)
>>> catalog.lookup("CNSHA", "NLRTM", "air") is None
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from consortium.data.lanes import (
    LANE_BUCKETS,
    LANE_HASH_KEY,
    LANE_TABLES,
    SUM_ROWS,
    TABLE_BUCKETS,
    key_fingerprint,
    lane_buckets,
    lane_sums,
)
from consortium.errors import ConfigError, ModelError

__all__ = [
    "CATALOG_FILE",
    "LANE_BUCKETS",
    "LANE_HASH_KEY",
    "LANE_TABLES",
    "SUM_ROWS",
    "TABLE_BUCKETS",
    "LaneCatalog",
    "LaneStats",
    "lane_buckets",
    "lane_sums",
]

logger = logging.getLogger(__name__)

CATALOG_FILE = "lane_catalog.npz"


@dataclass(frozen=True)
class LaneStats:
    """What the pool holds for one lane: legs, mean scheduled transit hours, mean distance."""

    legs: int
    mean_scheduled_hours: float
    mean_distance_km: float | None


class LaneCatalog:
    """The consortium-wide lane totals (a secure sum of every member's :func:`lane_sums`).

    Parameters
    ----------
    sums
        Array of shape ``(4, LANE_BUCKETS)``, finite and non-negative. Counts may carry the
        small rounding error of SecAgg+ quantisation; they are rounded to whole legs.
    key
        The lane hashing key the members used.

    Raises
    ------
    ConfigError
        ``lane_sums`` when the array has the wrong shape or holds negative or non-finite values.
    """

    def __init__(self, sums: np.ndarray, *, key: bytes = LANE_HASH_KEY) -> None:
        array = np.asarray(sums, dtype=np.float64)
        if array.shape != (len(SUM_ROWS), LANE_BUCKETS):
            raise ConfigError(
                "lane_sums", f"shape must be {(len(SUM_ROWS), LANE_BUCKETS)}, got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise ConfigError("lane_sums", "holds non-finite values")
        if (array < -0.5).any():
            raise ConfigError("lane_sums", "holds negative totals")
        self.sums = np.clip(array, 0.0, None)
        self.sums.setflags(write=False)
        self.key = key

    @property
    def total_legs(self) -> int:
        """Legs in the pool over every lane."""
        return int(round(float(self.sums[0, :TABLE_BUCKETS].sum())))

    def lookup(self, origin: str, destination: str, mode: str) -> LaneStats | None:
        """Return the pool's figures of a lane, or ``None`` when the pool holds no leg of it."""
        columns = lane_buckets(origin, destination, mode, key=self.key)
        bucket = min(columns, key=lambda c: (float(self.sums[0, c]), c))  # least collided
        legs = int(round(float(self.sums[0, bucket])))
        if legs <= 0:
            return None
        with_distance = float(self.sums[3, bucket])
        return LaneStats(
            legs=legs,
            mean_scheduled_hours=float(self.sums[1, bucket]) / legs,
            mean_distance_km=(
                float(self.sums[2, bucket]) / with_distance if with_distance >= 0.5 else None
            ),
        )

    def save(self, model_dir: Path) -> Path:
        """Write ``lane_catalog.npz`` into ``model_dir`` (created if needed); return its path."""
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        path = model_dir / CATALOG_FILE
        with path.open("wb") as fh:
            np.savez(
                fh,
                sums=self.sums,
                rows=np.array(SUM_ROWS),
                key_fingerprint=np.array(key_fingerprint(self.key)),
            )
        logger.info("lane catalog (%d legs) saved to %s", self.total_legs, path)
        return path

    @classmethod
    def load(cls, model_dir: Path, *, key: bytes = LANE_HASH_KEY) -> LaneCatalog:
        """Read the catalog saved in ``model_dir``.

        Raises
        ------
        ModelError
            The file is missing or malformed, or was built with another hashing key.
        """
        path = Path(model_dir) / CATALOG_FILE
        if not path.exists():
            raise ModelError(str(path), "missing: the federation saves the lane catalog here")
        try:
            with np.load(path, allow_pickle=False) as data:
                sums = data["sums"]
                rows = tuple(str(r) for r in data["rows"])
                fingerprint = str(data["key_fingerprint"])
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(str(path), f"not a lane catalog: {exc}") from exc
        if rows != SUM_ROWS:
            raise ModelError(str(path), f"rows are {rows}, expected {SUM_ROWS}")
        if fingerprint != key_fingerprint(key):
            raise ModelError(str(path), "built with another lane hashing key")
        try:
            return cls(sums, key=key)
        except ConfigError as exc:
            raise ModelError(str(path), exc.reason) from exc
