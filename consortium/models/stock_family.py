"""The stock-risk family: probability that a warehouse runs out or overflows within a horizon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from consortium.data.targets import stock_targets
from consortium.errors import ConfigError
from consortium.evaluation import evaluate_stock
from consortium.evaluation.predictor import StockPredictor
from consortium.models.boosting import BoostingParams
from consortium.models.calibration import PlattScaler
from consortium.models.encoding import EncoderConfig, ScalingStats
from consortium.models.family import (
    AnyModel,
    FitRequest,
    ModelFamily,
    ModelSettings,
    StoredModel,
    seed_fresh_network,
)
from consortium.models.secure_sums import (
    platt_from_row,
    stats_as_array,
    stats_from_array,
    weighted_platt,
)
from consortium.models.stock import (
    HEADS,
    STOCK_CATEGORICAL,
    STOCK_NUMERIC,
    StockModel,
    StockSpec,
    build_stock_network,
    fit_stock,
    stock_numeric,
)
from consortium.models.stock_boosted import BoostedStock
from consortium.models.training import FitResult, TrainConfig

__all__ = ["STOCK"]


def _stock(model: AnyModel) -> StockModel:
    if not isinstance(model, StockModel):
        raise ConfigError("model", f"expected a stock-risk model, got {type(model).__name__}")
    return model


def _default_encoder() -> EncoderConfig:
    return EncoderConfig(buckets=256)


def _build(stats: Any, settings: ModelSettings) -> StockModel:
    if not isinstance(stats, ScalingStats):
        raise ConfigError("stats", "the stock model needs one ScalingStats")
    spec = StockSpec(horizon_days=settings.horizon_days)
    return StockModel(spec=spec, stats=stats, network=build_stock_network(spec))


def _fit(train: pd.DataFrame, valid: pd.DataFrame, req: FitRequest) -> tuple[StockModel, FitResult]:
    seed_fresh_network(req)
    spec = StockSpec(
        encoder=req.encoder or _default_encoder(), horizon_days=req.settings.horizon_days
    )
    return fit_stock(
        train,
        valid=valid,
        spec=spec,
        config=req.config,
        device=req.device,
        privatizer=req.privatizer,
        on_progress=req.on_progress,
        network=req.network,
        stats=req.stats,
    )


def _evaluate(
    predictors: Mapping[str, Any], rows: pd.DataFrame, settings: ModelSettings
) -> pd.DataFrame:
    return evaluate_stock(predictors, rows, horizon_days=settings.horizon_days)


def _card_details(
    model: AnyModel, metrics: Mapping[str, Any], settings: ModelSettings
) -> dict[str, Any]:
    return {
        "horizon_days": settings.horizon_days,
        "calibration": {"probabilities": "Platt scaling per head on validation rows"},
    }


def _member_statistics(train: pd.DataFrame) -> dict[str, np.ndarray]:
    return {"features": stats_as_array(ScalingStats.from_columns(stock_numeric(train)))}


def _statistics_from_sums(sums: Mapping[str, np.ndarray]) -> ScalingStats:
    return stats_from_array(tuple(STOCK_NUMERIC), np.asarray(sums["features"]))


def _stats_to_dict(stats: ScalingStats) -> dict[str, Any]:
    return {"features": stats.to_dict()}


def _stats_from_dict(data: Mapping[str, Any]) -> ScalingStats:
    return ScalingStats.from_dict(data["features"])


def _member_calibration(model: AnyModel, valid: pd.DataFrame) -> dict[str, np.ndarray]:
    stock = _stock(model)
    labels = stock_targets(valid, horizon_days=stock.spec.horizon_days).to_numpy()
    logits = stock.logits(valid)
    rows = []
    for i, _head in enumerate(HEADS):
        known = ~np.isnan(labels[:, i])
        scaler = PlattScaler.fit(logits[known, i], labels[known, i])
        rows.append(weighted_platt(scaler, int(known.sum())))
    return {"platt": np.stack(rows)}


def _apply_calibration_sums(model: AnyModel, sums: Mapping[str, np.ndarray]) -> None:
    platt = np.asarray(sums["platt"])
    _stock(model).scalers = {h: platt_from_row(platt[i]) for i, h in enumerate(HEADS)}


def _encoder_dict(model: AnyModel) -> dict[str, Any]:
    stock = _stock(model)
    return {"kind": "stock", "spec": stock.spec.to_dict(), "stats": stock.stats.to_dict()}


def _calibration_dict(model: AnyModel) -> dict[str, Any]:
    return {name: s.to_dict() for name, s in _stock(model).scalers.items()}


def _set_calibration(model: AnyModel, data: Mapping[str, Any]) -> None:
    _stock(model).scalers = {k: PlattScaler.from_dict(v) for k, v in data.items()}


def _restore(encoder: Mapping[str, Any], calibration: Mapping[str, Any]) -> StockModel:
    spec = StockSpec.from_dict(encoder["spec"])
    model = StockModel(
        spec=spec,
        stats=ScalingStats.from_dict(encoder["stats"]),
        network=build_stock_network(spec),
    )
    _set_calibration(model, calibration)
    return model


def _boosted(
    *,
    settings: ModelSettings,
    seed: int = 0,
    base: StoredModel | None = None,
    name: str = "lightgbm_stock",
    params: BoostingParams | None = None,
) -> BoostedStock:
    return BoostedStock(
        horizon_days=settings.horizon_days,
        seed=seed,
        base=_predictor(base) if base is not None else None,
        name=name,
        params=params,
    )


def _restore_boosted(data: Mapping[str, Any], base: Any) -> BoostedStock:
    return BoostedStock.from_dict(data, base=_predictor(base) if base is not None else None)


def _predictor(model: object) -> StockPredictor:
    if not isinstance(model, StockPredictor):
        raise ConfigError("model", f"expected a stock-risk model, got {type(model).__name__}")
    return model


def _row_losses(model: StoredModel, stock: pd.DataFrame, settings: ModelSettings) -> np.ndarray:
    """Squared error of P(stock-out) on each row whose horizon is observed (mean: the Brier)."""
    targets = stock_targets(stock, horizon_days=settings.horizon_days)
    known = targets.notna().all(axis=1).to_numpy()
    p = _predictor(model).predict_stock(stock)["p_stockout"].to_numpy(np.float64)
    return np.asarray((targets["stockout"].to_numpy(np.float64)[known] - p[known]) ** 2)


def _forecast_table(model: StoredModel, stock: pd.DataFrame) -> pd.DataFrame:
    pred = _predictor(model).predict_stock(stock)
    return pd.DataFrame(
        {
            "warehouse_id": stock["warehouse_id"],
            "date": pd.to_datetime(stock["date"]).dt.strftime("%Y-%m-%d"),
            "p_stockout": pred["p_stockout"].round(6),
            "p_overflow": pred["p_overflow"].round(6),
        }
    )


STOCK = ModelFamily(
    kind="stock",
    contract="stock",
    training_purpose="stock-training",
    time_column="date",
    # Chosen like ETA's (pooled warehouses, ε = 8, two seeds, mean validation Brier):
    # 10 ep / 3e-3: 0.106, 20 / 3e-3: 0.113, 40 / 3e-3: 0.104, 20 / 1e-2: 0.100.
    train_defaults=TrainConfig(epochs=20, batch_size=256, learning_rate=1e-2),
    default_encoder=_default_encoder,
    features={"hashed": tuple(STOCK_CATEGORICAL), "numeric": tuple(STOCK_NUMERIC)},
    loss_metric="stockout_brier",
    build=_build,
    fit=_fit,
    evaluate=_evaluate,
    card_details=_card_details,
    statistics_shapes={"features": (3, len(STOCK_NUMERIC))},
    member_statistics=_member_statistics,
    statistics_from_sums=_statistics_from_sums,
    stats_to_dict=_stats_to_dict,
    stats_from_dict=_stats_from_dict,
    calibration_shapes={"platt": (len(HEADS), 3)},
    member_calibration=_member_calibration,
    apply_calibration_sums=_apply_calibration_sums,
    encoder_dict=_encoder_dict,
    calibration_dict=_calibration_dict,
    restore=_restore,
    set_calibration=_set_calibration,
    forecast_table=_forecast_table,
    boosted=_boosted,
    restore_boosted=_restore_boosted,
    stats_of=lambda model: _stock(model).stats,
    row_losses=_row_losses,
    value_metrics=("stockout_brier", "stockout_auc", "overflow_brier"),
    loss_label="Brier score of P(stock-out) (0-1, lower is better)",
)
"""Stock-out and overflow risk of a warehouse's SKU groups (contract ``stock``)."""
