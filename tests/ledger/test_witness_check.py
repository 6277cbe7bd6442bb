"""A member's routine witness check against the stores: heads, consistency, its own entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.errors import ChainBroken, VerificationError
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.canonical import parse_time
from consortium.ledger.entry import sign_entry
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import EntryRow, HeadRow
from consortium.ledger.requests import Countersigned, payload_with_request, sign_request
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, ledger_size, publish_checkpoint
from consortium.ledger.witness import Witness, pinned_witness
from consortium.ledger.witness_check import witness_once
from consortium.ledger.witness_receipts import Receipt, ReceiptBook
from consortium.ledger.witness_sources import StoreHeadSource

Factory = sessionmaker[Session]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def member() -> Signer:
    return Signer.generate()


@pytest.fixture
def ledger(sqlite_engine: Engine, coordinator: Signer, member: Signer) -> Factory:
    """A ledger with a coordinator, a registered member and a published head."""
    factory = make_session_factory(sqlite_engine)
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        publish_checkpoint(s, signer=coordinator)
    return factory


def _vote(s: Session, coordinator: Signer, member: Signer, proposal: str) -> Receipt:
    """The member's vote, signed on its machine and countersigned; return the member's receipt."""
    body = {"proposal_id": proposal, "support": "for"}
    request = sign_request(action="vote", body=body, signer=member, now=datetime.now(UTC))
    entry = append_entry(
        s, kind=EntryKind.VOTE_CAST, payload=body, signer=Countersigned(coordinator, request)
    )
    return Receipt(seq=entry.seq, nonce=request.nonce, action="vote")


def _grow(s: Session, coordinator: Signer, rounds: range) -> None:
    for r in rounds:
        append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)


def _rewrite(s: Session, coordinator: Signer, *, seq: int, payload: dict[str, object]) -> None:
    """The coordinator re-signs entry ``seq`` with another payload, in place (a real rewrite)."""
    old = s.get(EntryRow, seq)
    assert old is not None
    forged = sign_entry(seq=seq, moment=parse_time(old.time), kind=old.kind, payload=payload,
                        signer=coordinator)  # fmt: skip
    s.execute(update(EntryRow).where(EntryRow.seq == seq).values(
        payload=forged.payload.decode(), signature=forged.signature,
        leaf_hash=forged.leaf_hash()))  # fmt: skip


def _witness(s: Session, tmp_path: Path, member: Signer, *, pin: str | None = None):  # type: ignore[no-untyped-def]
    source = StoreHeadSource(s)
    witness = pinned_witness(tmp_path / "state", served_key=source.coordinator_key(), pin=pin)
    book = ReceiptBook(tmp_path / "state" / "receipts.jsonl")
    return witness_once(source, witness=witness, member_key=member.public_key, receipts=book)


def test_routine_check_covers_new_own_entries_and_receipts(
    ledger: Factory, coordinator: Signer, member: Signer, tmp_path: Path
) -> None:
    # Prepare: first check pins the key; then the member votes twice among other entries
    with ledger.begin() as s:
        first = _witness(s, tmp_path, member, pin=coordinator.key_id[:16])
    book = ReceiptBook(tmp_path / "state" / "receipts.jsonl")
    with ledger.begin() as s:
        _grow(s, coordinator, range(3))
        book.record(_vote(s, coordinator, member, "p-1"))
        _grow(s, coordinator, range(3, 6))
        book.record(_vote(s, coordinator, member, "p-2"))
        publish_checkpoint(s, signer=coordinator)
        size = ledger_size(s)
    # Execute
    with ledger.begin() as s:
        report = _witness(s, tmp_path, member)
    # Assert
    assert (first.old_size, first.size, first.own_entries) == (None, 2, 0)
    assert (report.old_size, report.size) == (2, size)
    assert (report.own_entries, report.receipts_confirmed, report.receipts_pending) == (2, 2, 0)
    assert 0 < report.consistency_hashes <= size.bit_length() + 1
    assert book.pending() == []
    assert [
        h.size
        for h in Witness(
            tmp_path / "state" / "witness.jsonl", coordinator_key=coordinator.public_key
        ).heads()
    ] == [2, size]


def test_next_check_detects_rewritten_history(
    ledger: Factory, coordinator: Signer, member: Signer, tmp_path: Path
) -> None:
    # Prepare: the member witnesses its vote; the coordinator then rewrites it in the database
    with ledger.begin() as s:
        _grow(s, coordinator, range(3))
        vote = _vote(s, coordinator, member, "p-1")
        publish_checkpoint(s, signer=coordinator)
        _witness(s, tmp_path, member, pin=coordinator.key_id)
    with ledger.begin() as s:  # the member's vote now says "against"
        _rewrite(s, coordinator, seq=vote.seq, payload={"proposal_id": "p-1", "support": "against"})
        _grow(s, coordinator, range(3, 5))
        publish_checkpoint(s, signer=coordinator)
    # Execute / Assert: the consistency proof fails and the new head is not kept
    with ledger.begin() as s, pytest.raises(ChainBroken):
        _witness(s, tmp_path, member)
    kept = Witness(tmp_path / "state" / "witness.jsonl", coordinator_key=coordinator.public_key)
    assert [h.size for h in kept.heads()] == [vote.seq + 1]


def test_check_detects_forged_request_in_members_name(
    ledger: Factory, coordinator: Signer, member: Signer, tmp_path: Path
) -> None:
    # Prepare: the coordinator writes, straight into its database, a vote "by" the member
    with ledger.begin() as s:
        _witness(s, tmp_path, member, pin=coordinator.key_id)
    impostor = Signer.generate()
    body = {"proposal_id": "p-9", "support": "against"}
    request = sign_request(action="vote", body=body, signer=impostor, now=datetime.now(UTC))
    forged_request = type(request)(request.action, member.key_id, request.issued_at,
                                   request.nonce, request.body, request.signature)  # fmt: skip
    with ledger.begin() as s:
        seq = ledger_size(s)
        forged = sign_entry(seq=seq, moment=datetime.now(UTC), kind=EntryKind.VOTE_CAST,
                            payload=payload_with_request(body, forged_request),
                            signer=coordinator)  # fmt: skip
        s.add(EntryRow(seq=seq, time=forged.time, kind=forged.kind,
                       payload=forged.payload.decode(), actor=forged.actor,
                       signature=forged.signature, leaf_hash=forged.leaf_hash()))  # fmt: skip
        s.execute(update(HeadRow).values(size=seq + 1))
        publish_checkpoint(s, signer=coordinator)
    # Execute / Assert
    with ledger.begin() as s, pytest.raises(VerificationError, match="did not sign") as info:
        _witness(s, tmp_path, member)
    assert info.value.index == seq


def test_receipt_detects_request_replaced_before_any_head(
    ledger: Factory, coordinator: Signer, member: Signer, tmp_path: Path
) -> None:
    # Prepare: the member's vote is acknowledged at a seq, then swapped for another entry there
    with ledger.begin() as s:
        _witness(s, tmp_path, member, pin=coordinator.key_id)
    book = ReceiptBook(tmp_path / "state" / "receipts.jsonl")
    with ledger.begin() as s:
        receipt = _vote(s, coordinator, member, "p-1")
        book.record(receipt)
        _rewrite(s, coordinator, seq=receipt.seq, payload={"round": 7})
        publish_checkpoint(s, signer=coordinator)
    # Execute / Assert: no head covered it before, so only the receipt tells
    with ledger.begin() as s, pytest.raises(VerificationError, match="not there"):
        _witness(s, tmp_path, member)
    assert [r.seq for r in book.pending()] == [receipt.seq]


def test_pin_refuses_a_service_under_another_key(
    ledger: Factory, coordinator: Signer, member: Signer, tmp_path: Path
) -> None:
    other = Signer.generate()
    with ledger.begin() as s, pytest.raises(VerificationError, match="not the pinned"):
        _witness(s, tmp_path, member, pin=other.key_id)
    with ledger.begin() as s, pytest.raises(VerificationError, match="pass --pin"):
        _witness(s, tmp_path, member)
    with ledger.begin() as s:
        _witness(s, tmp_path, member, pin=coordinator.key_id[:20])
    with pytest.raises(VerificationError, match="differs"):
        pinned_witness(tmp_path / "state", served_key=coordinator.public_key, pin=other.key_id)
