"""Score a trained model against the local baselines on the later period of a labelled file.

The file is cut in time with :func:`~consortium.data.targets.time_split`; the baselines are
fitted on everything before the test period (train + validation parts), and every predictor is
scored on the test rows by :mod:`consortium.evaluation`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from consortium.baselines import (
    LightGBMBaseline,
    LightGBMStockBaseline,
    OnTimeRateBaseline,
    RouteMedianBaseline,
    ScheduleBaseline,
    StockRateBaseline,
)
from consortium.data.targets import delay_minutes, time_split
from consortium.errors import ConfigError
from consortium.evaluation import evaluate_eta, evaluate_stock, mae_by_hours_out
from consortium.evaluation.predictor import EtaPredictor, StockPredictor
from consortium.models.eta import EtaModel
from consortium.models.family import ModelSettings, StoredModel
from consortium.models.stock import StockModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assessment:
    """Scores of the model and the baselines on the test period."""

    table: pd.DataFrame
    by_hours_out: pd.DataFrame | None
    test_rows: int


def assess_eta(
    model: EtaPredictor,
    legs: pd.DataFrame,
    *,
    tolerance_minutes: int,
    level: float,
    seed: int = 0,
    name: str | None = None,
) -> Assessment:
    """Score ``model`` and the four ETA baselines on the last quarter of ``legs``.

    The model's row is named ``name`` (default: the model's own name).
    """
    split = time_split(legs, time_column="scheduled_departure")
    past = pd.concat([split.train, split.valid])
    label = name or model.name
    predictors: dict[str, Any] = {label: model}
    for baseline in (
        ScheduleBaseline(level=level, tolerance_minutes=tolerance_minutes),
        RouteMedianBaseline(level=level, tolerance_minutes=tolerance_minutes),
        OnTimeRateBaseline(level=level, tolerance_minutes=tolerance_minutes),
        LightGBMBaseline(level=level, tolerance_minutes=tolerance_minutes, seed=seed),
    ):
        predictors[baseline.name] = baseline.fit(past)
    table = evaluate_eta(predictors, split.test, tolerance_minutes=tolerance_minutes)
    test = split.test[split.test["actual_arrival"].notna()]
    hours = None
    if "actual_departure" in test.columns and test["actual_departure"].notna().any():
        truth = delay_minutes(test).to_numpy()
        frames = []
        for row in (label, "lightgbm"):
            blanked = test.assign(actual_arrival=pd.NaT)
            pred = predictors[row].predict_eta(blanked)["delay_minutes"].to_numpy()
            frames.append(mae_by_hours_out(test, truth, pred).assign(model=row))
        hours = pd.concat(frames, ignore_index=True)
    return Assessment(table=table, by_hours_out=hours, test_rows=len(test))


def assess_stock(
    model: StockPredictor,
    stock: pd.DataFrame,
    *,
    horizon: int,
    seed: int = 0,
    name: str | None = None,
) -> Assessment:
    """Score ``model`` and the two stock baselines on the last quarter of ``stock``.

    The model's row is named ``name`` (default: the model's own name).
    """
    split = time_split(stock, time_column="date")
    past = pd.concat([split.train, split.valid])
    predictors: dict[str, Any] = {name or model.name: model}
    for baseline in (
        StockRateBaseline(horizon_days=horizon),
        LightGBMStockBaseline(horizon_days=horizon, seed=seed),
    ):
        predictors[baseline.name] = baseline.fit(past)
    table = evaluate_stock(predictors, split.test, horizon_days=horizon)
    return Assessment(table=table, by_hours_out=None, test_rows=len(split.test))


def assess(
    model: StoredModel,
    rows: pd.DataFrame,
    *,
    tolerance_minutes: int,
    settings: ModelSettings | None = None,
    seed: int = 0,
    name: str | None = None,
) -> tuple[Assessment, str]:
    """Assess ``model`` against its family's baselines; return the result and a table title.

    ``tolerance_minutes`` is the on-time tolerance of an ETA model (ignored for stock risk);
    ``settings`` gives the interval level and the stock horizon (default: the model's own
    when it is a network, else the defaults); ``name`` labels the model's row.
    """
    if model.kind not in _ASSESSORS:
        raise ConfigError("model", f"no assessment for model kind {model.kind!r}")
    assessor = _ASSESSORS[model.kind]
    return assessor(model, rows, tolerance_minutes, settings or ModelSettings(), seed, name)


def _assess_eta(
    model: StoredModel,
    rows: pd.DataFrame,
    tolerance: int,
    settings: ModelSettings,
    seed: int,
    name: str | None,
) -> tuple[Assessment, str]:
    if not isinstance(model, EtaPredictor):
        raise ConfigError("model", "expected an ETA model")
    level = model.spec.interval_level if isinstance(model, EtaModel) else settings.interval_level
    result = assess_eta(model, rows, tolerance_minutes=tolerance, level=level, seed=seed, name=name)
    title = (
        f"ETA on {result.test_rows} test legs (interval level "
        f"{level:.0%}, on-time within {tolerance} min)"
    )
    return result, title


def _assess_stock(
    model: StoredModel,
    rows: pd.DataFrame,
    tolerance: int,
    settings: ModelSettings,
    seed: int,
    name: str | None,
) -> tuple[Assessment, str]:
    del tolerance
    if not isinstance(model, StockPredictor):
        raise ConfigError("model", "expected a stock-risk model")
    horizon = model.spec.horizon_days if isinstance(model, StockModel) else settings.horizon_days
    result = assess_stock(model, rows, horizon=horizon, seed=seed, name=name)
    return result, f"Stock risk on the test period ({horizon}-day horizon)"


_ASSESSORS = {"eta": _assess_eta, "stock": _assess_stock}
