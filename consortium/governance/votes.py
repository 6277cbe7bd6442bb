"""Signed votes: one per member and proposal, counted with the capped power at the snapshot.

The voter's own key signs ``vote-cast`` {proposal_id, member, support, power, snapshot_seq}. A
vote first increments the tally with ``UPDATE ... RETURNING``, which row-locks the proposal until
commit on PostgreSQL (SQLite serialises writers with ``BEGIN IMMEDIATE``), so the quorum time and
the double-vote check always see every earlier vote; the unique constraint on (proposal, member)
is the backstop.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.clock import SYSTEM_CLOCK, Clock, ledger_now
from consortium.governance.models import ProposalRow, VoteRecord, VoteRow
from consortium.governance.params import sha256_text, vote_message
from consortium.governance.records import (
    fix_snapshot,
    member_of_signer,
    proposal_row,
    proposal_subject,
    record_of,
    voting_power,
)
from consortium.governance.rules import ProposalState, Support, Tally, quorum_reached
from consortium.ledger.canonical import format_time
from consortium.ledger.kinds import EntryKind
from consortium.ledger.requests import Actor
from consortium.ledger.store import append_entry
from consortium.membership import MemberRecord

logger = logging.getLogger(__name__)

_TALLY_COLUMNS = {Support.FOR: "for_power", Support.AGAINST: "against_power",
                  Support.ABSTAIN: "abstain_power"}  # fmt: skip


def votes(session: Session, proposal_id: str) -> list[VoteRecord]:
    """Return the votes cast on a proposal, in ledger order."""
    rows = session.execute(
        select(VoteRow).where(VoteRow.proposal_id == proposal_id).order_by(VoteRow.seq)
    ).scalars()
    return [VoteRecord.of(row) for row in rows]


def _record_vote(
    session: Session,
    row: ProposalRow,
    *,
    voter: MemberRecord,
    support: Support,
    signer: Actor,
    now: datetime,
    comment: str | None,
    double: GovernanceError,
) -> VoteRow:
    """Write one vote (inside the caller's savepoint)."""
    fix_snapshot(session, row)
    snapshot_seq, total_power = row.snapshot_seq, row.total_power
    if snapshot_seq is None or total_power is None:  # pragma: no cover  (set just above)
        raise GovernanceError(
            proposal_subject(row.proposal_id), code="no-snapshot", reason="not fixed"
        )
    power = voting_power(session, row.proposal_id, voter.member)
    if power <= 0:
        raise GovernanceError(
            voter.member, code="not-a-holder",
            reason=f"no points at the snapshot (ledger entry {snapshot_seq})",
        )  # fmt: skip
    column = getattr(ProposalRow, _TALLY_COLUMNS[support])
    after = session.execute(  # row lock first: a concurrent voter queues behind this one
        update(ProposalRow)
        .where(ProposalRow.proposal_id == row.proposal_id)
        .values({column: column + power})
        .returning(ProposalRow.for_power, ProposalRow.against_power, ProposalRow.abstain_power)
        .execution_options(synchronize_session=False)
    ).one()
    already = session.execute(
        select(VoteRow.id).where(
            VoteRow.proposal_id == row.proposal_id, VoteRow.member == voter.member
        )
    ).first()
    if already is not None:
        raise double
    payload: dict[str, object] = {
        "proposal_id": row.proposal_id, "member": voter.member, "support": str(support),
        "power": power, "snapshot_seq": snapshot_seq,
    }  # fmt: skip
    if comment is not None:
        payload["comment_sha256"] = sha256_text(comment)
    entry = append_entry(
        session, kind=EntryKind.VOTE_CAST, payload=payload, signer=signer, moment=now
    )
    vote = VoteRow(
        proposal_id=row.proposal_id, member=voter.member, voter_key_id=signer.key_id,
        support=str(support), power=power, snapshot_seq=snapshot_seq, seq=entry.seq,
        cast_at=format_time(now), comment=comment,
    )  # fmt: skip
    session.add(vote)
    session.flush()
    tally = Tally(int(after[0]), int(after[1]), int(after[2]))
    if quorum_reached(tally, total_power=total_power, quorum_bps=row.quorum_bps):
        session.execute(
            update(ProposalRow)
            .where(ProposalRow.proposal_id == row.proposal_id,
                   ProposalRow.quorum_reached_at.is_(None))
            .values(quorum_reached_at=format_time(now))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    return vote


def cast_vote(
    session: Session,
    *,
    proposal_id: str,
    support: Support | str,
    signer: Actor,
    comment: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> VoteRecord:
    """Cast a member's vote, signed with its own key (``vote-cast``).

    Parameters
    ----------
    proposal_id
        An active proposal.
    support
        ``for``, ``against`` or ``abstain``.
    signer
        The voter's active member (or board) key, or its request countersigned by the
        coordinator (:class:`~consortium.ledger.requests.Countersigned`); the vote counts for
        its member.
    comment
        Optional free text, kept off-ledger (the ledger holds its SHA-256).
    clock
        The coordinator's clock (never the voter's time); the proposal must be active
        (``vote_start < now <= deadline``) and not queued.

    Returns
    -------
    VoteRecord
        With the power counted (the capped balance at the snapshot).

    Raises
    ------
    GovernanceError
        ``unknown-proposal``, ``voting-not-open``, ``voting-closed`` (a queued proposal
        included), ``not-a-member``,
        ``not-allowed``, ``not-a-holder`` (no power at the snapshot), ``double-vote``, or a
        field problem of the ``vote.v1`` message; nothing is written.
    MembershipError
        If the voter's member was removed.
    """
    now = ledger_now(session, clock)
    row = proposal_row(session, proposal_id)
    if row.queued_seq is not None or row.eta is not None:
        raise GovernanceError(
            proposal_subject(proposal_id), code="voting-closed",
            reason=f"it was queued at ledger entry {row.queued_seq}; it takes no more votes",
        )  # fmt: skip
    state = record_of(session, row).state(now=now)
    if state is ProposalState.PENDING:
        raise GovernanceError(
            proposal_subject(proposal_id),
            code="voting-not-open",
            reason=f"opens after {row.vote_start}",
        )
    if state is not ProposalState.ACTIVE:
        raise GovernanceError(
            proposal_subject(proposal_id), code="voting-closed", reason=f"it is {state}"
        )
    try:
        support = Support(support)
    except ValueError as exc:
        raise GovernanceError(
            "support", code="bad-support", reason="for, against or abstain"
        ) from exc
    voter = member_of_signer(session, signer, "vote")
    vote_message(proposal_id=proposal_id, voter_key_id=signer.key_id, support=support,
                 cast_at=now, comment=comment)  # fmt: skip
    double = GovernanceError(
        voter.member, code="double-vote", reason=f"has already voted on proposal {proposal_id}"
    )
    try:
        with session.begin_nested():
            vote = _record_vote(session, row, voter=voter, support=support, signer=signer,
                                now=now, comment=comment, double=double)  # fmt: skip
    except IntegrityError as exc:  # the unique constraint caught a concurrent second vote
        raise double from exc
    session.refresh(row)
    logger.info("vote %s by %s on %s with power %d", support, voter.member, proposal_id, vote.power)
    return VoteRecord.of(vote)
