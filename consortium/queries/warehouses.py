"""Which warehouses can answer a stock-risk query now, and why the others would decline.

A declined warehouse query costs nothing, but a buyer should know before asking: each
warehouse's node is asked (:meth:`~consortium.forecasts.warehouse.LocalWarehouseAnswerer.
decline_reason`, the same rule its answer applies) under the board's minimum group size and
the pooled stock model's horizon. Nothing is scored, charged or recorded.

Examples
--------
>>> # with factory.begin() as session:
>>> #     warehouse_offers(session, answerer=warehouses, model_dir=stock_dir, horizon_days=7)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from consortium.data.targets import stock_targets
from consortium.evaluation.reliability import reliability_curve
from consortium.forecasts.pooled import pooled_stock_model
from consortium.forecasts.warehouse import LocalWarehouseAnswerer
from consortium.policy.store import current_policy

OFFER_COLUMNS = ["warehouse", "can_answer", "why_not"]
RELIABILITY_DAYS = 120
"""Days of each warehouse member's latest rows scored for the reliability chart."""


def stock_horizon_days(model_dir: Path) -> int:
    """Return the horizon (days) the pooled stock model in ``model_dir`` answers for.

    Raises
    ------
    ModelError
        If ``model_dir`` holds no stock model.
    """
    model, _ = pooled_stock_model(model_dir)
    return int(model.spec.horizon_days)


def warehouse_offers(
    session: Session,
    *,
    answerer: LocalWarehouseAnswerer,
    model_dir: Path,
    horizon_days: int,
) -> pd.DataFrame:
    """One row per warehouse: whether it would answer, and the rule that stops it if not.

    Columns: ``warehouse``, ``can_answer`` (bool) and ``why_not`` (empty when it answers).

    Raises
    ------
    ModelError
        If ``model_dir`` holds no stock model.
    """
    minimum = current_policy(session).min_group_size
    rows = []
    for warehouse in sorted(answerer.members):
        reason = answerer.decline_reason(
            warehouse, horizon_days=horizon_days, model_dir=model_dir, min_group_size=minimum
        )
        rows.append((warehouse, reason is None, reason or ""))
    return pd.DataFrame(rows, columns=OFFER_COLUMNS).astype({"can_answer": "bool"})


def stock_reliability(
    session: Session, *, answerer: LocalWarehouseAnswerer, model_dir: Path, bins: int = 10
) -> pd.DataFrame:
    """Reliability of the pooled stock-out probabilities over the warehouse members' rows.

    Each warehouse member scores its latest :data:`RELIABILITY_DAYS` days with the pooled model
    where its data lives (here: in this process) and bins the predictions against what
    happened within the horizon; only the pooled bins are returned, and a bin with fewer rows
    than the board's minimum group size is left out.

    Returns
    -------
    pandas.DataFrame
        ``bin``, ``mean_predicted``, ``observed_rate`` (shares in [0, 1]) and ``count``.
    """
    model, _ = pooled_stock_model(model_dir)
    minimum = current_policy(session).min_group_size
    truth, predicted = [], []
    frames = {id(frame): frame for _, frame in answerer.members.values()}
    for frame in frames.values():
        dates = pd.to_datetime(frame["date"])
        recent = frame.loc[dates >= dates.max() - pd.Timedelta(days=RELIABILITY_DAYS - 1)]
        targets = stock_targets(recent, horizon_days=model.spec.horizon_days)
        known = targets["stockout"].notna()
        truth.append(targets.loc[known, "stockout"].astype(bool))
        predicted.append(model.predict_stock(recent).loc[known, "p_stockout"])
    if not truth or sum(len(t) for t in truth) == 0:
        return pd.DataFrame(columns=["bin", "mean_predicted", "observed_rate", "count"])
    curve = reliability_curve(pd.concat(truth), pd.concat(predicted), bins=bins)
    return curve[curve["count"] >= minimum].reset_index(drop=True)
