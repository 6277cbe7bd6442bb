"""Warehouse stock-risk queries over Flower: the coordinator asks the warehouse's own node.

The coordinator sends Flower query messages (``query.warehouses``: which warehouses do you
answer for; ``query.warehouse_risk``: a :class:`~consortium.forecasts.member_answers.RiskQuery`)
to the member that runs a warehouse; the member's ClientApp answers with aggregates only, or
declines (:mod:`consortium.forecasts.member_answers`). :class:`GridWarehouseAnswerer` implements
the query service's :class:`~consortium.forecasts.warehouse.WarehouseAnswerer` over any
Flower ``Grid`` (the one-machine runner or the deployment runtime).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from flwr.app import ConfigRecord, Message, RecordDict
from flwr.serverapp import Grid

from consortium.forecasts.member_answers import Decline, RiskQuery
from consortium.forecasts.pooled import model_version
from consortium.forecasts.warehouse import WarehouseAnswer

__all__ = [
    "QUERY_RISK",
    "QUERY_WAREHOUSES",
    "GridWarehouseAnswerer",
    "answer_record",
    "query_from_record",
    "warehouses_record",
]

logger = logging.getLogger(__name__)

QUERY_WAREHOUSES = "query.warehouses"
QUERY_RISK = "query.warehouse_risk"
_RECORD = "answer"


def query_from_record(content: RecordDict) -> RiskQuery:
    """Decode the member's side of a ``query.warehouse_risk`` message."""
    values = content.config_records[_RECORD]
    return RiskQuery(
        warehouse_id=str(values["warehouse-id"]),
        horizon_days=int(values["horizon-days"]),  # type: ignore[arg-type]
        min_group_size=int(values["min-group-size"]),  # type: ignore[arg-type]
        model_version=str(values["model-version"]),
    )


def warehouses_record(warehouses: tuple[str, ...]) -> RecordDict:
    """Encode a member's list of warehouses."""
    return RecordDict({_RECORD: ConfigRecord({"warehouses": ",".join(warehouses)})})


def answer_record(answer: WarehouseAnswer | Decline) -> RecordDict:
    """Encode a member's answer or decline."""
    if isinstance(answer, Decline):
        values: dict[str, Any] = {"answered": 0, "reason": answer.reason}
    else:
        values = {
            "answered": 1,
            **{k: v for k, v in asdict(answer).items() if k != "model_version"},
        }
    return RecordDict({_RECORD: ConfigRecord(values)})


def _risk_record(query: RiskQuery) -> RecordDict:
    return RecordDict(
        {
            _RECORD: ConfigRecord(
                {
                    "warehouse-id": query.warehouse_id,
                    "horizon-days": query.horizon_days,
                    "min-group-size": query.min_group_size,
                    "model-version": query.model_version,
                }
            )
        }
    )


class GridWarehouseAnswerer:
    """Asks warehouse members' nodes over a Flower ``Grid`` (one-machine runner or deployment).

    Parameters
    ----------
    grid
        The grid the members' nodes are connected to.
    timeout
        Seconds to wait for an answer (``None``: wait; the one-machine runner answers at once).
    """

    def __init__(self, grid: Grid, *, timeout: float | None = 30.0) -> None:
        self._grid = grid
        self._timeout = timeout
        self.directory: dict[str, int] = {}
        nodes = list(grid.get_node_ids())
        for node_id, values in self._ask(nodes, QUERY_WAREHOUSES, RecordDict()).items():
            for warehouse in str(values.get("warehouses", "")).split(","):
                if warehouse:
                    self.directory[warehouse] = node_id

    def _ask(
        self, node_ids: list[int], message_type: str, content: RecordDict
    ) -> dict[int, Mapping[str, Any]]:
        messages = [Message(content, node_id, message_type) for node_id in node_ids]
        answers: dict[int, Mapping[str, Any]] = {}
        for reply in self._grid.send_and_receive(messages, timeout=self._timeout):
            if reply.has_error():
                logger.warning("node %s: %s", reply.metadata.src_node_id, reply.error.reason)
                continue
            answers[reply.metadata.src_node_id] = dict(reply.content.config_records[_RECORD])
        return answers

    def knows(self, warehouse_id: str) -> bool:
        """Whether some member's node answers for ``warehouse_id``."""
        return warehouse_id in self.directory

    def warehouse_ids(self) -> list[str]:
        """Return the warehouse ids the members' nodes answer for, sorted."""
        return sorted(self.directory)

    def answer(
        self, warehouse_id: str, *, horizon_days: int, model_dir: Path, min_group_size: int
    ) -> WarehouseAnswer | None:
        """Ask the warehouse's node; ``None`` when it declines or does not answer."""
        node_id = self.directory[warehouse_id]
        version = model_version(model_dir)
        query = RiskQuery(warehouse_id, horizon_days, min_group_size, version)
        replies = self._ask([node_id], QUERY_RISK, _risk_record(query))
        values = replies.get(node_id)
        if not values or not int(values.get("answered", 0)):
            reason = values.get("reason", "no answer") if values else "no answer"
            logger.info("warehouse %s declined: %s", warehouse_id, reason)
            return None
        known = {f.name: values[f.name] for f in fields(WarehouseAnswer) if f.name in values}
        return WarehouseAnswer(**known, model_version=version)
