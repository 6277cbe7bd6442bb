"""Shared lookups of the governance store: proposal rows, signer checks, snapshot and power.

Snapshot: the ledger position where voting opens, i.e. the seq of the first entry whose time is
after ``vote_start`` (the ledger size if there is none yet), and never before the entry that
created the proposal. :func:`fix_snapshot` records it on the
proposal the first time it is used (a vote or queueing), with the total voting power (the quorum
base: the sum of capped powers of the members active at the snapshot). Only ``member:`` accounts of
members active at the snapshot have power, capped at ``vote_power_cap_bps`` of their total; points
moved later do not count.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.models import ProposalRecord, ProposalRow
from consortium.governance.rules import cap_power, voting_powers
from consortium.identity.registry import require_role
from consortium.ledger.keyring import Role
from consortium.ledger.models import EntryRow
from consortium.ledger.requests import Actor
from consortium.ledger.store import ledger_size
from consortium.membership import MemberRecord, list_members, member_of_key, require_active
from consortium.points.store import balances_at

logger = logging.getLogger(__name__)

VOTER_ROLES = (Role.MEMBER, Role.BOARD)


def proposal_subject(proposal_id: str) -> str:
    """Return the ``subject`` of errors about a proposal."""
    return f"proposal {proposal_id}"


def member_of_signer(session: Session, signer: Actor, action: str) -> MemberRecord:
    """Return the active member whose active member or board key ``signer`` is."""
    record = member_of_key(session, signer.key_id)
    if record is None:
        raise GovernanceError(
            f"key {signer.key_id[:16]}", code="not-a-member",
            reason=f"only a member's registered key can {action}",
        )  # fmt: skip
    require_active(session, record.member)
    require_role(session, signer.key_id, VOTER_ROLES, action=action, error=GovernanceError)
    return record


def proposal_row(session: Session, proposal_id: str) -> ProposalRow:
    """Return the ORM row of a proposal or raise ``unknown-proposal``."""
    row = session.get(ProposalRow, proposal_id)
    if row is None:
        raise GovernanceError(
            proposal_subject(proposal_id), code="unknown-proposal", reason="no such id"
        )
    return row


def snapshot_seq(session: Session, row: ProposalRow) -> int:
    """Return the recorded snapshot, or the one the ledger implies so far."""
    if row.snapshot_seq is not None:
        return row.snapshot_seq
    first_after = session.execute(
        select(func.min(EntryRow.seq)).where(EntryRow.time > row.vote_start)
    ).scalar_one_or_none()
    implied = ledger_size(session) if first_after is None else int(first_after)
    return max(implied, row.created_seq + 1)  # never before the proposal itself


def eligible_balances(session: Session, snapshot_seq: int) -> dict[str, int]:
    """Return the ``member:`` balances at the snapshot of members active there."""
    eligible = {m.account for m in list_members(session) if m.active_at(snapshot_seq)}
    return {
        account: amount
        for account, amount in balances_at(session, seq=snapshot_seq).items()
        if account in eligible and amount > 0
    }


def total_power(session: Session, row: ProposalRow, snapshot_seq: int) -> int:
    """Return the recorded total power, or the sum of capped powers at ``snapshot_seq``."""
    if row.total_power is not None:
        return int(row.total_power)
    powers = voting_powers(eligible_balances(session, snapshot_seq),
                           cap_bps=row.vote_power_cap_bps)  # fmt: skip
    return sum(powers.values())


def fix_snapshot(session: Session, row: ProposalRow) -> None:
    """Record the snapshot and the total power on first use (at most once, race-free)."""
    if row.snapshot_seq is not None:
        return
    seq = snapshot_seq(session, row)
    total = total_power(session, row, seq)
    session.execute(
        update(ProposalRow)
        .where(ProposalRow.proposal_id == row.proposal_id, ProposalRow.snapshot_seq.is_(None))
        .values(snapshot_seq=seq, total_power=total)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    logger.debug("proposal %s snapshot at entry %d", row.proposal_id, row.snapshot_seq)


def record_of(session: Session, row: ProposalRow) -> ProposalRecord:
    """Return a row as a value, resolving a snapshot that is not recorded yet."""
    seq = snapshot_seq(session, row)
    return ProposalRecord.of(row, snapshot_seq=seq, total_power=total_power(session, row, seq))


def voting_power(session: Session, proposal_id: str, member: str) -> int:
    """Return the member's capped voting power at the proposal's snapshot (0 if it has none).

    Examples
    --------
    >>> # voting_power(session, "p-0123456789abcdef", "meridian-line") -> 2500
    """
    row = proposal_row(session, proposal_id)
    seq = snapshot_seq(session, row)
    balances = eligible_balances(session, seq)
    account = f"member:{member}"
    if account not in balances:
        return 0
    return cap_power(balances[account], sum(balances.values()), row.vote_power_cap_bps)
