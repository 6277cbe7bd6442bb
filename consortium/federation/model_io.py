"""The global model as it travels: building it on either side, its statistics and calibration.

The coordinator and every member build the same network from the same specification, so only
weights (``ArrayRecord``/NumPy lists), the consortium-wide scaling statistics and the calibration
constants need to travel; the last two are small and go as JSON strings in a ``ConfigRecord``.
"""

from __future__ import annotations

import json
from typing import Literal

from consortium.errors import ConfigError
from consortium.models.calibration import ConformalInterval, PlattScaler
from consortium.models.encoding import ScalingStats
from consortium.models.eta import EtaModel, EtaSpec, build_eta_network
from consortium.models.stock import StockModel, StockSpec, build_stock_network

__all__ = [
    "CONTRACT",
    "ModelKind",
    "build_global_model",
    "calibration_from_json",
    "calibration_to_json",
    "stats_from_json",
    "stats_to_json",
]

ModelKind = Literal["eta", "stock"]
CONTRACT: dict[str, str] = {"eta": "legs", "stock": "stock"}


def build_global_model(
    kind: ModelKind,
    *,
    stats: ScalingStats | tuple[ScalingStats, ScalingStats],
    interval_level: float = 0.8,
    tolerance_minutes: int = 15,
    horizon_days: int = 7,
) -> EtaModel | StockModel:
    """Return an untrained model of ``kind`` over the consortium-wide ``stats``."""
    if kind == "eta":
        if not isinstance(stats, tuple):
            raise ConfigError("stats", "the ETA model needs (feature, target) statistics")
        spec = EtaSpec(interval_level=interval_level, tolerance_minutes=tolerance_minutes)
        return EtaModel(
            spec=spec, stats=stats[0], target_stats=stats[1], network=build_eta_network(spec)
        )
    if kind == "stock":
        if isinstance(stats, tuple):
            raise ConfigError("stats", "the stock model needs one ScalingStats")
        stock_spec = StockSpec(horizon_days=horizon_days)
        return StockModel(spec=stock_spec, stats=stats, network=build_stock_network(stock_spec))
    raise ConfigError("model", f"must be 'eta' or 'stock', got {kind!r}")


def stats_to_json(stats: ScalingStats | tuple[ScalingStats, ScalingStats]) -> str:
    """Serialise the statistics for a ``ConfigRecord``."""
    if isinstance(stats, tuple):
        return json.dumps({"features": stats[0].to_dict(), "target": stats[1].to_dict()})
    return json.dumps({"features": stats.to_dict()})


def stats_from_json(kind: ModelKind, text: str) -> ScalingStats | tuple[ScalingStats, ScalingStats]:
    """Invert :func:`stats_to_json`."""
    data = json.loads(text)
    features = ScalingStats.from_dict(data["features"])
    if kind == "eta":
        return features, ScalingStats.from_dict(data["target"])
    return features


def calibration_to_json(model: EtaModel | StockModel) -> str:
    """Serialise the model's calibration constants."""
    if isinstance(model, EtaModel):
        interval = model.interval.to_dict() if model.interval else None
        return json.dumps({"interval": interval, "on_time": model.on_time.to_dict()})
    return json.dumps({"scalers": {h: s.to_dict() for h, s in model.scalers.items()}})


def calibration_from_json(model: EtaModel | StockModel, text: str) -> None:
    """Set ``model``'s calibration from :func:`calibration_to_json` output."""
    data = json.loads(text)
    if isinstance(model, EtaModel):
        if data.get("interval"):
            model.interval = ConformalInterval.from_dict(data["interval"])
        model.on_time = PlattScaler.from_dict(data["on_time"])
    else:
        model.scalers = {h: PlattScaler.from_dict(v) for h, v in data["scalers"].items()}
