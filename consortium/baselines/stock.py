"""Stock-risk baselines a warehouse fits on its own earlier rows: event rates and boosted trees."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from consortium.baselines._checks import check_positive, not_fitted
from consortium.models.boosting import BoostingParams
from consortium.models.stock_boosted import STOCK_EVENTS as _EVENTS
from consortium.models.stock_boosted import BoostedStock
from consortium.models.stock_boosted import labelled_stock as _labelled


class StockRateBaseline:
    """Historical rate of each event per warehouse over the training rows.

    ``p_stockout`` and ``p_overflow`` are the shares of a warehouse's training rows followed by
    the event within ``horizon_days``; a warehouse with fewer than ``min_group_size`` labelled
    rows, or unseen, gets the rate over all rows.

    Examples
    --------
    >>> stock = pd.DataFrame({"warehouse_id": "W1",
    ...     "date": pd.date_range("2024-01-01", periods=5),
    ...     "on_hand_units": [5.0, 0.0, 3.0, 0.0, 4.0], "capacity_units": 10.0})
    >>> model = StockRateBaseline(horizon_days=1, min_group_size=1).fit(stock)
    >>> model.predict_stock(stock)["p_stockout"].tolist()
    [0.5, 0.5, 0.5, 0.5, 0.5]
    """

    name = "stock_rate"

    def __init__(self, *, horizon_days: int, min_group_size: int = 5) -> None:
        check_positive("horizon_days", horizon_days)
        check_positive("min_group_size", min_group_size)
        self.horizon_days = int(horizon_days)
        self.min_group_size = int(min_group_size)
        self._rates: pd.DataFrame | None = None
        self._overall: pd.Series | None = None

    def fit(self, stock: pd.DataFrame) -> Self:
        """Count the events on the rows whose horizon is observed; return ``self``."""
        known = _labelled(stock, horizon_days=self.horizon_days)
        grouped = known.groupby(stock.loc[known.index, "warehouse_id"].astype(object))
        counts = grouped.size()
        self._rates = grouped.mean().loc[counts >= self.min_group_size]
        self._overall = known.mean()
        return self

    def predict_stock(self, stock: pd.DataFrame) -> pd.DataFrame:
        """Return ``p_stockout, p_overflow`` aligned to ``stock``."""
        if self._rates is None or self._overall is None:
            raise not_fitted(self.name)
        rates = self._rates.reindex(pd.Index(stock["warehouse_id"].astype(object)))
        rates = rates.fillna(self._overall).set_axis(stock.index)
        return pd.DataFrame({f"p_{e}": rates[e].to_numpy(np.float64) for e in _EVENTS}, stock.index)


class LightGBMStockBaseline(BoostedStock):
    """A warehouse's LightGBM on its own rows only: stock-out and overflow classifiers.

    It is :class:`~consortium.models.stock_boosted.BoostedStock` without a base model.
    Features are :func:`~consortium.data.targets.stock_history_features`, so a forecast at
    day t reads rows up to t only; labels are
    :func:`~consortium.data.targets.stock_targets` over ``horizon_days``. Early stopping
    uses the latest training rows by ``date``.

    Raises
    ------
    ConfigError
        An argument is out of range.

    Examples
    --------
    >>> days = 80
    >>> stock = pd.DataFrame({"warehouse_id": "W1",
    ...     "date": pd.date_range("2024-01-01", periods=days),
    ...     "on_hand_units": np.tile([0.0, 5.0, 9.0, 12.0], days // 4),
    ...     "capacity_units": 10.0, "inbound_units": 3.0, "outbound_units": 3.0})
    >>> model = LightGBMStockBaseline(horizon_days=1,
    ...     params=BoostingParams(num_boost_round=20, min_data_in_leaf=5)).fit(stock)
    >>> list(model.predict_stock(stock).columns)
    ['p_stockout', 'p_overflow']
    """

    name = "lightgbm_stock"

    def __init__(
        self,
        *,
        horizon_days: int,
        num_threads: int = 1,
        seed: int = 0,
        params: BoostingParams | None = None,
    ) -> None:
        super().__init__(
            horizon_days=horizon_days,
            num_threads=num_threads,
            seed=seed,
            params=params,
            name="lightgbm_stock",
        )
