"""Score several ETA or stock-risk predictors on the same held-out rows, one table row each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from consortium.data.targets import delay_minutes, on_time, stock_targets
from consortium.errors import ConfigError, ModelError
from consortium.evaluation.metrics import eta_point_metrics, interval_metrics, probability_metrics

if TYPE_CHECKING:
    from consortium.evaluation.predictor import EtaPredictor, StockPredictor

_ETA_COLUMNS = ("delay_minutes", "delay_lower", "delay_upper", "p_on_time")
_STOCK_COLUMNS = ("p_stockout", "p_overflow")
ETA_REPORT_COLUMNS: tuple[str, ...] = (
    "mae",
    "rmse",
    "coverage",
    "mean_width",
    "on_time_auc",
    "on_time_brier",
    "n",
)
STOCK_REPORT_COLUMNS: tuple[str, ...] = (
    "stockout_auc",
    "stockout_brier",
    "overflow_auc",
    "overflow_brier",
    "n",
)


def _checked(name: str, forecast: pd.DataFrame, index: pd.Index, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in forecast.columns]
    if missing:
        raise ModelError(name, f"forecast lacks columns {missing}")
    if not forecast.index.equals(index):
        raise ModelError(name, "forecast index differs from the input rows")


def _table(rows: dict[str, dict[str, float]], columns: Sequence[str]) -> pd.DataFrame:
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns))
    table.index.name = "model"
    return table.astype({"n": "int64"})


def evaluate_eta(
    predictors: Mapping[str, EtaPredictor], legs_test: pd.DataFrame, *, tolerance_minutes: int
) -> pd.DataFrame:
    """Score ETA predictors on the labelled legs of ``legs_test``.

    Each predictor sees the legs with ``actual_arrival`` blanked (NaT), so no label can leak
    into a forecast; legs without ``actual_arrival`` are left out.

    Parameters
    ----------
    predictors
        Predictors by the name their row gets.
    legs_test
        Held-out legs, typically the test part of :func:`~consortium.data.targets.time_split`.
    tolerance_minutes
        On-time tolerance of the ``on_time_*`` scores.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``model``; columns ``mae``, ``rmse`` (minutes), ``coverage``, ``mean_width``
        (of ``[delay_lower, delay_upper]``), ``on_time_auc``, ``on_time_brier`` and ``n``.

    Raises
    ------
    ConfigError
        No predictors or no labelled legs.
    ModelError
        A forecast lacks a column or is not aligned to the legs (``path`` is the model name).

    Examples
    --------
    >>> from consortium.baselines import ScheduleBaseline
    >>> legs = pd.DataFrame({
    ...     "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"] * 2, utc=True),
    ...     "actual_arrival": pd.to_datetime(["2024-01-01 10:10", "2024-01-01 11:00"], utc=True)})
    >>> model = ScheduleBaseline(level=0.8, tolerance_minutes=15).fit(legs)
    >>> evaluate_eta({"schedule": model}, legs, tolerance_minutes=15).loc["schedule", "mae"]
    np.float64(35.0)
    """
    if not predictors:
        raise ConfigError("predictors", "no predictors to evaluate")
    labelled = legs_test.loc[legs_test["actual_arrival"].notna()]
    if labelled.empty:
        raise ConfigError("legs_test", "has no legs with actual_arrival")
    truth = delay_minutes(labelled)
    arrived = on_time(labelled, tolerance_minutes=tolerance_minutes)
    blank = pd.Series(pd.NaT, index=labelled.index, dtype=labelled["actual_arrival"].dtype)
    blind = labelled.assign(actual_arrival=blank)
    rows: dict[str, dict[str, float]] = {}
    for name, predictor in predictors.items():
        forecast = predictor.predict_eta(blind)
        _checked(name, forecast, labelled.index, _ETA_COLUMNS)
        point = eta_point_metrics(truth, forecast["delay_minutes"])
        interval = interval_metrics(truth, forecast["delay_lower"], forecast["delay_upper"])
        probability = probability_metrics(arrived, forecast["p_on_time"])
        rows[name] = {
            "mae": point["mae"],
            "rmse": point["rmse"],
            "coverage": interval["coverage"],
            "mean_width": interval["mean_width"],
            "on_time_auc": probability["auc"],
            "on_time_brier": probability["brier"],
            "n": float(len(labelled)),
        }
    return _table(rows, ETA_REPORT_COLUMNS)


def evaluate_stock(
    predictors: Mapping[str, StockPredictor], stock_test: pd.DataFrame, *, horizon_days: int
) -> pd.DataFrame:
    """Score stock-risk predictors on the rows of ``stock_test`` whose horizon is observed.

    Each predictor forecasts every row of ``stock_test`` (its features may need the earlier
    rows); the scores use the rows whose labels from
    :func:`~consortium.data.targets.stock_targets` are known, i.e. not the last
    ``horizon_days`` days of a series or rows before a gap. The frame holds the later rows'
    stock levels, so a predictor must use past rows only, as
    :func:`~consortium.data.targets.stock_history_features` does.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``model``; columns ``stockout_auc``, ``stockout_brier``, ``overflow_auc``,
        ``overflow_brier`` and ``n`` (rows scored).

    Raises
    ------
    ConfigError
        No predictors, a non-positive horizon, or no row with a known label.
    ModelError
        A forecast lacks a column or is not aligned to the rows (``path`` is the model name).

    Examples
    --------
    >>> from consortium.baselines import StockRateBaseline
    >>> stock = pd.DataFrame({"warehouse_id": "W1",
    ...     "date": pd.date_range("2024-01-01", periods=4), "on_hand_units": [5.0, 0.0, 3.0, 0.0],
    ...     "capacity_units": 10.0})
    >>> model = StockRateBaseline(horizon_days=1).fit(stock)
    >>> evaluate_stock({"rate": model}, stock, horizon_days=1).loc["rate", "n"]
    np.int64(3)
    """
    if not predictors:
        raise ConfigError("predictors", "no predictors to evaluate")
    targets = stock_targets(stock_test, horizon_days=horizon_days)
    known = targets.notna().all(axis=1)
    if not known.any():
        raise ConfigError("stock_test", f"no row has {horizon_days} observed days ahead")
    rows: dict[str, dict[str, float]] = {}
    for name, predictor in predictors.items():
        forecast = predictor.predict_stock(stock_test)
        _checked(name, forecast, stock_test.index, _STOCK_COLUMNS)
        row: dict[str, float] = {}
        for event in ("stockout", "overflow"):
            observed = targets.loc[known, event]
            scores = probability_metrics(observed, forecast.loc[known, f"p_{event}"])
            row[f"{event}_auc"], row[f"{event}_brier"] = scores["auc"], scores["brier"]
        rows[name] = {**row, "n": float(known.sum())}
    return _table(rows, STOCK_REPORT_COLUMNS)
