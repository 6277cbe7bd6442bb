"""The ETA family: arrival delay of a leg, with an interval and an on-time probability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from consortium.data.lanes import LANE_BUCKETS, SUM_ROWS, lane_sums
from consortium.data.targets import delay_minutes
from consortium.errors import ConfigError
from consortium.evaluation import evaluate_eta
from consortium.evaluation.predictor import EtaPredictor
from consortium.models.boosting import BoostingParams
from consortium.models.calibration import MIN_GROUP_ROWS, ConformalInterval, PlattScaler
from consortium.models.encoding import EncoderConfig, ScalingStats
from consortium.models.eta import EtaModel, EtaSpec, build_eta_network, eta_scaling_stats, fit_eta
from consortium.models.eta_boosted import BoostedEta
from consortium.models.eta_features import CATEGORICAL_FIELDS, NUMERIC_FEATURES, to_delay_space
from consortium.models.family import (
    AnyModel,
    CatalogSums,
    FitRequest,
    ModelFamily,
    ModelSettings,
    StoredModel,
    seed_fresh_network,
)
from consortium.models.secure_sums import (
    MODES,
    SCORE_BINS,
    offset_from_histogram,
    platt_from_row,
    score_histogram,
    stats_as_array,
    stats_from_array,
    weighted_platt,
)
from consortium.models.timetable import TimetableEta
from consortium.models.training import FitResult, TrainConfig

__all__ = ["ETA"]

EtaStats = tuple[ScalingStats, ScalingStats]


def _spec(settings: ModelSettings, encoder: EncoderConfig | None = None) -> EtaSpec:
    return EtaSpec(
        encoder=encoder or EncoderConfig(),
        interval_level=settings.interval_level,
        tolerance_minutes=settings.tolerance_minutes,
    )


def _eta(model: AnyModel) -> EtaModel:
    if not isinstance(model, EtaModel):
        raise ConfigError("model", f"expected an ETA model, got {type(model).__name__}")
    return model


def _build(stats: Any, settings: ModelSettings) -> EtaModel:
    if not isinstance(stats, tuple):
        raise ConfigError("stats", "the ETA model needs (feature, target) statistics")
    spec = _spec(settings)
    return EtaModel(
        spec=spec, stats=stats[0], target_stats=stats[1], network=build_eta_network(spec)
    )


def _fit(train: pd.DataFrame, valid: pd.DataFrame, req: FitRequest) -> tuple[EtaModel, FitResult]:
    seed_fresh_network(req)
    return fit_eta(
        train,
        valid=valid,
        spec=_spec(req.settings, req.encoder),
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
    return evaluate_eta(predictors, rows, tolerance_minutes=settings.tolerance_minutes)


def _card_details(
    model: AnyModel, metrics: Mapping[str, Any], settings: ModelSettings
) -> dict[str, Any]:
    eta = _eta(model)
    return {
        "interval_level": eta.spec.interval_level,
        "measured_coverage": metrics.get("coverage"),
        "on_time_tolerance_minutes": eta.spec.tolerance_minutes,
        "calibration": {
            "interval": "CQR on validation rows",
            "cqr_offset": eta.interval.offset if eta.interval else None,
            "on_time": "Platt scaling on validation rows",
        },
    }


def _member_statistics(train: pd.DataFrame) -> dict[str, np.ndarray]:
    labelled = train[delay_minutes(train).notna()]
    features, target = eta_scaling_stats(labelled, spec=EtaSpec())
    return {"features": stats_as_array(features), "target": stats_as_array(target)}


def _statistics_from_sums(sums: Mapping[str, np.ndarray]) -> EtaStats:
    return (
        stats_from_array(tuple(NUMERIC_FEATURES), np.asarray(sums["features"])),
        stats_from_array(("delay_z",), np.asarray(sums["target"])),
    )


def _stats_to_dict(stats: EtaStats) -> dict[str, Any]:
    return {"features": stats[0].to_dict(), "target": stats[1].to_dict()}


def _stats_from_dict(data: Mapping[str, Any]) -> EtaStats:
    return ScalingStats.from_dict(data["features"]), ScalingStats.from_dict(data["target"])


_CALIBRATION_SHAPES = {"scores": (1 + len(MODES), SCORE_BINS), "platt": (3,)}


def _member_calibration(model: AnyModel, valid: pd.DataFrame) -> dict[str, np.ndarray]:
    eta = _eta(model)
    labelled = valid[delay_minutes(valid).notna()]
    if labelled.empty:
        return {k: np.zeros(v) for k, v in _CALIBRATION_SHAPES.items()}
    raw = eta.raw(labelled)
    minutes = delay_minutes(labelled).to_numpy()
    z = to_delay_space(minutes, scale_minutes=eta.spec.delay_scale_minutes)
    scores = np.maximum(raw["lower"] - z, z - raw["upper"])
    modes = labelled["mode"].astype(str).to_numpy()
    rows = [score_histogram(scores)] + [score_histogram(scores[modes == m]) for m in MODES]
    on_time = (minutes <= eta.spec.tolerance_minutes).astype(np.float64)
    platt = PlattScaler.fit(raw["logit"], on_time)
    return {"scores": np.stack(rows), "platt": weighted_platt(platt, len(labelled))}


def _apply_calibration_sums(model: AnyModel, sums: Mapping[str, np.ndarray]) -> None:
    eta = _eta(model)
    scores = np.asarray(sums["scores"])
    level = eta.spec.interval_level
    groups = {
        mode: offset_from_histogram(scores[i + 1], level=level)
        for i, mode in enumerate(MODES)
        if scores[i + 1].sum() >= MIN_GROUP_ROWS
    }
    eta.interval = ConformalInterval(
        level, offset_from_histogram(scores[0], level=level), int(scores[0].sum()), groups
    )
    eta.on_time = platt_from_row(np.asarray(sums["platt"]))


def _encoder_dict(model: AnyModel) -> dict[str, Any]:
    eta = _eta(model)
    return {
        "kind": "eta",
        "spec": eta.spec.to_dict(),
        "stats": eta.stats.to_dict(),
        "target_stats": eta.target_stats.to_dict(),
    }


def _calibration_dict(model: AnyModel) -> dict[str, Any]:
    eta = _eta(model)
    return {
        "interval": eta.interval.to_dict() if eta.interval else None,
        "on_time": eta.on_time.to_dict(),
    }


def _set_calibration(model: AnyModel, data: Mapping[str, Any]) -> None:
    eta = _eta(model)
    if data.get("interval"):
        eta.interval = ConformalInterval.from_dict(data["interval"])
    eta.on_time = PlattScaler.from_dict(data["on_time"])


def _restore(encoder: Mapping[str, Any], calibration: Mapping[str, Any]) -> EtaModel:
    spec = EtaSpec.from_dict(encoder["spec"])
    model = EtaModel(
        spec=spec,
        stats=ScalingStats.from_dict(encoder["stats"]),
        target_stats=ScalingStats.from_dict(encoder["target_stats"]),
        network=build_eta_network(spec),
    )
    _set_calibration(model, calibration)
    return model


def _boosted(
    *,
    settings: ModelSettings,
    seed: int = 0,
    base: StoredModel | None = None,
    name: str = "lightgbm",
    params: BoostingParams | None = None,
) -> BoostedEta:
    return BoostedEta(
        level=settings.interval_level,
        tolerance_minutes=settings.tolerance_minutes,
        seed=seed,
        base=_predictor(base) if base is not None else None,
        name=name,
        params=params,
    )


def _restore_boosted(data: Mapping[str, Any], base: Any) -> BoostedEta:
    return BoostedEta.from_dict(data, base=_predictor(base) if base is not None else None)


def _predictor(model: object) -> EtaPredictor:
    if not isinstance(model, EtaPredictor):
        raise ConfigError("model", f"expected an ETA model, got {type(model).__name__}")
    return model


def _row_losses(model: StoredModel, legs: pd.DataFrame, settings: ModelSettings) -> np.ndarray:
    """Absolute error (minutes) of the point forecast on each labelled leg (mean: the MAE)."""
    labelled = legs[legs["actual_arrival"].notna()]
    blind = labelled.assign(actual_arrival=pd.NaT)
    point = _predictor(model).predict_eta(blind)["delay_minutes"].to_numpy(np.float64)
    return np.abs(delay_minutes(labelled).to_numpy(np.float64) - point)


def _forecast_table(model: StoredModel, legs: pd.DataFrame) -> pd.DataFrame:
    pred = _predictor(model).predict_eta(legs)
    arrival = pd.to_datetime(legs["scheduled_arrival"], utc=True)

    def at(minutes: pd.Series) -> pd.Series:
        stamps = (arrival + pd.to_timedelta(minutes, unit="min")).dt.round("s")
        return stamps.map(lambda t: t.isoformat())

    return pd.DataFrame(
        {
            "leg_id": legs["leg_id"],
            "eta": at(pred["delay_minutes"]),
            "eta_lower": at(pred["delay_lower"]),
            "eta_upper": at(pred["delay_upper"]),
            "p_on_time": pred["p_on_time"].round(6),
        }
    )


ETA = ModelFamily(
    kind="eta",
    contract="legs",
    training_purpose="eta-training",
    time_column="scheduled_departure",
    # Epochs chosen by validation on the past (an inner time split of the training period of the
    # pooled synthetic consortium, ε = 8): 8 → 16 → 24 epochs gave validation MAE 129 → 125 → 123.
    train_defaults=TrainConfig(epochs=24, batch_size=1024, learning_rate=3e-3),
    default_encoder=EncoderConfig,
    features={"hashed": tuple(CATEGORICAL_FIELDS), "numeric": tuple(NUMERIC_FEATURES)},
    loss_metric="mae",
    build=_build,
    fit=_fit,
    evaluate=_evaluate,
    card_details=_card_details,
    statistics_shapes={"features": (3, len(NUMERIC_FEATURES)), "target": (3, 1)},
    member_statistics=_member_statistics,
    statistics_from_sums=_statistics_from_sums,
    stats_to_dict=_stats_to_dict,
    stats_from_dict=_stats_from_dict,
    calibration_shapes=_CALIBRATION_SHAPES,
    member_calibration=_member_calibration,
    apply_calibration_sums=_apply_calibration_sums,
    encoder_dict=_encoder_dict,
    calibration_dict=_calibration_dict,
    restore=_restore,
    set_calibration=_set_calibration,
    forecast_table=_forecast_table,
    boosted=_boosted,
    restore_boosted=_restore_boosted,
    stats_of=lambda model: (_eta(model).stats, _eta(model).target_stats),
    row_losses=_row_losses,
    value_metrics=("mae", "coverage", "on_time_auc"),
    loss_label="MAE of the arrival delay (minutes)",
    catalog_sums=CatalogSums("lanes", (len(SUM_ROWS), LANE_BUCKETS), lane_sums),
    timetable=lambda s: TimetableEta(level=s.interval_level, tolerance_minutes=s.tolerance_minutes),
)
"""Arrival time of a sea, road, rail or air leg (contract ``legs``)."""
