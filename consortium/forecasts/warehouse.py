"""Warehouse stock-risk answers, computed where the warehouse's data lives.

A warehouse query ("stock-out risk at warehouse X within 7 days") is answered by X's own node:
it runs the pooled stock-risk model over its own stock rows and sends back aggregates over the
SKU series of its latest date, never a per-SKU figure. It may decline (the warehouse is not
its own, too few SKU series to hide one in the crowd, or its own policy), and a declined query
costs the cargo owner nothing.

:func:`answer_stock_query` is the member-side computation. The coordinator asks through the
:class:`WarehouseAnswerer` protocol; :class:`LocalWarehouseAnswerer` runs the real member-side
function in-process for the one-machine setup, tests and benchmarks (the deployment runtime
carries the same call over a Flower message to the member's SuperNode).

Examples
--------
>>> import pandas as pd
>>> from consortium.models.stock import StockModel, StockSpec, build_stock_network, stock_numeric
>>> from consortium.models.encoding import ScalingStats
>>> days = pd.date_range("2025-01-01", periods=60)
>>> stock = pd.concat([pd.DataFrame({"warehouse_id": "WH-1", "sku_group": g, "date": days,
...     "on_hand_units": 50, "capacity_units": 100, "inbound_units": 5, "outbound_units": 5,
...     "open_orders": 3, "lead_time_days": 2.0}) for g in "ABCDEF"], ignore_index=True)
>>> model = StockModel(spec=StockSpec(), stats=ScalingStats.from_columns(stock_numeric(stock)),
...                    network=build_stock_network(StockSpec()))
>>> answer = answer_stock_query(model, stock, warehouse_id="WH-1", horizon_days=7,
...                             min_group_size=5)
>>> answer.sku_series, answer.as_of
(5, '2025-03-01')
>>> answer_stock_query(model, stock, warehouse_id="WH-1", horizon_days=7,
...                    min_group_size=10) is None
True
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from consortium.data import load_table
from consortium.errors import ConfigError
from consortium.forecasts.pooled import pooled_stock_model
from consortium.models.stock import StockModel

logger = logging.getLogger(__name__)

HISTORY_DAYS = 42
"""Days of history scored per query: the features look back at most 28 + 7 days."""

SKU_ROUNDING = 5
"""The number of SKU series is reported rounded down to a multiple of this."""

QUERY_PURPOSE = "query-answering"
"""The declared purpose under which a member loads its stock to answer queries."""


@dataclass(frozen=True)
class WarehouseAnswer:
    """A warehouse's stock risk within ``horizon_days`` of ``as_of``, over its SKU series.

    ``p_stockout_mean`` is the mean over the SKU series of the probability of a stock-out
    within the horizon (the expected share of series that run out); ``p_stockout_any`` the
    probability that at least one does, if the series were independent. ``sku_series`` is a
    lower bound: the count rounded down to a multiple of :data:`SKU_ROUNDING`, never below the
    minimum group size. ``model_version`` is filled in by the answering side.
    """

    warehouse_id: str
    horizon_days: int
    as_of: str
    sku_series: int
    p_stockout_mean: float
    p_stockout_any: float
    p_overflow_mean: float
    p_overflow_any: float
    model_version: str = ""

    def summary(self) -> dict[str, object]:
        """Return the answer as a ledger-payload-safe mapping (ids, dates and numbers)."""
        return asdict(self)


def _latest_window(rows: pd.DataFrame) -> pd.DataFrame:
    dates = pd.to_datetime(rows["date"])
    cutoff = dates.max() - pd.Timedelta(days=HISTORY_DAYS - 1)
    return rows.loc[dates >= cutoff]


def _series(latest: pd.DataFrame) -> int:
    if "sku_group" not in latest.columns:
        return 1
    return int(latest["sku_group"].astype("object").fillna("").nunique())


def decline_reason(
    model: StockModel,
    stock: pd.DataFrame,
    *,
    warehouse_id: str,
    horizon_days: int,
    min_group_size: int,
) -> str | None:
    """Why the member would decline a query on ``warehouse_id`` (``None``: it would answer).

    The reason names the rule, never the warehouse's own figures (not its SKU count).
    """
    if horizon_days != model.spec.horizon_days:
        return f"it answers only the pooled model's {model.spec.horizon_days}-day horizon"
    rows = stock.loc[stock["warehouse_id"].astype(str) == warehouse_id]
    if rows.empty:
        return "not a warehouse of this member"
    recent = _latest_window(rows)
    dates = pd.to_datetime(recent["date"])
    if _series(recent.loc[dates == dates.max()]) < min_group_size:
        return (
            "it holds fewer SKU series than the board's minimum group size "
            f"({min_group_size}), so an answer would expose single series"
        )
    return None


def answer_stock_query(
    model: StockModel,
    stock: pd.DataFrame,
    *,
    warehouse_id: str,
    horizon_days: int,
    min_group_size: int,
) -> WarehouseAnswer | None:
    """Answer a stock-risk query at the member, or decline (``None``).

    Parameters
    ----------
    model
        The pooled stock-risk model.
    stock
        The member's contract-checked stock rows (``stock.v1``).
    warehouse_id
        The warehouse asked about.
    horizon_days
        Must equal the model's horizon.
    min_group_size
        The board's minimum number of SKU series behind an answer.

    Returns
    -------
    WarehouseAnswer or None
        Aggregates over the SKU series of the warehouse's latest date; ``None`` when the
        warehouse is not in ``stock``, the horizon is not the model's, or the latest date has
        fewer than ``min_group_size`` SKU series.
    """
    reason = decline_reason(model, stock, warehouse_id=warehouse_id, horizon_days=horizon_days,
                            min_group_size=min_group_size)  # fmt: skip
    if reason is not None:
        logger.info("declined %s: %s", warehouse_id, reason)
        return None
    recent = _latest_window(stock.loc[stock["warehouse_id"].astype(str) == warehouse_id])
    dates = pd.to_datetime(recent["date"])
    latest = recent.loc[dates == dates.max()]
    series = _series(latest)
    scores = model.predict_stock(recent).loc[latest.index]
    stockout = scores["p_stockout"].to_numpy(np.float64)
    overflow = scores["p_overflow"].to_numpy(np.float64)
    return WarehouseAnswer(
        warehouse_id=warehouse_id,
        horizon_days=horizon_days,
        as_of=dates.max().date().isoformat(),
        sku_series=max(min_group_size, (series // SKU_ROUNDING) * SKU_ROUNDING),
        p_stockout_mean=round(float(stockout.mean()), 4),
        p_stockout_any=round(float(1.0 - np.prod(1.0 - stockout)), 4),
        p_overflow_mean=round(float(overflow.mean()), 4),
        p_overflow_any=round(float(1.0 - np.prod(1.0 - overflow)), 4),
    )


@runtime_checkable
class WarehouseAnswerer(Protocol):
    """How the coordinator asks a warehouse's own node for a stock-risk answer."""

    def knows(self, warehouse_id: str) -> bool:
        """Whether some member of the consortium operates ``warehouse_id``."""
        ...

    def warehouse_ids(self) -> list[str]:
        """Every warehouse id some member operates, sorted (for a buyer's "did you mean")."""
        ...

    def answer(
        self, warehouse_id: str, *, horizon_days: int, model_dir: Path, min_group_size: int
    ) -> WarehouseAnswer | None:
        """Ask the warehouse's node; ``None`` when it declines."""
        ...


