"""Local baselines a member fits on its own earlier rows: the bar every consortium model must beat.

ETA baselines implement :class:`~consortium.evaluation.predictor.EtaPredictor` and stock baselines
:class:`~consortium.evaluation.predictor.StockPredictor`; each has ``fit(frame) -> self``.
"""

from consortium.baselines.boosting import BoostingParams
from consortium.baselines.empirical import OnTimeRateBaseline, RouteMedianBaseline, ScheduleBaseline
from consortium.baselines.gbm import LightGBMBaseline
from consortium.baselines.stock import LightGBMStockBaseline, StockRateBaseline

__all__ = [
    "BoostingParams",
    "LightGBMBaseline",
    "LightGBMStockBaseline",
    "OnTimeRateBaseline",
    "RouteMedianBaseline",
    "ScheduleBaseline",
    "StockRateBaseline",
]
