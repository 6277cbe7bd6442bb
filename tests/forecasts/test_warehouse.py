"""Warehouse answers computed at the member with the pooled model: aggregates, or a decline."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consortium.errors import ConfigError, PurposeNotDeclared
from consortium.forecasts.pooled import model_version, pooled_stock_model
from consortium.forecasts.warehouse import (
    HISTORY_DAYS,
    LocalWarehouseAnswerer,
    WarehouseAnswerer,
    answer_stock_query,
)
from tests.forecasts.conftest import Pool


def _many_skus(n_skus: int, *, days: int = 90) -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=days)
    rng = np.random.default_rng(3)
    frames = []
    for i in range(n_skus):
        outbound = rng.poisson(20 + i, days)
        frames.append(
            pd.DataFrame(
                {
                    "warehouse_id": "WH-TEST-01", "date": dates, "sku_group": f"G{i:02d}",
                    "on_hand_units": np.maximum(0, 300 - np.cumsum(outbound) % 300),
                    "capacity_units": 400, "inbound_units": rng.poisson(20, days),
                    "outbound_units": outbound, "open_orders": rng.poisson(5, days),
                    "lead_time_days": 3.0,
                }
            )
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_answer_aggregates_the_latest_day_over_every_sku_series(pool: Pool) -> None:
    # Prepare
    model, _ = pooled_stock_model(pool.stock_dir)
    stock = _many_skus(12)
    latest = stock.loc[stock["date"] == stock["date"].max()]
    expected = model.predict_stock(stock).loc[latest.index]  # scored on the full history
    # Execute
    answer = answer_stock_query(
        model, stock, warehouse_id="WH-TEST-01", horizon_days=7, min_group_size=5
    )
    # Assert
    assert answer is not None
    assert answer.as_of == "2025-03-31"
    assert answer.sku_series == 10  # 12 rounded down to a multiple of 5
    assert answer.p_stockout_mean == pytest.approx(expected["p_stockout"].mean(), abs=1e-4)
    assert answer.p_overflow_mean == pytest.approx(expected["p_overflow"].mean(), abs=1e-4)
    assert answer.p_stockout_any == pytest.approx(
        1 - np.prod(1 - expected["p_stockout"].to_numpy()), abs=1e-4
    )
    assert answer.p_stockout_mean <= answer.p_stockout_any <= 1.0
    assert set(answer.summary()) >= {"warehouse_id", "p_stockout_mean", "sku_series"}
    assert not any("sku_group" in key for key in answer.summary())


def test_only_recent_history_is_scored_and_gives_the_same_answer(pool: Pool) -> None:
    # Prepare
    model, _ = pooled_stock_model(pool.stock_dir)
    stock = _many_skus(6, days=200)
    recent = stock.loc[stock["date"] > stock["date"].max() - pd.Timedelta(days=HISTORY_DAYS)]
    # Execute
    full = answer_stock_query(model, stock, warehouse_id="WH-TEST-01", horizon_days=7,
                              min_group_size=5)  # fmt: skip
    short = answer_stock_query(model, recent, warehouse_id="WH-TEST-01", horizon_days=7,
                               min_group_size=5)  # fmt: skip
    # Assert
    assert full == short


@pytest.mark.parametrize(
    ("warehouse_id", "horizon_days", "min_group_size"),
    [("WH-ELSEWHERE", 7, 1), ("WH-TEST-01", 3, 1), ("WH-TEST-01", 7, 5)],
    ids=["not-its-warehouse", "other-horizon", "too-few-skus"],
)
def test_member_declines(
    pool: Pool, warehouse_id: str, horizon_days: int, min_group_size: int
) -> None:
    model, _ = pooled_stock_model(pool.stock_dir)
    answer = answer_stock_query(
        model, _many_skus(4), warehouse_id=warehouse_id, horizon_days=horizon_days,
        min_group_size=min_group_size,
    )  # fmt: skip
    assert answer is None


def test_local_answerer_runs_each_members_own_computation(pool: Pool) -> None:
    # Prepare
    answerer = LocalWarehouseAnswerer.from_consortium_dir(pool.synth_dir, declining={"warsaw-dc"})
    model, _ = pooled_stock_model(pool.stock_dir)
    rotterdam = pool.stock["rotterdam-dc"]
    # Execute
    answer = answerer.answer("WH-NLRTM-01", horizon_days=7, model_dir=pool.stock_dir,
                             min_group_size=1)  # fmt: skip
    declined = answerer.answer("WH-PLWAW-01", horizon_days=7, model_dir=pool.stock_dir,
                               min_group_size=1)  # fmt: skip
    # Assert
    assert isinstance(answerer, WarehouseAnswerer)
    assert answerer.knows("WH-DEDUI-01")
    assert not answerer.knows("WH-NOWHERE")
    assert answer is not None
    assert declined is None
    assert answer.model_version == model_version(pool.stock_dir)
    direct = answer_stock_query(
        model, rotterdam, warehouse_id="WH-NLRTM-01", horizon_days=7, min_group_size=1
    )
    assert direct is not None
    assert answer == replace(direct, model_version=model_version(pool.stock_dir))
    assert answer.as_of == str(rotterdam["date"].max().date())


def test_local_answerer_needs_warehouses_and_the_query_answering_purpose(
    pool: Pool, tmp_path: Path
) -> None:
    # Prepare
    carriers_only = tmp_path / "carriers"
    shutil.copytree(pool.synth_dir / "members" / "rhine-road", carriers_only / "rhine-road")
    undeclared = tmp_path / "undeclared"
    shutil.copytree(pool.synth_dir / "members" / "warsaw-dc", undeclared / "warsaw-dc")
    sources = undeclared / "warsaw-dc" / "sources.json"
    declaration = json.loads(sources.read_text())
    declaration["sources"][0]["purposes"].remove("query-answering")
    sources.write_text(json.dumps(declaration))
    # Execute / Assert
    with pytest.raises(ConfigError) as caught:
        LocalWarehouseAnswerer.from_consortium_dir(carriers_only)
    assert caught.value.name == "members"
    with pytest.raises(PurposeNotDeclared):
        LocalWarehouseAnswerer.from_consortium_dir(undeclared)
