"""What a cargo owner does: buy a lane or warehouse forecast with points, and read its balance.

The query is built and signed with the owner's key here, on the owner's side; the coordinator
checks it, prices it with the fee in force, answers from the pooled model (or asks the
warehouse's own node), debits the owner, splits the fee and records it all in one transaction.
A refused query costs nothing and writes nothing.

Examples
--------
>>> from datetime import date
>>> lane_params(origin=" itmil", destination="frpar ", mode="road",
...             departure=date(2026, 3, 9), days=7)["departure_to"]
'2026-03-16T00:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from consortium.client.connection import Coordinator
from consortium.client.remote import RemoteCoordinator
from consortium.errors import ConfigError
from consortium.forecasts.messages import new_query, sign_query
from consortium.ledger.signing import Signer
from consortium.points.rules import cargo_account
from consortium.points.store import balance
from consortium.wire.warehouses import WarehousesOut

if TYPE_CHECKING:  # the service imports torch: loaded when a query is answered
    from consortium.forecasts.service import PaidAnswer

__all__ = [
    "PaidAnswer",
    "Purchase",
    "buy_forecast",
    "cargo_balance",
    "known_warehouses",
    "lane_params",
    "warehouse_params",
]


@dataclass(frozen=True)
class Purchase:
    """A bought forecast: the paid answer (fee, split, ledger entries) and the balance left."""

    paid: PaidAnswer
    balance_left: int


def lane_params(
    *, origin: str, destination: str, mode: str, departure: date, days: int
) -> dict[str, object]:
    """Return the parameters of a ``lane`` query: the lane and a departure window (UTC).

    Port codes are trimmed and upper-cased; the window starts at midnight UTC of ``departure``
    and lasts ``days`` days.
    """
    start = datetime.combine(departure, time(0), tzinfo=UTC)
    return {
        "origin": origin.strip().upper(),
        "destination": destination.strip().upper(),
        "mode": mode,
        "departure_from": start.isoformat(),
        "departure_to": (start + timedelta(days=int(days))).isoformat(),
    }


def warehouse_params(*, warehouse_id: str, horizon_days: int) -> dict[str, object]:
    """Return the parameters of a ``warehouse`` query (the stock-out risk over a horizon).

    Examples
    --------
    >>> warehouse_params(warehouse_id=" WH-NLRTM-01", horizon_days=7)
    {'warehouse_id': 'WH-NLRTM-01', 'horizon_days': 7}
    """
    return {"warehouse_id": str(warehouse_id).strip(), "horizon_days": int(horizon_days)}


def buy_forecast(
    coordinator: Coordinator,
    *,
    owner: Signer,
    kind: str,
    params: Mapping[str, object],
    max_price_points: int,
    now: datetime,
) -> Purchase:
    """Sign a ``kind`` query with the owner's key and have the coordinator answer it.

    Parameters
    ----------
    coordinator
        The coordinator handle; it must answer paid queries
        (:func:`~consortium.client.connection.with_query_service`).
    owner
        The cargo owner's registered key; it signs the query and pays.
    kind, params
        ``lane`` (:func:`lane_params`) or ``warehouse`` (:func:`warehouse_params`).
    max_price_points
        The most the owner agrees to pay.
    now
        When the owner issues the query (its own clock; the time is signed into the query).
        The coordinator checks it against its own clock (the handle's ``clock``): a query
        issued too long ago (``expired``) or too far ahead (``issued-in-future``) is refused.

    Raises
    ------
    ConfigError
        ``query_service`` if the handle answers no paid queries.
    QueryRejected, InsufficientPoints, ModelError
        If the query is refused (nothing is charged or written).
    """
    from consortium.forecasts.service import answer_query  # noqa: PLC0415  (imports torch)

    service = coordinator.service
    if service is None:
        raise ConfigError("query_service", "this coordinator handle answers no paid queries")
    query = new_query(
        kind=kind, params=params, issuer=owner, max_price_points=max_price_points, now=now
    )
    with coordinator.transaction() as session:
        paid = answer_query(session, query=query, signature=sign_query(query, signer=owner),
                            service=service, now=coordinator.clock.now())  # fmt: skip
        return Purchase(paid=paid, balance_left=balance(session, paid.payer))


def cargo_balance(coordinator: Coordinator, *, owner: Signer) -> int:
    """Return the points the cargo owner holding ``owner`` has left."""
    with coordinator.transaction() as session:
        return balance(session, cargo_account(owner.key_id))


def known_warehouses(remote: RemoteCoordinator) -> list[str]:
    """Return the warehouse ids the coordinator service's warehouse members answer for.

    Raises
    ------
    ServiceRefused
        ``not-offered`` when the service answers no warehouse queries.
    """
    return remote.get("/warehouses", WarehousesOut).warehouses
