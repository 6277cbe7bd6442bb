"""ORM tables of the ledger: entries, the single head row that orders appends, tree heads, keys."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consortium.db import Base

HEAD_ROW_ID = 1


class EntryRow(Base):
    """One ledger entry; ``seq`` is the primary key, so a duplicate can never commit."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(27))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (CheckConstraint("seq >= 0", name="ck_ledger_entries_seq"),)

    def __repr__(self) -> str:
        return f"EntryRow(seq={self.seq}, kind={self.kind!r}, actor={self.actor[:12]!r})"


class HeadRow(Base):
    """The single row holding the log size; appenders lock it by updating it."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint(f"id = {HEAD_ROW_ID}", name="ck_ledger_head_single"),
        CheckConstraint("size >= 0", name="ck_ledger_head_size"),
    )

    def __repr__(self) -> str:
        return f"HeadRow(size={self.size})"


class CheckpointRow(Base):
    """A signed tree head as published (its signed-note text)."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"CheckpointRow(id={self.id}, size={self.size})"


class KeyRow(Base):
    """The registry: a key id, its public key and role, and the entries that changed it."""

    __tablename__ = "identity_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    role: Mapped[str] = mapped_column(String(32))
    registered_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))
    revoked_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))

    __table_args__ = (Index("ix_identity_keys_role", "role"),)

    def __repr__(self) -> str:
        return f"KeyRow(key_id={self.key_id[:12]!r}, role={self.role!r})"


class RequestNonceRow(Base):
    """Every nonce of a signed request the coordinator countersigned: a request runs once.

    Written in the transaction of the entry it authorised (:func:`consortium.ledger.store.
    append_entry`); the primary key refuses a replay even from a concurrent twin.
    """

    __tablename__ = "ledger_request_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_key_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))

    def __repr__(self) -> str:
        return f"RequestNonceRow(nonce={self.nonce[:12]!r}, seq={self.seq})"
