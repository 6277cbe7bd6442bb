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

from consortium.forecasts.pooled import pooled_stock_model
from consortium.forecasts.warehouse import LocalWarehouseAnswerer
from consortium.policy.store import current_policy

OFFER_COLUMNS = ["warehouse", "can_answer", "why_not"]


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
