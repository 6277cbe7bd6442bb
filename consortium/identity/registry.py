"""The registry of keys and roles; every change is a ledger entry in the same transaction.

Membership changes only through governance: the governance executor (a later issue) calls
:func:`register_key` and :func:`revoke_key` inside the transaction that executes a passed
proposal, signing with the coordinator key. Verifiers rebuild the same registry from the log
(:class:`~consortium.ledger.keyring.Keyring`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import LedgerError
from consortium.ledger.keyring import KEY_REGISTERED, KEY_REVOKED, Role, registration_payload
from consortium.ledger.models import KeyRow
from consortium.ledger.signing import Signer, key_id_for
from consortium.ledger.store import (
    SignerNotAllowed,
    active_key,
    append_entry,
    ensure_ledger,
    ledger_size,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyRecord:
    """A registry row as a value."""

    key_id: str
    public_key: bytes
    role: Role
    registered_seq: int
    revoked_seq: int | None

    @classmethod
    def of(cls, row: KeyRow) -> KeyRecord:
        """Copy an ORM row."""
        return cls(
            row.key_id, bytes(row.public_key), Role(row.role), row.registered_seq, row.revoked_seq
        )


def _require_coordinator(session: Session, signer: Signer) -> None:
    row = active_key(session, signer.key_id)
    if row.role != Role.COORDINATOR:
        raise SignerNotAllowed(signer.key_id, f"role {row.role} cannot change the registry")


def bootstrap_coordinator(session: Session, *, coordinator: Signer) -> KeyRecord:
    """Start a new ledger: entry 0 registers the coordinator key, signed by itself.

    Raises
    ------
    LedgerError
        If the ledger already has entries.
    """
    ensure_ledger(session)
    if ledger_size(session):
        raise LedgerError("ledger already started; the coordinator key is registered")
    return _register(
        session, public_key=coordinator.public_key, role=Role.COORDINATOR, signer=coordinator
    )


def register_key(session: Session, *, public_key: bytes, role: Role, signer: Signer) -> KeyRecord:
    """Register a member, cargo-owner, board, treasurer or coordinator key.

    Raises
    ------
    SignerNotAllowed
        If ``signer`` is not an active coordinator key.
    LedgerError
        If the key is already registered.
    """
    _require_coordinator(session, signer)
    if session.get(KeyRow, key_id_for(public_key)) is not None:
        raise LedgerError(f"key {key_id_for(public_key)[:16]}... is already registered")
    return _register(session, public_key=public_key, role=role, signer=signer)


def _register(session: Session, *, public_key: bytes, role: Role, signer: Signer) -> KeyRecord:
    entry = append_entry(
        session,
        kind=KEY_REGISTERED,
        payload=registration_payload(public_key=public_key, role=role),
        signer=signer,
    )  # fmt: skip
    row = KeyRow(
        key_id=key_id_for(public_key), public_key=public_key, role=str(role),
        registered_seq=entry.seq, revoked_seq=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    logger.info("registered %s key %s at entry %d", role, row.key_id[:16], entry.seq)
    return KeyRecord.of(row)


def revoke_key(session: Session, *, key_id: str, signer: Signer) -> KeyRecord:
    """Revoke a key; entries after the ``key-revoked`` entry may not be signed by it."""
    _require_coordinator(session, signer)
    row = active_key(session, key_id)
    entry = append_entry(session, kind=KEY_REVOKED, payload={"key_id": key_id}, signer=signer)
    row.revoked_seq = entry.seq
    session.flush()
    logger.info("revoked key %s at entry %d", key_id[:16], entry.seq)
    return KeyRecord.of(row)


def get_key(session: Session, key_id: str) -> KeyRecord | None:
    """Return the registry record of ``key_id``, if any."""
    row = session.get(KeyRow, key_id)
    return None if row is None else KeyRecord.of(row)


def list_keys(
    session: Session, *, role: Role | None = None, active: bool = True
) -> list[KeyRecord]:
    """List registered keys, optionally of one role; only active ones unless ``active=False``."""
    query = select(KeyRow).order_by(KeyRow.registered_seq)
    if role is not None:
        query = query.where(KeyRow.role == str(role))
    if active:
        query = query.where(KeyRow.revoked_seq.is_(None))
    return [KeyRecord.of(row) for row in session.execute(query).scalars()]
