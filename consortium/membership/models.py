"""ORM table and value type of the member roster.

``membership_members`` has one row per member id ever admitted. A member id is never reused:
after a removal the row stays with ``status = 'removed'`` (its ledger history must stay
unambiguous), while the member's keys are revoked and its off-ledger details erased.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consortium.db import Base
from consortium.ledger import models as _ledger_models  # noqa: F401  (ledger tables first)


class MemberStatus(StrEnum):
    """Whether a member may take part."""

    ACTIVE = "active"
    REMOVED = "removed"


class MemberRow(Base):
    """One member: its id, its registered key, and the ledger entries that changed it."""

    __tablename__ = "membership_members"

    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("identity_keys.key_id"), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), index=True)
    admitted_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))
    admitted_by: Mapped[str | None] = mapped_column(String(128))
    joined_round: Mapped[str] = mapped_column(Text, default="{}")
    exit_requested_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))
    removed_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))
    removed_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        CheckConstraint("status IN ('active', 'removed')", name="ck_membership_members_status"),
        CheckConstraint(
            "(status = 'removed') = (removed_seq IS NOT NULL)",
            name="ck_membership_members_removed",
        ),
    )

    def __repr__(self) -> str:
        return f"MemberRow(member={self.member!r}, status={self.status!r})"


@dataclass(frozen=True)
class MemberRecord:
    """A member as a value.

    Attributes
    ----------
    member : str
        The member id (``meridian-line``); its point account is ``member:<member>``.
    key_id : str
        Its registered Ed25519 key (revoked once removed).
    status : str
        ``active`` or ``removed``.
    admitted_seq : int
        Ledger entry ``member-admitted``.
    removed_seq : int or None
        Ledger entry ``member-removed``.
    role : str
        ``member`` or ``board``.
    joined_round : Mapping[str, int]
        Per model, the last round completed before the member was admitted (``0``: none). To
        retrain a model without this member, resume from that round's checkpoint (``0``: from
        scratch); a model absent here had no round yet when it joined.
    exit_requested_seq : int or None
        Ledger entry ``member-exit-requested`` if the member asked to leave.
    admitted_by, removed_by : str or None
        ``proposal:<id>`` when a passed proposal did it; ``founding`` or ``exit`` otherwise.
    """

    member: str
    key_id: str
    status: str
    admitted_seq: int
    removed_seq: int | None
    role: str = "member"
    joined_round: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    exit_requested_seq: int | None = None
    admitted_by: str | None = None
    removed_by: str | None = None

    @property
    def account(self) -> str:
        """The member's point account."""
        return f"member:{self.member}"

    @property
    def active(self) -> bool:
        """Whether the member may still take part."""
        return self.status == MemberStatus.ACTIVE

    def active_at(self, seq: int) -> bool:
        """Whether the member was active just before ledger entry ``seq``."""
        return self.admitted_seq < seq and (self.removed_seq is None or self.removed_seq >= seq)

    @classmethod
    def of(cls, row: MemberRow) -> MemberRecord:
        """Copy an ORM row."""
        rounds = {str(k): int(v) for k, v in json.loads(row.joined_round or "{}").items()}
        return cls(
            member=row.member, key_id=row.key_id, status=row.status,
            admitted_seq=row.admitted_seq, removed_seq=row.removed_seq, role=row.role,
            joined_round=MappingProxyType(rounds), exit_requested_seq=row.exit_requested_seq,
            admitted_by=row.admitted_by, removed_by=row.removed_by,
        )  # fmt: skip
