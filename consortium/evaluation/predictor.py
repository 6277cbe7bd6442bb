"""The predictor protocols every ETA and stock-risk forecaster implements.

The kit's DP models, the local baselines and the federated global model all answer through these
two protocols, so :mod:`consortium.evaluation` can score any of them side by side.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

ETA_COLUMNS: tuple[str, ...] = ("delay_minutes", "delay_lower", "delay_upper", "p_on_time")
STOCK_COLUMNS: tuple[str, ...] = ("p_stockout", "p_overflow")


@runtime_checkable
class EtaPredictor(Protocol):
    """Forecasts the arrival delay of legs from what is known before departure.

    ``predict_eta`` returns a frame with the same index as ``legs`` and the float columns
    ``delay_minutes`` (point forecast of actual minus scheduled arrival), ``delay_lower`` and
    ``delay_upper`` (the prediction interval) and ``p_on_time`` (probability that the delay is
    within the consortium tolerance).
    """

    name: str

    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        """Return ``delay_minutes, delay_lower, delay_upper, p_on_time`` aligned to ``legs``."""
        ...


@runtime_checkable
class StockPredictor(Protocol):
    """Forecasts stock-out and overflow risk of warehouse rows within the model's horizon.

    ``predict_stock`` returns a frame with the same index as ``stock`` and the float columns
    ``p_stockout`` and ``p_overflow``.
    """

    name: str

    def predict_stock(self, stock: pd.DataFrame) -> pd.DataFrame:
        """Return ``p_stockout, p_overflow`` aligned to ``stock``."""
        ...
