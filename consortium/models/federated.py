"""What a member computes for the consortium's secure sums, and how the coordinator uses the sums.

Nothing here talks to the network: each ``member_*`` function turns a member's own rows into
fixed-shape arrays that only ever travel inside a secure sum (SecAgg+), and each ``*_from_sums``
function turns the consortium-wide sums back into model parts.

* **Scaling statistics** (before training): per numeric feature ``count, Σx, Σx²`` of the
  member's training rows, so every member standardises with the same consortium-wide mean and
  standard deviation (:class:`~consortium.models.encoding.ScalingStats` is additive).
* **Calibration** (after training): for ETA, histograms of the CQR conformity scores of the
  global model on each member's validation rows, pooled and per transport mode, from which the
  coordinator reads the conformal quantile (rounded up to a bin edge, so coverage is kept);
  for both models, each member's Platt coefficients weighted by its number of validation rows
  (their weighted mean is the pooled scaler, an approximation of refitting on pooled rows).

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
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from consortium.data.targets import delay_minutes, stock_targets
from consortium.errors import ConfigError
from consortium.models.calibration import MIN_GROUP_ROWS, ConformalInterval, PlattScaler
from consortium.models.encoding import ScalingStats
from consortium.models.eta import EtaModel, EtaSpec, eta_scaling_stats
from consortium.models.eta_features import NUMERIC_FEATURES, to_delay_space
from consortium.models.stock import HEADS, STOCK_NUMERIC, StockModel, stock_numeric

__all__ = [
    "MODES",
    "SCORE_EDGES",
    "apply_calibration_sums",
    "calibration_shapes",
    "member_calibration",
    "member_statistics",
    "offset_from_histogram",
    "score_histogram",
    "statistics_from_sums",
    "statistics_shapes",
]

Kind = Literal["eta", "stock"]
MODES: tuple[str, ...] = ("sea", "road", "rail", "air")
SCORE_EDGES = np.linspace(-8.0, 8.0, 801)
"""CQR score bins in delay space (0.02 wide); scores outside fall in the end bins."""
_BINS = len(SCORE_EDGES) + 1


def statistics_shapes(kind: Kind) -> dict[str, tuple[int, ...]]:
    """Shapes of the arrays a member contributes to the scaling-statistics sum."""
    if kind == "eta":
        return {"features": (3, len(NUMERIC_FEATURES)), "target": (3, 1)}
    if kind == "stock":
        return {"features": (3, len(STOCK_NUMERIC))}
    raise ConfigError("model", f"must be 'eta' or 'stock', got {kind!r}")


def _as_array(stats: ScalingStats) -> np.ndarray:
    return np.array([stats.count, stats.total, stats.total_sq], dtype=np.float64)


def _from_array(features: tuple[str, ...], values: np.ndarray) -> ScalingStats:
    count, total, total_sq = (tuple(float(v) for v in row) for row in values)
    return ScalingStats(features, count, total, total_sq)


def member_statistics(
    kind: Kind, train: pd.DataFrame, *, spec: EtaSpec | None = None
) -> dict[str, np.ndarray]:
    """Return this member's additive statistics of its training rows, as arrays."""
    if kind == "eta":
        labelled = train[delay_minutes(train).notna()]
        features, target = eta_scaling_stats(labelled, spec=spec or EtaSpec())
        return {"features": _as_array(features), "target": _as_array(target)}
    stats = ScalingStats.from_columns(stock_numeric(train))
    return {"features": _as_array(stats)}


def statistics_from_sums(
    kind: Kind, sums: Mapping[str, np.ndarray]
) -> ScalingStats | tuple[ScalingStats, ScalingStats]:
    """Rebuild the consortium-wide statistics ``train_local(stats=...)`` expects."""
    if kind == "eta":
        return (
            _from_array(tuple(NUMERIC_FEATURES), np.asarray(sums["features"])),
            _from_array(("delay_z",), np.asarray(sums["target"])),
        )
    return _from_array(tuple(STOCK_NUMERIC), np.asarray(sums["features"]))


def score_histogram(scores: np.ndarray) -> np.ndarray:
    """Count finite ``scores`` per bin of :data:`SCORE_EDGES` (plus two end bins)."""
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    return np.bincount(np.searchsorted(SCORE_EDGES, s, side="left"), minlength=_BINS).astype(
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


def calibration_shapes(kind: Kind) -> dict[str, tuple[int, ...]]:
    """Shapes of the arrays a member contributes to the calibration sum."""
    if kind == "eta":
        return {"scores": (1 + len(MODES), _BINS), "platt": (3,)}
    return {"platt": (len(HEADS), 3)}


def _weighted_platt(scaler: PlattScaler, n: int) -> np.ndarray:
    return np.array([scaler.slope * n, scaler.intercept * n, float(n)])


def member_calibration(model: EtaModel | StockModel, valid: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return this member's calibration contribution for the global ``model`` (uncalibrated)."""
    if isinstance(model, EtaModel):
        labelled = valid[delay_minutes(valid).notna()]
        if labelled.empty:
            return {k: np.zeros(v) for k, v in calibration_shapes("eta").items()}
        raw = model.raw(labelled)
        minutes = delay_minutes(labelled).to_numpy()
        z = to_delay_space(minutes, scale_minutes=model.spec.delay_scale_minutes)
        scores = np.maximum(raw["lower"] - z, z - raw["upper"])
        modes = labelled["mode"].astype(str).to_numpy()
        rows = [score_histogram(scores)] + [score_histogram(scores[modes == m]) for m in MODES]
        on_time = (minutes <= model.spec.tolerance_minutes).astype(np.float64)
        platt = PlattScaler.fit(raw["logit"], on_time)
        return {"scores": np.stack(rows), "platt": _weighted_platt(platt, len(labelled))}
    labels = stock_targets(valid, horizon_days=model.spec.horizon_days).to_numpy()
    logits = model.logits(valid)
    rows = []
    for i, _head in enumerate(HEADS):
        known = ~np.isnan(labels[:, i])
        scaler = PlattScaler.fit(logits[known, i], labels[known, i])
        rows.append(_weighted_platt(scaler, int(known.sum())))
    return {"platt": np.stack(rows)}


def _platt_from(row: np.ndarray) -> PlattScaler:
    slope_n, intercept_n, n = (float(v) for v in row)
    return PlattScaler() if n <= 0 else PlattScaler(slope_n / n, intercept_n / n)


def apply_calibration_sums(model: EtaModel | StockModel, sums: Mapping[str, np.ndarray]) -> None:
    """Set the global ``model``'s calibration from the consortium-wide sums."""
    if isinstance(model, EtaModel):
        scores = np.asarray(sums["scores"])
        level = model.spec.interval_level
        groups = {
            mode: offset_from_histogram(scores[i + 1], level=level)
            for i, mode in enumerate(MODES)
            if scores[i + 1].sum() >= MIN_GROUP_ROWS
        }
        model.interval = ConformalInterval(
            level, offset_from_histogram(scores[0], level=level), int(scores[0].sum()), groups
        )
        model.on_time = _platt_from(np.asarray(sums["platt"]))
        return
    platt = np.asarray(sums["platt"])
    model.scalers = {h: _platt_from(platt[i]) for i, h in enumerate(HEADS)}
