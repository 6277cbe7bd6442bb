"""Issue 14, item 12: time comes from the coordinator's clock only, in the client layer too.

The attacks: a treasurer's client passed ``now=`` to :func:`deposit_points` and the deposit was
written at that time (a backdated deposit, landing before a price change or a snapshot); a
cargo owner's client passed a backdated ``now`` that served both as the query's issue time and
as the time the coordinator checked it against, so an expired query was accepted. Now the
deposit takes no time and is timed by the handle's clock, and a query's issue time is checked
against the coordinator's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consortium.client.cargo import buy_forecast, lane_params
from consortium.client.connection import Coordinator, connect, with_query_service
from consortium.client.treasury import deposit_points
from consortium.errors import QueryRejected
from consortium.governance.clock import ManualClock
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.canonical import format_time
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size, load_entries


@dataclass(frozen=True)
class Desk:
    """A coordinator handle on a ManualClock, with a treasurer and a cargo owner registered."""

    handle: Coordinator
    clock: ManualClock
    coordinator: Signer
    treasurer: Signer
    owner: Signer

    def size(self) -> int:
        with self.handle.transaction() as s:
            return ledger_size(s)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    coordinator, treasurer, owner = Signer.generate(), Signer.generate(), Signer.generate()
    handle = connect(f"sqlite:///{tmp_path / 'c.db'}", create_tables=True)
    with handle.transaction() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for key, role in ((treasurer, Role.TREASURER), (owner, Role.CARGO_OWNER)):
            register_key(s, public_key=key.public_key, role=role, signer=coordinator)
    clock = ManualClock(datetime.now(UTC) + timedelta(hours=1))  # after every entry so far
    return Desk(replace(handle, clock=clock), clock, coordinator, treasurer, owner)


def test_a_treasurer_cannot_backdate_a_deposit(desk: Desk) -> None:
    # Prepare: a time between the last entry and the coordinator's clock (append_entry's own
    # order check would let it through).
    backdated = desk.clock.now() - timedelta(minutes=30)
    size = desk.size()
    # Execute / Assert: the client call takes no time at all; nothing is written.
    with pytest.raises(TypeError, match="now"):
        deposit_points(desk.handle, treasurer=desk.treasurer, owner_key_id=desk.owner.key_id,  # type: ignore[call-arg]
                       amount=100, external_ref="INV-1", now=backdated)  # fmt: skip
    assert desk.size() == size


def test_a_deposit_is_timed_by_the_coordinators_clock(desk: Desk) -> None:
    # Execute
    receipt = deposit_points(desk.handle, treasurer=desk.treasurer, amount=100,
                             owner_key_id=desk.owner.key_id, external_ref="INV-2")  # fmt: skip
    # Assert
    with desk.handle.transaction() as s:
        (entry,) = load_entries(s, start=receipt.seq)
    assert entry.time == format_time(desk.clock.now())


def test_a_backdated_query_is_checked_against_the_coordinators_clock(desk: Desk) -> None:
    # Prepare: a funded owner; its client backdates the query by a day.
    deposit_points(desk.handle, treasurer=desk.treasurer, owner_key_id=desk.owner.key_id,
                   amount=100, external_ref="INV-3")  # fmt: skip
    answering = with_query_service(desk.handle, coordinator_key=desk.coordinator)
    size = desk.size()
    params = lane_params(origin="ITMIL", destination="FRPAR", mode="road",
                         departure=desk.clock.now().date(), days=7)  # fmt: skip
    # Execute
    with pytest.raises(QueryRejected) as refused:
        buy_forecast(answering, owner=desk.owner, kind="lane", params=params,
                     max_price_points=50, now=desk.clock.now() - timedelta(days=1))  # fmt: skip
    # Assert: refused as expired by the coordinator's clock, before anything is charged.
    assert refused.value.code == "expired"
    assert desk.size() == size
