"""Fixed-shape arrays for the consortium's secure sums, shared by both model families.

Nothing here talks to the network: a family turns a member's own rows into such arrays, which
only ever travel inside a secure sum (SecAgg+), and turns the consortium-wide sums back into
model parts (:mod:`consortium.models.eta_family`, :mod:`consortium.models.stock_family`).

* **Scaling statistics** (before training): per numeric feature ``count, Σx, Σx²``, so every
  member standardises with the same consortium-wide mean and standard deviation
  (:class:`~consortium.models.encoding.ScalingStats` is additive).
* **Calibration** (after training): histograms of conformity scores (read back as a conformal
  quantile, rounded up to a bin edge so coverage is kept) and Platt coefficients weighted by each
  member's number of validation rows (their weighted mean is the pooled scaler).

Examples
--------
>>> import numpy as np
>>> scores = np.array([-0.31, 0.11, 0.19, 0.51])
>>> h = score_histogram(scores)
>>> round(offset_from_histogram(h, level=0.5), 2)
0.2
"""

from __future__ import annotations

import math

import numpy as np

from consortium.errors import ConfigError
from consortium.models.calibration import PlattScaler
from consortium.models.encoding import ScalingStats

__all__ = [
    "MODES",
    "SCORE_BINS",
    "SCORE_EDGES",
    "offset_from_histogram",
    "platt_from_row",
    "score_histogram",
    "stats_as_array",
    "stats_from_array",
    "weighted_platt",
]

MODES: tuple[str, ...] = ("sea", "road", "rail", "air")
SCORE_EDGES = np.linspace(-8.0, 8.0, 801)
"""CQR score bins in delay space (0.02 wide); scores outside fall in the end bins."""
SCORE_BINS = len(SCORE_EDGES) + 1


def stats_as_array(stats: ScalingStats) -> np.ndarray:
    """Return ``stats`` as a ``(3, features)`` array: count, sum, sum of squares."""
    return np.array([stats.count, stats.total, stats.total_sq], dtype=np.float64)


def stats_from_array(features: tuple[str, ...], values: np.ndarray) -> ScalingStats:
    """Invert :func:`stats_as_array`."""
    count, total, total_sq = (tuple(float(v) for v in row) for row in values)
    return ScalingStats(features, count, total, total_sq)


def score_histogram(scores: np.ndarray) -> np.ndarray:
    """Count finite ``scores`` per bin of :data:`SCORE_EDGES` (plus two end bins)."""
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    return np.bincount(np.searchsorted(SCORE_EDGES, s, side="left"), minlength=SCORE_BINS).astype(
        np.float64
    )


def offset_from_histogram(histogram: np.ndarray, *, level: float) -> float:
    """Return the conformal offset read off a score histogram.

    It is the upper edge of the bin holding the ``ceil((n+1) level)``-th score, never below the
    exact empirical quantile, so the coverage guarantee is kept.
    """
    h = np.asarray(histogram, dtype=np.float64)
    n = float(h.sum())
    if n <= 0:
        raise ConfigError("calibration", "no calibration scores")
    rank = min(n, math.ceil((n + 1) * level))
    idx = int(np.searchsorted(np.cumsum(h), rank - 1e-9, side="left"))
    upper_edges = np.append(SCORE_EDGES, SCORE_EDGES[-1] + 8.0)
    return float(upper_edges[min(idx, len(upper_edges) - 1)])


def weighted_platt(scaler: PlattScaler, n: int) -> np.ndarray:
    """Return ``(slope n, intercept n, n)``: a Platt scaler weighted by its rows."""
    return np.array([scaler.slope * n, scaler.intercept * n, float(n)])


def platt_from_row(row: np.ndarray) -> PlattScaler:
    """Return the pooled scaler of a summed :func:`weighted_platt` row (identity when empty)."""
    slope_n, intercept_n, n = (float(v) for v in row)
    return PlattScaler() if n <= 0 else PlattScaler(slope_n / n, intercept_n / n)
