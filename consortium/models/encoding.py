"""Shared encoding without shared data: keyed feature hashing and additive scaling statistics.

Categorical values (carriers, places, lanes, crosses) become embedding rows through a keyed
BLAKE2b hash, so members need no common vocabulary of private values: the same value maps to the
same bucket at every member that uses the consortium's ``hash_key``. Numeric features are
standardised with :class:`ScalingStats`, which holds only additive sufficient statistics (count,
sum and sum of squares of each clipped feature), so the federation can secure-sum the members'
statistics and every member then scales with the consortium-wide moments.

Examples
--------
>>> a = ScalingStats.from_columns({"x": np.array([1.0, 2.0])})
>>> b = ScalingStats.from_columns({"x": np.array([3.0, np.nan])})
>>> merged = a + b
>>> merged.count, round(float(merged.mean()[0]), 3)
((3.0,), 2.0)
>>> int(hash_buckets(pd.Series(["DE-HAM"]), key=b"k", field="origin", buckets=64)[0]) < 64
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

DEFAULT_HASH_KEY = "logistics-consortium-v1"
"""Consortium-wide hashing key; the board can rotate it (every member must use the same one)."""

STAT_CLIP = 1e4
"""Feature values are clipped to ±this before they enter the sums (bounds one row's influence)."""

NUMERIC_CLIP = 8.0
"""Standardised values are clipped to ±this many standard deviations."""


@dataclass(frozen=True)
class Coded:
    """A categorical column already coded: row ``i`` holds ``values[codes[i]]``.

    ``values`` are distinct strings (a missing value is whatever string the caller chose for
    it). Hashing a coded column costs one hash per distinct value and no per-row conversion.
    """

    codes: np.ndarray
    values: np.ndarray


def hash_buckets(values: pd.Series | Coded, *, key: bytes, field: str, buckets: int) -> np.ndarray:
    """Map each value to a bucket in ``[0, buckets)`` with keyed BLAKE2b (missing → its own token).

    Only the distinct values are hashed, so a million rows with a few thousand lanes cost a few
    thousand hashes. The field name is part of the hashed message, so equal strings in different
    fields land in unrelated buckets. A :class:`Coded` column is hashed as coded.
    """
    if buckets <= 0:
        raise ConfigError("buckets", f"must be > 0, got {buckets}")
    if isinstance(values, Coded):
        codes, uniques = values.codes, values.values
    else:
        codes, uniques = pd.factorize(values.astype("object").where(values.notna(), "\x00<NA>"))
    prefix = field.encode("utf-8") + b"\x1f"
    table = np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(prefix + str(u).encode("utf-8"), key=key, digest_size=8).digest(),
                "little",
            )
            % buckets
            for u in uniques
        ),
        dtype=np.int64,
        count=len(uniques),
    )
    return table[codes]


@dataclass(frozen=True)
class ScalingStats:
    """Additive sufficient statistics of numeric features: merge by ``+`` (or secure sum).

    ``count[i]`` counts the non-missing values of feature ``i``; ``total`` and ``total_sq`` sum
    the values clipped to ±:data:`STAT_CLIP` and their squares.
    """

    features: tuple[str, ...]
    count: tuple[float, ...]
    total: tuple[float, ...]
    total_sq: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.features)
        if not len(self.count) == len(self.total) == len(self.total_sq) == n:
            raise ConfigError("scaling_stats", "count, total and total_sq must match features")

    @classmethod
    def from_columns(cls, columns: Mapping[str, np.ndarray]) -> ScalingStats:
        """Compute the member's own statistics from transformed feature columns."""
        names, count, total, total_sq = [], [], [], []
        for name, values in columns.items():
            v = np.asarray(values, dtype=np.float64)
            ok = ~np.isnan(v)
            c = np.clip(v[ok], -STAT_CLIP, STAT_CLIP)
            names.append(name)
            count.append(float(ok.sum()))
            total.append(float(c.sum()))
            total_sq.append(float((c * c).sum()))
        return cls(tuple(names), tuple(count), tuple(total), tuple(total_sq))

    def merge(self, other: ScalingStats) -> ScalingStats:
        """Return the statistics of both data sets together (what a secure sum produces)."""
        if self.features != other.features:
            raise ConfigError("scaling_stats", "cannot merge statistics of different features")
        return ScalingStats(
            self.features,
            tuple(a + b for a, b in zip(self.count, other.count, strict=True)),
            tuple(a + b for a, b in zip(self.total, other.total, strict=True)),
            tuple(a + b for a, b in zip(self.total_sq, other.total_sq, strict=True)),
        )

    __add__ = merge

    def mean(self) -> np.ndarray:
        """Per-feature mean (0 where a feature was never observed)."""
        c = np.asarray(self.count)
        return np.divide(np.asarray(self.total), c, out=np.zeros_like(c), where=c > 0)

    def std(self) -> np.ndarray:
        """Per-feature standard deviation (1 where undefined or zero)."""
        c = np.asarray(self.count)
        mean_sq = np.divide(np.asarray(self.total_sq), c, out=np.zeros_like(c), where=c > 0)
        var = mean_sq - self.mean() ** 2
        # Below round-off of E[x²] − E[x]² the feature is constant: scale by 1, not by noise.
        constant = var <= 1e-9 * np.maximum(mean_sq, 1.0)
        return np.where(constant, 1.0, np.sqrt(np.maximum(var, 0.0)))

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "features": list(self.features),
            "count": list(self.count),
            "total": list(self.total),
            "total_sq": list(self.total_sq),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ScalingStats:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ValueError
            Naming the missing key.
        """
        for key in ("features", "count", "total", "total_sq"):
            if key not in data:
                raise ValueError(f"scaling stats lack the key `{key}`")
        return cls(
            tuple(str(f) for f in data["features"]),  # type: ignore[attr-defined]
            tuple(float(v) for v in data["count"]),  # type: ignore[attr-defined]
            tuple(float(v) for v in data["total"]),  # type: ignore[attr-defined]
            tuple(float(v) for v in data["total_sq"]),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class EncoderConfig:
    """How categorical fields are hashed: buckets per field and the consortium's key."""

    buckets: int = 1024
    hash_key: str = DEFAULT_HASH_KEY

    def __post_init__(self) -> None:
        if self.buckets <= 0:
            raise ConfigError("buckets", f"must be > 0, got {self.buckets}")


def encode_categorical(
    fields: Mapping[str, pd.Series | Coded], *, config: EncoderConfig
) -> np.ndarray:
    """Return an ``(n, F)`` int64 matrix of embedding rows; field ``i`` owns rows ``[iB, iB+B)``."""
    key = config.hash_key.encode("utf-8")
    columns = [
        hash_buckets(values, key=key, field=name, buckets=config.buckets) + i * config.buckets
        for i, (name, values) in enumerate(fields.items())
    ]
    return np.stack(columns, axis=1).astype(np.int64)


def standardise(columns: Mapping[str, np.ndarray], stats: ScalingStats) -> np.ndarray:
    """Return an ``(n, 2N)`` float32 matrix: standardised values (missing → 0), missing flags."""
    if tuple(columns) != stats.features:
        raise ConfigError("scaling_stats", "features differ from the encoder's numeric features")
    values = np.stack([np.asarray(v, dtype=np.float64) for v in columns.values()], axis=1)
    missing = np.isnan(values)
    z = (values - stats.mean()) / stats.std()
    z = np.clip(np.where(missing, 0.0, z), -NUMERIC_CLIP, NUMERIC_CLIP)
    return np.concatenate([z, missing.astype(np.float64)], axis=1).astype(np.float32)
