"""The registry of keys and roles; every change is a ledger entry in the same transaction.

It is also the one place that answers "may this key do this?": :func:`require_role`. Every
store (points, membership, governance, policy, paid queries) asks it, and raises the refusal
as its own error type with the code ``not-allowed`` (the ledger itself, below this layer, asks
the same primitive, :func:`consortium.ledger.store.active_key`, for every entry's signer).

Membership changes only through governance: the governance executor (a later issue) calls
:func:`register_key` and :func:`revoke_key` inside the transaction that executes a passed
proposal, signing with the coordinator key. Verifiers rebuild the same registry from the log
(:class:`~consortium.ledger.keyring.Keyring`).

On SQLite a key row, once read, is held in the session until its transaction ends, so the
transaction's later questions about that key (a paid query asks five: the issuer's and the
coordinator's keys, for the message, the settlement, each entry and the tree head) are answered
from the identity map instead of a ``SELECT`` each. SQLite transactions are serialisable (a
snapshot from the first read, and ``BEGIN IMMEDIATE`` keeps every other writer out), so no
revocation can land in between; a revocation inside the transaction changes the held row itself.
On PostgreSQL (read committed) a revocation committed meanwhile must be seen by the next
statement, so rows are not held there.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import QueryContext, Session, SessionTransaction

from consortium.errors import LedgerError, OperationRefused
from consortium.ledger.keyring import Role, registration_payload
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import KeyRow
from consortium.ledger.signing import Signer, key_id_for
from consortium.ledger.store import (
    KeyProblem,
    SignerNotAllowed,
    active_key,
    append_entry,
    ensure_ledger,
    ledger_size,
)

logger = logging.getLogger(__name__)

_HELD_KEYS = "consortium.identity.held_keys"


@event.listens_for(KeyRow, "load")
def _hold_key_row(row: KeyRow, context: QueryContext) -> None:
    """Hold a key row read on SQLite until the transaction ends (see the module docstring)."""
    session = context.session
    if session.get_bind().dialect.name == "sqlite":
        session.info.setdefault(_HELD_KEYS, []).append(row)


@event.listens_for(Session, "after_transaction_end")
def _release_key_rows(session: Session, transaction: SessionTransaction) -> None:
    """Let the held key rows go when the outermost transaction ends."""
    if transaction.parent is None:
        session.info.pop(_HELD_KEYS, None)


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


NOT_ALLOWED = "not-allowed"
"""The code of a refusal by :func:`require_role` unless the caller maps a problem to another."""


def require_role(
    session: Session,
    key_id: str,
    roles: Role | Collection[Role],
    *,
    action: str,
    error: type[OperationRefused] | None = None,
    subject: str | None = None,
    codes: Mapping[KeyProblem, str] | None = None,
) -> KeyRecord:
    """Return the record of ``key_id`` if it is an active key of one of ``roles``; else refuse.

    Parameters
    ----------
    session
        The caller's session.
    key_id
        The key about to act (a signer's ``key_id``, or the key behind an account).
    roles
        The role, or roles, allowed to do ``action``.
    action
        What the key is about to do, for the reason (``"mint points"``).
    error
        The store's own error type (:class:`~consortium.errors.PointsError`, ...), raised as
        ``error(subject, code=..., reason=...)``; ``None`` raises
        :class:`~consortium.ledger.store.SignerNotAllowed` itself.
    subject
        The refusal's subject; default ``key <first 16 hex digits>...``.
    codes
        The code for each :class:`~consortium.ledger.store.KeyProblem`; every problem not in it
        is ``not-allowed``.

    Raises
    ------
    SignerNotAllowed
        If ``error`` is ``None`` and the key is unregistered, revoked or of another role.
    OperationRefused
        ``error`` with code ``not-allowed`` (or the one ``codes`` gives), in the same cases.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.errors import PointsError
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator, stranger = Signer.generate(), Signer.generate()
    >>> with make_session_factory(engine).begin() as session:
    ...     _ = bootstrap_coordinator(session, coordinator=coordinator)
    ...     print(require_role(session, coordinator.key_id, Role.COORDINATOR,
    ...                        action="mint points").role)
    ...     try:
    ...         require_role(session, stranger.key_id, Role.TREASURER, action="deposit points",
    ...                      error=PointsError)
    ...     except PointsError as refused:
    ...         print(refused.code, "|", refused.reason)
    coordinator
    not-allowed | not registered; deposit points needs a treasurer key
    """
    allowed = (roles,) if isinstance(roles, Role) else tuple(roles)
    try:
        row = active_key(session, key_id, roles=allowed, action=action)
    except SignerNotAllowed as exc:
        if error is None:
            raise
        code = (codes or {}).get(exc.problem, NOT_ALLOWED)
        raise error(subject or f"key {key_id[:16]}...", code=code, reason=exc.reason) from exc
    return KeyRecord.of(row)


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


def register_key(
    session: Session,
    *,
    public_key: bytes,
    role: Role,
    signer: Signer,
    moment: datetime | None = None,
) -> KeyRecord:
    """Register a member, cargo-owner, board, treasurer or coordinator key.

    ``moment`` is the entry's time (default now): the time of the governance action it is part of.

    Raises
    ------
    SignerNotAllowed
        If ``signer`` is not an active coordinator key.
    LedgerError
        If the key is already registered.
    """
    require_role(session, signer.key_id, Role.COORDINATOR, action="change the registry")
    if session.get(KeyRow, key_id_for(public_key)) is not None:
        raise LedgerError(f"key {key_id_for(public_key)[:16]}... is already registered")
    return _register(session, public_key=public_key, role=role, signer=signer, moment=moment)


def _register(
    session: Session,
    *,
    public_key: bytes,
    role: Role,
    signer: Signer,
    moment: datetime | None = None,
) -> KeyRecord:
    entry = append_entry(
        session,
        kind=EntryKind.KEY_REGISTERED,
        payload=registration_payload(public_key=public_key, role=role),
        signer=signer,
        moment=moment,
    )  # fmt: skip
    row = KeyRow(
        key_id=key_id_for(public_key), public_key=public_key, role=str(role),
        registered_seq=entry.seq, revoked_seq=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    logger.info("registered %s key %s at entry %d", role, row.key_id[:16], entry.seq)
    return KeyRecord.of(row)


def revoke_key(
    session: Session, *, key_id: str, signer: Signer, moment: datetime | None = None
) -> KeyRecord:
    """Revoke a key; entries after the ``key-revoked`` entry may not be signed by it."""
    require_role(session, signer.key_id, Role.COORDINATOR, action="change the registry")
    row = active_key(session, key_id)
    entry = append_entry(
        session, kind=EntryKind.KEY_REVOKED, payload={"key_id": key_id}, signer=signer,
        moment=moment,
    )  # fmt: skip
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
