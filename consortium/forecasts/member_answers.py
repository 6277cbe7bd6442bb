"""A warehouse member answers a stock-risk query on its own machine, or declines.

A paid warehouse query ("stock-out risk at warehouse X within 7 days") must be answered where
X's data lives. The member loads its own stock rows (purpose ``query-answering``) and the pooled
stock-risk model it received at the end of the last federation (kept in its ``home``), runs
:func:`~consortium.forecasts.warehouse.answer_stock_query` and returns aggregates only -- or
declines: not its warehouse, too few SKU series, a stale model, or its own policy (node config
``answer-queries = false``). The transport (a Flower query message) is
:mod:`consortium.federation.warehouse_grid`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from consortium.data import load_table
from consortium.data.member_files import member_data_file
from consortium.errors import ConsortiumError
from consortium.forecasts.pooled import model_version, pooled_stock_model
from consortium.forecasts.warehouse import QUERY_PURPOSE, WarehouseAnswer, answer_stock_query

__all__ = ["Decline", "RiskQuery", "StockMember", "answer_risk_query", "warehouses_of"]

logger = logging.getLogger(__name__)

STOCK_CONTRACT = "stock"


@dataclass(frozen=True)
class RiskQuery:
    """What the coordinator asks a warehouse's node."""

    warehouse_id: str
    horizon_days: int
    min_group_size: int
    model_version: str


@dataclass(frozen=True)
class Decline:
    """Why a member did not answer (``declined``, ``stale-model``)."""

    reason: str


@dataclass(frozen=True)
class StockMember:
    """The member's side of a warehouse query: its data, its home, its own policy."""

    member: str
    data_path: Path
    home: Path
    answers_queries: bool

    def stock_file(self) -> Path | None:
        """Return the member's stock file, or ``None`` when it has none."""
        try:
            return member_data_file(self.data_path, contract=STOCK_CONTRACT)
        except ConsortiumError:
            return None


def warehouses_of(member: StockMember) -> tuple[str, ...]:
    """Return the warehouse ids this member answers for (none when it does not answer)."""
    stock_file = member.stock_file()
    if stock_file is None or not member.answers_queries:
        return ()
    stock = load_table(stock_file, contract=STOCK_CONTRACT, purpose=QUERY_PURPOSE).frame
    return tuple(sorted(stock["warehouse_id"].astype(str).unique()))


def answer_risk_query(member: StockMember, query: RiskQuery) -> WarehouseAnswer | Decline:
    """Answer ``query`` from the member's own rows and pooled model, or decline."""
    stock_file = member.stock_file()
    model_dir = member.home / "models" / "stock"
    if not member.answers_queries or stock_file is None or not model_dir.exists():
        return Decline("declined")
    if model_version(model_dir) != query.model_version:
        return Decline("stale-model")
    model, _version = pooled_stock_model(model_dir)
    stock = load_table(stock_file, contract=STOCK_CONTRACT, purpose=QUERY_PURPOSE).frame
    answer = answer_stock_query(
        model,
        stock,
        warehouse_id=query.warehouse_id,
        horizon_days=query.horizon_days,
        min_group_size=query.min_group_size,
    )
    if answer is None:
        return Decline("declined")
    logger.info("%s answered a risk query for %s", member.member, answer.warehouse_id)
    return answer
