"""Pure forecast metrics: ETA point error, interval coverage, probability scores, error by horizon.

Every function takes array-likes of equal length and returns plain floats (NaN when a metric is
undefined, e.g. on no rows); none of them reads a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from consortium.errors import ConfigError
from consortium.evaluation._arrays import as_float, as_outcome, as_probability, same_length

#: Default hour edges of :func:`mae_by_hours_out`: 0-6 h, 6-24 h, 1-3 days, 3-7 days, longer.
HOURS_OUT_BUCKETS: tuple[float, ...] = (0.0, 6.0, 24.0, 72.0, 168.0, float("inf"))


def eta_point_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Return the point-forecast errors ``mae``, ``rmse`` and ``median_ae`` (minutes).

    Examples
    --------
    >>> eta_point_metrics([0.0, 10.0], [2.0, 4.0])
    {'mae': 4.0, 'rmse': 4.47213595499958, 'median_ae': 4.0}
    """
    truth, pred = as_float("y_true", y_true), as_float("y_pred", y_pred)
    same_length(y_true=truth, y_pred=pred)
    if len(truth) == 0:
        return {"mae": np.nan, "rmse": np.nan, "median_ae": np.nan}
    error = pred - truth
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "median_ae": float(np.median(np.abs(error))),
    }


def interval_metrics(
    y_true: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike
) -> dict[str, float]:
    """Return ``coverage`` (share of ``lower <= y_true <= upper``) and ``mean_width``.

    Examples
    --------
    >>> interval_metrics([1.0, 5.0, 9.0], [0.0, 0.0, 0.0], [2.0, 4.0, 10.0])
    {'coverage': 0.6666666666666666, 'mean_width': 5.333333333333333}
    """
    truth = as_float("y_true", y_true)
    low, high = as_float("lower", lower), as_float("upper", upper)
    same_length(y_true=truth, lower=low, upper=high)
    if len(truth) == 0:
        return {"coverage": np.nan, "mean_width": np.nan}
    inside = (low <= truth) & (truth <= high)
    return {"coverage": float(np.mean(inside)), "mean_width": float(np.mean(high - low))}


def probability_metrics(y_true: npt.ArrayLike, p: npt.ArrayLike) -> dict[str, float]:
    """Return ``auc`` (NaN when only one class occurs), ``brier`` and ``log_loss`` of ``p``.

    Parameters
    ----------
    y_true
        Observed outcomes, booleans or 0/1.
    p
        Predicted probabilities of the outcome being true, in [0, 1].

    Raises
    ------
    ConfigError
        Lengths differ, an outcome is not binary or a probability is NaN or outside [0, 1].

    Examples
    --------
    >>> probability_metrics([True, False], [0.75, 0.5])["brier"]
    0.15625
    """
    truth, prob = as_outcome("y_true", y_true), as_probability("p", p)
    same_length(y_true=truth, p=prob)
    if len(truth) == 0:
        return {"auc": np.nan, "brier": np.nan, "log_loss": np.nan}
    from sklearn.metrics import log_loss, roc_auc_score  # noqa: PLC0415  (slow: off the ClientApp import path)

    auc = float(roc_auc_score(truth, prob)) if len(np.unique(truth)) == 2 else np.nan
    return {
        "auc": auc,
        "brier": float(np.mean((prob - truth) ** 2)),
        "log_loss": float(log_loss(truth, prob, labels=[0.0, 1.0])),
    }


def mae_by_hours_out(
    legs: pd.DataFrame,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    buckets: Sequence[float] = HOURS_OUT_BUCKETS,
) -> pd.DataFrame:
    """Return the ETA mean absolute error per bucket of hours out.

    The field measures ETA accuracy against the time still to go until arrival when the
    forecast is made. Our forecasts are made at departure, so hours out is the leg's actual
    time under way: ``actual_arrival - actual_departure`` in hours. Legs without
    ``actual_departure`` or ``actual_arrival``, or outside every bucket, are left out.

    Parameters
    ----------
    legs
        The legs the forecasts are for; ``y_true`` and ``y_pred`` follow its row order.
    y_true, y_pred
        Observed and forecast delay in minutes, one per leg.
    buckets
        Increasing hour edges; bucket i covers ``[buckets[i], buckets[i + 1])``.

    Returns
    -------
    pandas.DataFrame
        One row per bucket, empty ones included: ``bucket`` (label), ``hours_from``,
        ``hours_to``, ``n`` and ``mae`` (NaN when ``n`` is 0).

    Raises
    ------
    ConfigError
        Lengths differ, or ``buckets`` has fewer than two edges or is not increasing.

    Examples
    --------
    >>> legs = pd.DataFrame({
    ...     "actual_departure": pd.to_datetime(["2024-01-01 00:00"] * 2, utc=True),
    ...     "actual_arrival": pd.to_datetime(["2024-01-01 03:00", "2024-01-02 12:00"], utc=True)})
    >>> mae_by_hours_out(legs, [0.0, 0.0], [5.0, -20.0], buckets=(0, 6, 48))["mae"].tolist()
    [5.0, 20.0]
    """
    edges = np.asarray(buckets, dtype=np.float64)
    if len(edges) < 2 or not (np.diff(edges) > 0).all():
        raise ConfigError("buckets", "needs at least two strictly increasing hour edges")
    truth, pred = as_float("y_true", y_true), as_float("y_pred", y_pred)
    same_length(legs=np.empty(len(legs)), y_true=truth, y_pred=pred)
    under_way = legs["actual_arrival"] - legs["actual_departure"]
    hours = (under_way.dt.total_seconds() / 3600.0).to_numpy(np.float64, na_value=np.nan)
    bucket = pd.cut(hours, bins=edges, right=False, labels=False)
    rows = []
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        members = bucket == i
        n = int(members.sum())
        mae = float(np.mean(np.abs(pred[members] - truth[members]))) if n else np.nan
        label = f"[{low:g}, {high:g}) h"
        rows.append({"bucket": label, "hours_from": low, "hours_to": high, "n": n, "mae": mae})
    return pd.DataFrame(rows)