class LocalWarehouseAnswerer:
    """Runs each warehouse member's :func:`answer_stock_query` in this process.

    Parameters
    ----------
    members
        ``warehouse_id -> (member id, that member's stock rows)``.
    declining
        Member ids whose own policy is to decline every query.
    """

    def __init__(
        self,
        members: Mapping[str, tuple[str, pd.DataFrame]],
        *,
        declining: Collection[str] = (),
    ) -> None:
        self.members = dict(members)
        self.declining = frozenset(declining)

    def knows(self, warehouse_id: str) -> bool:
        """Whether ``warehouse_id`` is one of the members' warehouses."""
        return warehouse_id in self.members

    def warehouse_ids(self) -> list[str]:
        """Return the members' warehouse ids, sorted."""
        return sorted(self.members)

    def answer(
        self, warehouse_id: str, *, horizon_days: int, model_dir: Path, min_group_size: int
    ) -> WarehouseAnswer | None:
        """Run the member's computation with the pooled model of ``model_dir``."""
        member, stock = self.members[warehouse_id]
        if member in self.declining:
            logger.info("member %s declines queries", member)
            return None
        model, version = pooled_stock_model(model_dir)
        answer = answer_stock_query(
            model,
            stock,
            warehouse_id=warehouse_id,
            horizon_days=horizon_days,
            min_group_size=min_group_size,
        )
        return None if answer is None else replace(answer, model_version=version)

    def decline_reason(
        self, warehouse_id: str, *, horizon_days: int, model_dir: Path, min_group_size: int
    ) -> str | None:
        """Why the warehouse's node would decline (``None``: it would answer); nothing is run."""
        if warehouse_id not in self.members:
            return "no member of the consortium operates it"
        member, stock = self.members[warehouse_id]
        if member in self.declining:
            return "its operator declines every query"
        model, _ = pooled_stock_model(model_dir)
        return decline_reason(model, stock, warehouse_id=warehouse_id, horizon_days=horizon_days,
                              min_group_size=min_group_size)  # fmt: skip

    @classmethod
    def from_consortium_dir(
        cls, folder: Path, *, declining: Collection[str] = ()
    ) -> LocalWarehouseAnswerer:
        """Load every warehouse member of a synthetic consortium folder (``consortium synth``).

        Each member's ``stock`` file is loaded through its contract for the declared purpose
        ``query-answering``.

        Raises
        ------
        ConfigError
            ``members`` when the folder holds no warehouse member.
        PurposeNotDeclared, ContractViolation
            When a member's file may not be used for answering queries, or breaks its contract.
        """
        root = Path(folder)
        members_dir = root / "members" if (root / "members").is_dir() else root
        found: dict[str, tuple[str, pd.DataFrame]] = {}
        for info_path in sorted(members_dir.glob("*/member.json")):
            info = json.loads(info_path.read_text(encoding="utf-8"))
            if info.get("kind") != "warehouse":
                continue
            table = load_table(
                info_path.parent / str(info["file"]), contract="stock", purpose=QUERY_PURPOSE
            )
            for warehouse_id in table.frame["warehouse_id"].astype(str).unique():
                found[warehouse_id] = (str(info["member_id"]), table.frame)
        if not found:
            raise ConfigError("members", f"{members_dir} holds no warehouse member")
        return cls(found, declining=declining)
