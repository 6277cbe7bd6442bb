"""The warehouses a buyer can ask about: the ids the service's warehouse answerer knows.

A client reads them before it signs a warehouse query, so a typo is an ``unknown-warehouse``
error with a "did you mean" (:func:`consortium.cli.lookup.require_warehouse`), never a refusal
after a price was quoted. The paid query itself is ``POST /v1/queries``.
"""

from __future__ import annotations

from fastapi import APIRouter

from consortium.errors import QueryRejected
from consortium.service.deps import State
from consortium.wire.envelope import API_PREFIX
from consortium.wire.warehouses import WarehousesOut

router = APIRouter(prefix=API_PREFIX, tags=["queries"])


@router.get("/warehouses", response_model=WarehousesOut)
def warehouses(state: State) -> WarehousesOut:
    """List the warehouse ids some member answers for (``not-offered`` without warehouses)."""
    service = state.queries
    if service is None or service.answerer is None or service.stock_model_dir is None:
        raise QueryRejected("warehouses", code="not-offered",
                            reason="this coordinator does not offer warehouse queries")  # fmt: skip
    return WarehousesOut(warehouses=service.answerer.warehouse_ids())
