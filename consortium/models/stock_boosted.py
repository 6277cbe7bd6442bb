"""Boosted stock-risk models: two LightGBM classifiers, stock-out and overflow, optionally stacked.

:class:`BoostedStock` is the local LightGBM baseline
(:class:`consortium.baselines.LightGBMStockBaseline`) and, given a ``base`` model, a warehouse's
stacked own model: the base model's probabilities join the past-only stock features. It stores as
LightGBM's own text format (:meth:`BoostedStock.to_dict`), never as a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Self

import numpy as np
import pandas as pd

from consortium.data.targets import stock_history_features, stock_targets
from consortium.errors import ConfigError, ModelError
from consortium.evaluation.predictor import STOCK_COLUMNS, StockPredictor
from consortium.models.boosting import BoostingParams, FittedModel, check_positive, fit_booster

__all__ = ["STOCK_EVENTS", "BoostedStock", "labelled_stock"]

STOCK_EVENTS: tuple[str, ...] = ("stockout", "overflow")
_BASE_PREFIX = "base_"


def labelled_stock(stock: pd.DataFrame, *, horizon_days: int) -> pd.DataFrame:
    """Return the event labels of the rows whose horizon is observed (raise if there are none)."""
    targets = stock_targets(stock, horizon_days=horizon_days)
    known = targets.loc[targets.notna().all(axis=1)]
    if known.empty:
        raise ConfigError("stock", f"no row has {horizon_days} observed days ahead to fit on")
    return known


class BoostedStock:
    """Two LightGBM classifiers on :func:`~consortium.data.targets.stock_history_features`.

    A forecast at day t reads rows up to t only; labels are
    :func:`~consortium.data.targets.stock_targets` over ``horizon_days``. Early stopping uses
    the latest training rows by ``date``. Given ``base``, its ``p_stockout`` and ``p_overflow``
    are extra features (stacking).

    Raises
    ------
    ConfigError
        An argument is out of range.
    """

    kind = "stock"
    """The family this model belongs to (:mod:`consortium.models.families`)."""

    def __init__(
        self,
        *,
        horizon_days: int,
        num_threads: int = 1,
        seed: int = 0,
        params: BoostingParams | None = None,
        base: StockPredictor | None = None,
        name: str = "lightgbm_stock",
    ) -> None:
        check_positive("horizon_days", horizon_days)
        check_positive("num_threads", num_threads)
        self.horizon_days = int(horizon_days)
        self.num_threads = int(num_threads)
        self.seed = int(seed)
        self.params = params if params is not None else BoostingParams()
        self.base = base
        self.name = name
        self._models: dict[str, FittedModel] | None = None

    def _features(self, stock: pd.DataFrame) -> pd.DataFrame:
        features = stock_history_features(stock)
        if self.base is not None:
            stacked = self.base.predict_stock(stock)
            for column in STOCK_COLUMNS:
                features[_BASE_PREFIX + column] = stacked[column].to_numpy(np.float64)
        return features

    def fit(self, stock: pd.DataFrame) -> Self:
        """Train both classifiers on the rows whose horizon is observed; return ``self``."""
        known = labelled_stock(stock, horizon_days=self.horizon_days)
        features = self._features(stock).loc[known.index]
        self._models = {
            event: fit_booster(
                features,
                known[event].to_numpy(),
                times=stock.loc[known.index, "date"],
                objective="binary",
                params=self.params,
                num_threads=self.num_threads,
                seed=self.seed,
            )
            for event in STOCK_EVENTS
        }
        return self

    def predict_stock(self, stock: pd.DataFrame) -> pd.DataFrame:
        """Return ``p_stockout, p_overflow`` aligned to ``stock``."""
        if self._models is None:
            raise ModelError(self.name, "not fitted: call fit() first")
        features = self._features(stock)
        return pd.DataFrame(
            {f"p_{e}": np.clip(self._models[e].predict(features), 0.0, 1.0) for e in STOCK_EVENTS},
            index=stock.index,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fitted trees (the base model is stored on its own)."""
        if self._models is None:
            raise ModelError(self.name, "not fitted: call fit() first")
        return {
            "name": self.name,
            "horizon_days": self.horizon_days,
            "seed": self.seed,
            "params": asdict(self.params),
            "stacked": self.base is not None,
            "models": {e: m.to_dict() for e, m in self._models.items()},
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base: StockPredictor | None = None
    ) -> BoostedStock:
        """Rebuild from :meth:`to_dict` output; ``base`` is required when it was stacked."""
        if bool(data["stacked"]) != (base is not None):
            raise ConfigError("base", "a stacked model needs its base model, a plain one none")
        model = cls(
            horizon_days=int(data["horizon_days"]),
            seed=int(data["seed"]),
            params=BoostingParams(**data["params"]),
            base=base,
            name=str(data["name"]),
        )
        model._models = {e: FittedModel.from_dict(m) for e, m in data["models"].items()}
        return model
