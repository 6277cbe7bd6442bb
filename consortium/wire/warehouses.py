"""The warehouses a buyer can ask about (``GET /v1/warehouses``)."""

from __future__ import annotations

from consortium.wire.envelope import WireModel


class WarehousesOut(WireModel):
    """The warehouse ids the coordinator's warehouse members answer for, sorted."""

    warehouses: list[str]
