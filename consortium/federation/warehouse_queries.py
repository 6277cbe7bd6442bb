"""Warehouse stock-risk queries over Flower: computed by the warehouse's own node.

A paid warehouse query ("stock-out risk at warehouse X within 7 days") must be answered where X's
data lives. The coordinator sends a Flower ``get_properties`` message (the legacy query type that
the ``client_fn`` ClientApp dispatches) to the node of the member that runs X;
that member's ClientApp loads its own stock rows (purpose ``query-answering``) and the pooled
stock-risk model it received at the end of the last federation (kept in its ``home``), runs
:func:`consortium.forecasts.warehouse.answer_stock_query` and returns aggregates only -- or
declines (not its warehouse, too few SKU series, a stale model, or its own policy: node config
``answer-queries = false``). :class:`GridWarehouseAnswerer` implements the query service's
:class:`~consortium.forecasts.warehouse.WarehouseAnswerer` over any Flower ``Grid``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path

from flwr.app import Message
from flwr.common import GetPropertiesIns, Scalar
from flwr.common.constant import MessageTypeLegacy
from flwr.compat.common import recorddict_compat as compat
from flwr.serverapp import Grid

from consortium.data import load_table
from consortium.errors import ConsortiumError
from consortium.forecasts.pooled import model_version, pooled_stock_model
from consortium.forecasts.warehouse import QUERY_PURPOSE, WarehouseAnswer, answer_stock_query

__all__ = ["GridWarehouseAnswerer", "answer_on_member"]

logger = logging.getLogger(__name__)

TASK_WAREHOUSES = "warehouses"
TASK_RISK = "warehouse-risk"


def _stock_file(data_path: Path) -> Path | None:
    from consortium.federation.client_app import data_file  # noqa: PLC0415 (circular)

    try:
        return data_file(data_path, "stock")
    except ConsortiumError:
        return None


def answer_on_member(
    config: Mapping[str, Scalar],
    *,
    member: str,
    data_path: Path,
    home: Path,
    answers_queries: bool,
) -> dict[str, Scalar]:
    """Answer a query message on the member's side (see the module docstring)."""
    task = str(config.get("task", ""))
    stock_file = _stock_file(data_path)
    if task == TASK_WAREHOUSES:
        if stock_file is None or not answers_queries:
            return {"warehouses": ""}
        stock = load_table(stock_file, contract="stock", purpose=QUERY_PURPOSE).frame
        return {"warehouses": ",".join(sorted(stock["warehouse_id"].astype(str).unique()))}
    if task != TASK_RISK:
        return {"answered": 0, "reason": f"unknown task {task!r}"}
    model_dir = home / "models" / "stock"
    if not answers_queries or stock_file is None or not model_dir.exists():
        return {"answered": 0, "reason": "declined"}
    if model_version(model_dir) != str(config.get("model-version", "")):
        return {"answered": 0, "reason": "stale-model"}
    model, version = pooled_stock_model(model_dir)
    stock = load_table(stock_file, contract="stock", purpose=QUERY_PURPOSE).frame
    answer = answer_stock_query(
        model,
        stock,
        warehouse_id=str(config["warehouse-id"]),
        horizon_days=int(config["horizon-days"]),  # type: ignore[arg-type]
        min_group_size=int(config["min-group-size"]),  # type: ignore[arg-type]
    )
    if answer is None:
        return {"answered": 0, "reason": "declined"}
    logger.info("%s answered a risk query for %s", member, answer.warehouse_id)
    return {"answered": 1, **{k: v for k, v in asdict(answer).items() if k != "model_version"}}


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
        for node_id, props in self._ask_all({"task": TASK_WAREHOUSES}).items():
            for warehouse in str(props.get("warehouses", "")).split(","):
                if warehouse:
                    self.directory[warehouse] = node_id

    def _ask(self, node_ids: list[int], config: dict[str, Scalar]) -> dict[int, dict[str, Scalar]]:
        messages = [
            Message(
                compat.getpropertiesins_to_recorddict(GetPropertiesIns(dict(config))),
                node_id,
                MessageTypeLegacy.GET_PROPERTIES,
            )
            for node_id in node_ids
        ]
        answers: dict[int, dict[str, Scalar]] = {}
        for reply in self._grid.send_and_receive(messages, timeout=self._timeout):
            if reply.has_error():
                logger.warning("node %s: %s", reply.metadata.src_node_id, reply.error.reason)
                continue
            res = compat.recorddict_to_getpropertiesres(reply.content)
            answers[reply.metadata.src_node_id] = dict(res.properties)
        return answers

    def _ask_all(self, config: dict[str, Scalar]) -> dict[int, dict[str, Scalar]]:
        return self._ask(list(self._grid.get_node_ids()), config)

    def knows(self, warehouse_id: str) -> bool:
        """Whether some member's node answers for ``warehouse_id``."""
        return warehouse_id in self.directory

    def answer(
        self, warehouse_id: str, *, horizon_days: int, model_dir: Path, min_group_size: int
    ) -> WarehouseAnswer | None:
        """Ask the warehouse's node; ``None`` when it declines or does not answer."""
        node_id = self.directory[warehouse_id]
        version = model_version(model_dir)
        replies = self._ask(
            [node_id],
            {
                "task": TASK_RISK,
                "warehouse-id": warehouse_id,
                "horizon-days": horizon_days,
                "min-group-size": min_group_size,
                "model-version": version,
            },
        )
        props = replies.get(node_id)
        if not props or not int(props.get("answered", 0)):  # type: ignore[arg-type]
            reason = props.get("reason", "no answer") if props else "no answer"
            logger.info("warehouse %s declined: %s", warehouse_id, reason)
            return None
        values = {f.name: props[f.name] for f in fields(WarehouseAnswer) if f.name in props}
        return WarehouseAnswer(**values, model_version=version)  # type: ignore[arg-type]
