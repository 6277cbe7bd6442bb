from __future__ import annotations

import pandas as pd
import pytest

from consortium.baselines import BoostingParams, LightGBMStockBaseline, StockRateBaseline
from consortium.data.targets import time_split
from consortium.errors import ConfigError, ModelError
from consortium.evaluation import evaluate_stock


def _stock(warehouse: str, on_hand: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "warehouse_id": warehouse,
            "date": pd.date_range("2024-01-01", periods=len(on_hand)),
            "on_hand_units": on_hand,
            "capacity_units": 10.0,
        }
    )


def test_stock_rate_is_the_warehouse_event_share_with_an_overall_fallback():
    # Prepare: W1 runs out after 2 of its 4 labelled rows, W2 overflows after 1 of 4
    training = pd.concat(
        [_stock("W1", [5.0, 0.0, 5.0, 0.0, 5.0]), _stock("W2", [5.0, 5.0, 5.0, 5.0, 11.0])],
        ignore_index=True,
    )
    model = StockRateBaseline(horizon_days=1, min_group_size=4).fit(training)

    # Execute
    forecast = model.predict_stock(pd.concat([_stock("W1", [1.0]), _stock("W9", [1.0])]))

    # Assert
    assert forecast.iloc[0].tolist() == [0.5, 0.0]
    assert forecast.iloc[1].tolist() == [0.25, 0.125]


def test_stock_rate_rejects_a_non_positive_horizon():
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        StockRateBaseline(horizon_days=0)
    assert error.value.name == "horizon_days"


def test_stock_rate_refuses_training_rows_without_an_observed_horizon():
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        StockRateBaseline(horizon_days=7).fit(_stock("W1", [5.0, 4.0]))
    assert error.value.name == "stock"


def test_lightgbm_stock_ranks_risk_better_than_the_warehouse_rate(synthetic_stock):
    # Prepare
    parts = time_split(synthetic_stock, time_column="date")
    earlier = pd.concat([parts.train, parts.valid])
    params = BoostingParams(num_boost_round=200, min_data_in_leaf=10)
    boosted = LightGBMStockBaseline(horizon_days=3, num_threads=1, params=params).fit(earlier)
    rate = StockRateBaseline(horizon_days=3).fit(earlier)

    # Execute
    report = evaluate_stock({"rate": rate, "lightgbm": boosted}, parts.test, horizon_days=3)

    # Assert
    assert report.loc["lightgbm", "stockout_auc"] > report.loc["rate", "stockout_auc"]
    assert report.loc["lightgbm", "overflow_auc"] > report.loc["rate", "overflow_auc"]


def test_lightgbm_stock_gives_a_constant_when_training_has_one_class():
    # Prepare: never empty, never full
    stock = _stock("W1", [5.0] * 40)
    model = LightGBMStockBaseline(horizon_days=1, params=BoostingParams(num_boost_round=5))

    # Execute
    forecast = model.fit(stock).predict_stock(stock)

    # Assert
    assert (forecast == 0.0).all().all()


def test_lightgbm_stock_refuses_to_predict_before_fitting():
    # Execute / Assert
    with pytest.raises(ModelError) as error:
        LightGBMStockBaseline(horizon_days=1).predict_stock(_stock("W1", [1.0]))
    assert error.value.path == "lightgbm_stock"
