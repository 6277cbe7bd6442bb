"""What a transaction remembers between its ledger reads: never more than the store would say.

An append takes the previous entry's time from the transaction's own last append, and on
SQLite a key row read once is held until the transaction ends (both to spare statements on the
paid-query path); a rolled-back append or a revocation must still be seen at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import EntryOutOfOrder, PointsError
from consortium.identity.registry import register_key, require_role, revoke_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry

Factory = sessionmaker[Session]
T0 = datetime.now(UTC) + timedelta(hours=1)  # after the genesis entry of every test ledger


def _round(s: Session, signer: Signer, n: int, seconds: int) -> int:
    return append_entry(s, kind="round-closed", payload={"round": n}, signer=signer,
                        moment=T0 + timedelta(seconds=seconds)).seq  # fmt: skip


def test_time_order_ignores_a_rolled_back_append(factory: Factory, coordinator: Signer) -> None:
    # Execute: entry 1 at 10 s; entry 2 at 30 s rolled back; entry 2 again at 20 s
    with factory.begin() as s:
        _round(s, coordinator, 1, 10)
        nested = s.begin_nested()
        _round(s, coordinator, 2, 30)
        nested.rollback()
        kept = _round(s, coordinator, 3, 20)
        with pytest.raises(EntryOutOfOrder) as same_transaction, s.begin_nested():
            _round(s, coordinator, 4, 15)  # before entry 2, known from this transaction
    with pytest.raises(EntryOutOfOrder) as next_transaction, factory.begin() as s:
        _round(s, coordinator, 4, 15)  # before entry 2, read from the store
    # Assert
    assert kept == 2
    assert same_transaction.value.seq == next_transaction.value.seq == 3


@contextmanager
def _key_reads(engine: Engine) -> Iterator[list[str]]:
    reads: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_: object) -> None:
        if statement.startswith("SELECT") and "FROM identity_keys" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_key_rows_are_read_once_per_transaction_on_sqlite_and_revocation_is_seen(
    factory: Factory, engine: Engine, coordinator: Signer
) -> None:
    owner = Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
    session = factory()
    # Execute: three questions about one key; then a revocation inside the same transaction
    with _key_reads(engine) as reads, session.begin():
        for _ in range(3):
            require_role(session, owner.key_id, Role.CARGO_OWNER, action="pay")
        revoke_key(session, key_id=owner.key_id, signer=coordinator)
        with pytest.raises(PointsError) as revoked_inside:
            require_role(session, owner.key_id, Role.CARGO_OWNER, action="pay", error=PointsError)
    # Assert: one read on SQLite (held), one per question on PostgreSQL (read committed)
    held = engine.dialect.name == "sqlite"
    owner_reads = [r for r in reads if "identity_keys.key_id = " in r]
    assert len(owner_reads) >= 1
    assert (len(reads) <= 2) if held else (len(reads) >= 4)
    assert "revoked at entry" in revoked_inside.value.reason


def test_held_key_rows_are_released_when_the_transaction_ends(
    factory: Factory, coordinator: Signer
) -> None:
    owner = Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
    session = factory()  # one session, two transactions (expire_on_commit=False)
    with session.begin():
        require_role(session, owner.key_id, Role.CARGO_OWNER, action="pay")
    # Execute: another transaction revokes the key in between
    with factory.begin() as s:
        revoke_key(s, key_id=owner.key_id, signer=coordinator)
    with session.begin(), pytest.raises(PointsError) as refused:
        require_role(session, owner.key_id, Role.CARGO_OWNER, action="pay", error=PointsError)
    # Assert
    assert "revoked at entry" in refused.value.reason
