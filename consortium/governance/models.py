"""ORM tables and values of governance: proposals (with their running tally) and votes.

Free text (titles, descriptions, a feature request's details, a removal's reason, a vote's
comment) lives only here, off-ledger; the ledger carries its SHA-256. Times are canonical UTC
strings (:func:`consortium.ledger.canonical.format_time`), the same on SQLite and PostgreSQL and
ordered like the instants they name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consortium.db import Base
from consortium.governance.rules import ProposalState, Support, Tally, Timeline, state_of
from consortium.ledger import models as _ledger_models  # noqa: F401  (ledger tables first)
from consortium.ledger.canonical import parse_time

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only
TIME = String(27)


class ProposalRow(Base):
    """One proposal: what it changes, its frozen voting parameters, snapshot and tally."""

    __tablename__ = "governance_proposals"

    proposal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    proposer: Mapped[str] = mapped_column(String(64))
    proposer_key_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    message_sha256: Mapped[str] = mapped_column(String(64))
    created_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), unique=True)
    created_at: Mapped[str] = mapped_column(TIME)
    vote_start: Mapped[str] = mapped_column(TIME)
    vote_end: Mapped[str] = mapped_column(TIME)
    quorum_bps: Mapped[int] = mapped_column(Integer)
    vote_power_cap_bps: Mapped[int] = mapped_column(Integer)
    late_quorum_extension_s: Mapped[int] = mapped_column(Integer)
    timelock_s: Mapped[int] = mapped_column(Integer)
    snapshot_seq: Mapped[int | None] = mapped_column(Integer)
    total_power: Mapped[int | None] = mapped_column(BigInteger)
    for_power: Mapped[int] = mapped_column(BigInteger, default=0)
    against_power: Mapped[int] = mapped_column(BigInteger, default=0)
    abstain_power: Mapped[int] = mapped_column(BigInteger, default=0)
    quorum_reached_at: Mapped[str | None] = mapped_column(TIME)
    eta: Mapped[str | None] = mapped_column(TIME)
    queued_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))
    executed_at: Mapped[str | None] = mapped_column(TIME)
    executed_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))
    canceled_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))

    __table_args__ = (
        CheckConstraint(
            "for_power >= 0 AND against_power >= 0 AND abstain_power >= 0",
            name="ck_governance_proposals_tally",
        ),
        CheckConstraint("total_power IS NULL OR total_power >= 0", name="ck_governance_total"),
        CheckConstraint("snapshot_seq IS NULL OR snapshot_seq >= 0", name="ck_governance_snap"),
    )

    def __repr__(self) -> str:
        return f"ProposalRow(proposal_id={self.proposal_id!r}, kind={self.kind!r})"


class VoteRow(Base):
    """One member's vote on one proposal; the unique constraint refuses a second one."""

    __tablename__ = "governance_votes"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("governance_proposals.proposal_id"))
    member: Mapped[str] = mapped_column(String(64))
    voter_key_id: Mapped[str] = mapped_column(String(64))
    support: Mapped[str] = mapped_column(String(8))
    power: Mapped[int] = mapped_column(BigInteger)
    snapshot_seq: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), unique=True)
    cast_at: Mapped[str] = mapped_column(TIME)
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("proposal_id", "member", name="uq_governance_votes_once"),
        CheckConstraint("support IN ('for', 'against', 'abstain')", name="ck_governance_support"),
        CheckConstraint("power > 0", name="ck_governance_votes_power"),
    )

    def __repr__(self) -> str:
        return f"VoteRow(proposal_id={self.proposal_id!r}, member={self.member!r})"


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


@dataclass(frozen=True)
class ProposalRecord:
    """A proposal as a value; :meth:`state` gives its lifecycle state at any time.

    ``snapshot_seq`` and ``total_power`` are final once ``snapshot_fixed`` (the first vote or
    queueing records them); before that they are what the ledger implies so far.
    """

    proposal_id: str
    kind: str
    proposer: str
    params: Mapping[str, object] = field(hash=False)
    title: str
    description: str
    message_sha256: str
    created_seq: int
    created_at: datetime
    timeline: Timeline
    vote_power_cap_bps: int
    timelock_s: int
    snapshot_seq: int
    snapshot_fixed: bool
    total_power: int
    tally: Tally
    queued_seq: int | None
    executed_seq: int | None
    canceled_seq: int | None

    @property
    def vote_start(self) -> datetime:
        """Voting opens just after this instant; the snapshot is taken here."""
        return self.timeline.vote_start

    @property
    def deadline(self) -> datetime:
        """The last instant a vote is accepted (late-quorum extension included)."""
        return self.timeline.deadline()

    @property
    def eta(self) -> datetime | None:
        """When a queued proposal becomes executable."""
        return self.timeline.eta

    def state(self, *, now: datetime) -> ProposalState:
        """Return the lifecycle state at ``now``."""
        return state_of(self.timeline, now=now, tally=self.tally, total_power=self.total_power)

    @classmethod
    def of(cls, row: ProposalRow, *, snapshot_seq: int, total_power: int) -> ProposalRecord:
        """Copy an ORM row; the caller resolves a snapshot that is not fixed yet."""
        timeline = Timeline(
            vote_start=parse_time(row.vote_start), vote_end=parse_time(row.vote_end),
            quorum_bps=row.quorum_bps, late_quorum_extension_s=row.late_quorum_extension_s,
            quorum_reached_at=_time(row.quorum_reached_at), eta=_time(row.eta),
            executed=row.executed_seq is not None, canceled=row.canceled_seq is not None,
        )  # fmt: skip
        return cls(
            proposal_id=row.proposal_id, kind=row.kind, proposer=row.proposer,
            params=MappingProxyType(json.loads(row.params)), title=row.title,
            description=row.description, message_sha256=row.message_sha256,
            created_seq=row.created_seq, created_at=parse_time(row.created_at), timeline=timeline,
            vote_power_cap_bps=row.vote_power_cap_bps, timelock_s=row.timelock_s,
            snapshot_seq=snapshot_seq, snapshot_fixed=row.snapshot_seq is not None,
            total_power=total_power,
            tally=Tally(int(row.for_power), int(row.against_power), int(row.abstain_power)),
            queued_seq=row.queued_seq, executed_seq=row.executed_seq,
            canceled_seq=row.canceled_seq,
        )  # fmt: skip


@dataclass(frozen=True)
class VoteRecord:
    """A cast vote: who, which way, with what power at which snapshot, and its ledger entry."""

    proposal_id: str
    member: str
    voter_key_id: str
    support: Support
    power: int
    snapshot_seq: int
    seq: int
    cast_at: datetime

    @classmethod
    def of(cls, row: VoteRow) -> VoteRecord:
        """Copy an ORM row."""
        return cls(
            row.proposal_id, row.member, row.voter_key_id, Support(row.support), int(row.power),
            row.snapshot_seq, row.seq, parse_time(row.cast_at),
        )  # fmt: skip
