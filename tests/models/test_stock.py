"""The stock-risk model on a synthetic warehouse: calibrated probabilities on later days."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from consortium.data.targets import stock_targets, time_split
from consortium.errors import ConfigError
from consortium.evaluation import probability_metrics
from consortium.evaluation.predictor import StockPredictor
from consortium.models.stock import StockSpec, fit_stock
from consortium.models.training import TrainConfig
from consortium.privacy.training import train_local
from consortium.synth import generate_consortium

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("synth")
    generate_consortium(out, seed=7, scale=0.02)
    frames = [pd.read_csv(p, parse_dates=["date"]) for p in sorted(out.glob("members/*/stock.csv"))]
    return pd.concat(frames, ignore_index=True)


def test_stock_model_ranks_later_risk_better_than_chance(stock: pd.DataFrame) -> None:
    # Prepare
    split = time_split(stock, time_column="date")
    spec = StockSpec(horizon_days=7)
    # Execute
    model, _ = fit_stock(
        split.train,
        valid=split.valid,
        spec=spec,
        config=TrainConfig(epochs=15, batch_size=128, seed=0),
        device=CPU,
    )
    forecast = model.predict_stock(split.test)
    # Assert
    assert isinstance(model, StockPredictor)
    assert forecast.index.equals(split.test.index)
    labels = stock_targets(split.test, horizon_days=7)
    aucs = []
    for head in ("stockout", "overflow"):
        known = labels[head].notna()
        if labels.loc[known, head].nunique() == 2:
            aucs.append(
                probability_metrics(labels.loc[known, head], forecast.loc[known, f"p_{head}"])[
                    "auc"
                ]
            )
    assert aucs
    assert max(aucs) > 0.6
    assert np.all((forecast.to_numpy() >= 0) & (forecast.to_numpy() <= 1))


def test_non_positive_horizon_is_a_config_error_naming_it(
    stock: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        train_local(stock, kind="stock", epsilon=1.0, home=tmp_path, horizon_days=0)
    assert caught.value.name == "horizon_days"
    with pytest.raises(ConfigError) as caught:
        StockSpec(horizon_days=-1)
    assert caught.value.name == "horizon_days"
