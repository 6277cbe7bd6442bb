"""Accuracy of the DP models vs the local baselines on the synthetic consortium.

For every legs member, and for all legs members pooled: the file is cut in time (train 60 %,
validation 15 %, test 25 %); the DP ETA model trains on the train part at each ε, calibrates on
the validation part; the baselines fit on train + validation; everything is scored on the test
part. The same for the stock-risk model on each warehouse and on the warehouses pooled.

Run::

    .venv/bin/python -m benchmarks.bench_models --scale 1.0 --threads 2 --out /tmp/bench_models
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from consortium.baselines import (
    LightGBMBaseline,
    LightGBMStockBaseline,
    ScheduleBaseline,
    StockRateBaseline,
)
from consortium.data import load_table
from consortium.data.targets import stock_targets, time_split
from consortium.evaluation import evaluate_eta, evaluate_stock, plot_reliability, reliability_curve
from consortium.privacy.training import train_local
from consortium.synth import generate_consortium

EPSILONS = (1.0, 3.0, 8.0, math.inf)


def _legs(root: Path) -> dict[str, pd.DataFrame]:
    return {
        p.parent.name: load_table(p, contract="legs", purpose="eta-training").frame
        for p in sorted(root.glob("members/*/legs.csv"))
    }


def _stock(root: Path) -> dict[str, pd.DataFrame]:
    return {
        p.parent.name: load_table(p, contract="stock", purpose="stock-training").frame
        for p in sorted(root.glob("members/*/stock.csv"))
    }


def bench_eta(name: str, legs: pd.DataFrame, *, seed: int) -> list[dict[str, Any]]:
    split = time_split(legs, time_column="scheduled_departure")
    past = pd.concat([split.train, split.valid])
    predictors: dict[str, Any] = {
        "naive (schedule)": ScheduleBaseline(level=0.8, tolerance_minutes=15).fit(past),
        "lightgbm-local": LightGBMBaseline(level=0.8, tolerance_minutes=15, seed=seed).fit(past),
    }
    spent: dict[str, float | None] = {}
    for eps in EPSILONS:
        with tempfile.TemporaryDirectory() as home:
            trained = train_local(legs, kind="eta", epsilon=eps, home=Path(home), seed=seed)
        label = f"dp-eta ε={eps:g}"
        predictors[label] = trained.model
        spent[label] = trained.card["privacy"]["epsilon_spent"]
    table = evaluate_eta(predictors, split.test, tolerance_minutes=15)
    if name == "pooled":  # the pooled model serves every member: score it on each mode's legs
        for mode, part in split.test.groupby("mode"):
            by_mode = evaluate_eta(predictors, part, tolerance_minutes=15)
            by_mode.index = [f"{m} | test legs of mode {mode}" for m in by_mode.index]
            table = pd.concat([table, by_mode])
    rows = []
    for model, row in table.iterrows():
        rows.append(
            {
                "data": name,
                "model": model,
                "train_rows": len(split.train),
                "epsilon_spent": spent.get(str(model)),
                **row.to_dict(),
            }
        )
    return rows


def bench_stock(
    name: str, stock: pd.DataFrame, *, seed: int, plots: Path | None
) -> list[dict[str, Any]]:
    split = time_split(stock, time_column="date")
    past = pd.concat([split.train, split.valid])
    predictors: dict[str, Any] = {
        "stock-rate": StockRateBaseline(horizon_days=7).fit(past),
        "lightgbm-local": LightGBMStockBaseline(horizon_days=7, seed=seed).fit(past),
    }
    for eps in (1.0, 8.0, math.inf):
        with tempfile.TemporaryDirectory() as home:
            trained = train_local(stock, kind="stock", epsilon=eps, home=Path(home), seed=seed)
        predictors[f"dp-stock ε={eps:g}"] = trained.model
    table = evaluate_stock(predictors, split.test, horizon_days=7)
    if plots is not None:
        labels = stock_targets(split.test, horizon_days=7)
        known = labels["stockout"].notna()
        curves = {
            label: reliability_curve(
                labels.loc[known, "stockout"],
                predictors[label].predict_stock(split.test).loc[known, "p_stockout"],
            )
            for label in ("dp-stock ε=8", "lightgbm-local")
        }
        plot_reliability(
            curves,
            plots / f"reliability_stockout_{name}.png",
            title=f"Stock-out within 7 days: {name}",
        )
    return [
        {"data": name, "model": m, "train_rows": len(split.train), **r.to_dict()}
        for m, r in table.iterrows()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench_models_out"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="opacus")
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_consortium(root, seed=7, scale=args.scale)
        legs, stock = _legs(root), _stock(root)
    eta_rows: list[dict[str, Any]] = []
    for name, frame in legs.items():
        eta_rows += bench_eta(name, frame, seed=args.seed)
    eta_rows += bench_eta("pooled", pd.concat(legs.values(), ignore_index=True), seed=args.seed)
    stock_rows: list[dict[str, Any]] = []
    for name, frame in stock.items():
        stock_rows += bench_stock(name, frame, seed=args.seed, plots=None)
    stock_rows += bench_stock(
        "pooled", pd.concat(stock.values(), ignore_index=True), seed=args.seed, plots=args.out
    )
    eta, stk = pd.DataFrame(eta_rows), pd.DataFrame(stock_rows)
    eta.to_csv(args.out / "eta.csv", index=False)
    stk.to_csv(args.out / "stock.csv", index=False)
    pooled = eta[eta["data"] == "pooled"].set_index("model")
    summary = {
        "scale": args.scale,
        "seconds": round(time.perf_counter() - started, 1),
        "pooled_dp8_mae": float(pooled.loc["dp-eta ε=8", "mae"]),
        "pooled_lightgbm_mae": float(pooled.loc["lightgbm-local", "mae"]),
        "pooled_naive_mae": float(pooled.loc["naive (schedule)", "mae"]),
        "pooled_dp8_coverage": float(pooled.loc["dp-eta ε=8", "coverage"]),
    }
    summary["dp8_over_lightgbm"] = summary["pooled_dp8_mae"] / summary["pooled_lightgbm_mae"]
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    pd.set_option("display.width", 200)
    cols = [
        "data",
        "model",
        "train_rows",
        "mae",
        "rmse",
        "coverage",
        "mean_width",
        "on_time_auc",
        "on_time_brier",
        "epsilon_spent",
    ]
    print(eta[cols].to_markdown(index=False, floatfmt=".3g"))  # noqa: T201
    print()  # noqa: T201
    print(stk.to_markdown(index=False, floatfmt=".3g"))  # noqa: T201
    print(json.dumps(summary, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
