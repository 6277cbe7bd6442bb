"""Proposals persisted, each step a signed ledger entry in the caller's transaction.

* :func:`create_proposal`: an active member signs ``proposal-created``; the voting parameters of
  the policy in force are frozen on the proposal (later policy changes do not move it).
* :func:`~consortium.governance.votes.cast_vote` (re-exported here): the voter's own key signs
  ``vote-cast``; power is the capped balance at the snapshot (:mod:`consortium.governance.records`).
* :func:`queue_proposal`: a succeeded proposal enters the timelock (``proposal-queued``).
* :func:`cancel_proposal`: the proposer withdraws a pending proposal (``proposal-canceled``).
* Execution lives in :mod:`consortium.governance.execution`.

Nothing here commits; the edge frames ``with factory.begin() as session:``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError, MembershipError
from consortium.governance.clock import SYSTEM_CLOCK, Clock, ledger_now
from consortium.governance.floor import check_membership_floor
from consortium.governance.models import ProposalRecord, ProposalRow
from consortium.governance.params import (
    check_proposal_message,
    ledger_params,
    message_sha256,
    proposal_message,
)
from consortium.governance.records import (
    fix_snapshot,
    member_of_signer,
    proposal_row,
    proposal_subject,
    record_of,
    voting_power,
)
from consortium.governance.rules import ProposalKind, ProposalState, eta_for, schedule
from consortium.governance.tallies import require_ledger_tally
from consortium.governance.votes import cast_vote, votes
from consortium.identity.registry import get_key, require_role
from consortium.ledger.admission import JOIN_ACTION
from consortium.ledger.canonical import canonical_json, format_time
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.requests import Actor, Countersigned
from consortium.ledger.signing import PUBLIC_KEY_BYTES, Signer, key_id_for
from consortium.ledger.store import append_entry
from consortium.membership import check_member_id, get_member, require_active
from consortium.policy.store import current_policy

__all__ = [
    "cancel_proposal",
    "cast_vote",
    "create_proposal",
    "get_proposal",
    "list_proposals",
    "proposal_state",
    "queue_proposal",
    "votes",
    "voting_power",
]

logger = logging.getLogger(__name__)


def _check_subject_member(session: Session, kind: ProposalKind, params: Mapping[str, Any],
                          public_key: bytes | None) -> bytes | None:  # fmt: skip
    """Check the member an admit/remove proposal is about; return the key to register."""
    member = params.get("member_id")
    if kind is ProposalKind.ADMIT_MEMBER:
        try:
            check_member_id(str(member))
        except MembershipError as exc:
            raise GovernanceError("params.member_id", code=exc.code, reason=exc.reason) from exc
        if get_member(session, str(member)) is not None:
            raise GovernanceError(
                "params.member_id", code="already-member", reason="this member id is taken"
            )
        if public_key is None:
            raise GovernanceError(
                "public_key", code="missing-field", reason="admitting a member needs its key"
            )
        key_id = key_id_for(public_key)
        if params.get("key_id") != key_id:
            raise GovernanceError(
                "params.key_id", code="key-mismatch", reason="is not the hash of public_key"
            )
        if get_key(session, key_id) is not None:
            raise GovernanceError(
                "params.key_id", code="key-in-use", reason="this key is already registered"
            )
        return public_key
    if kind is ProposalKind.REMOVE_MEMBER:
        try:
            require_active(session, str(member))
        except MembershipError as exc:
            raise GovernanceError("params.member_id", code=exc.code, reason=exc.reason) from exc
        check_membership_floor(session, member=str(member))
    return None


def _proposer(session: Session, signer: Actor, kind: ProposalKind) -> str:
    """Return the proposer's member id: an active member's, or the applicant's own (its join).

    A company's join request opens its own ``admit-member`` proposal; the ledger checks that it
    is for exactly that member and key (:mod:`consortium.ledger.admission`).
    """
    if isinstance(signer, Countersigned) and signer.request.action == JOIN_ACTION:
        if kind is not ProposalKind.ADMIT_MEMBER:
            reason = "a join request opens only its admit-member proposal"
            raise GovernanceError("kind", code="not-allowed", reason=reason)
        return str(signer.request.body.get("member_id"))
    return member_of_signer(session, signer, "propose").member


def create_proposal(
    session: Session,
    *,
    kind: ProposalKind | str,
    params: Mapping[str, Any],
    title: str,
    signer: Actor,
    description: str = "",
    public_key: bytes | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ProposalRecord:
    """Create a proposal signed by a member's key (``proposal-created``).

    Parameters
    ----------
    kind
        A :class:`~consortium.governance.rules.ProposalKind`.
    params
        The kind's params (see :mod:`consortium.governance.params`); for ``admit-member``
        ``key_id`` may be left out and is derived from ``public_key``.
    title, description
        Free text, kept off-ledger (the ledger holds the message's SHA-256).
    signer
        The proposer's active member (or board) key, or its request countersigned by the
        coordinator (:class:`~consortium.ledger.requests.Countersigned`); for ``admit-member``
        also the applicant's own join request (the applicant is then the proposer).
    public_key
        The raw Ed25519 key of the member an ``admit-member`` proposal admits.
    clock
        The coordinator's clock (never a caller's time): creation time; voting opens
        ``voting_delay_s`` later.

    Returns
    -------
    ProposalRecord
        The pending proposal.

    Raises
    ------
    GovernanceError
        ``bad-kind``, a field problem naming the field (``params.delta``), ``not-a-member``,
        ``not-allowed``, ``already-member``, ``key-mismatch``, ``key-in-use``,
        ``below-min-members`` (a removal below the board's minimum membership),
        ``duplicate-proposal``; nothing is written.
    MembershipError
        If the proposer was removed.
    """
    try:
        kind = ProposalKind(kind)
    except ValueError as exc:
        raise GovernanceError(
            "kind", code="bad-kind", reason=f"use one of {', '.join(ProposalKind)}"
        ) from exc
    now = ledger_now(session, clock)
    proposer = _proposer(session, signer, kind)
    params = dict(params)
    if public_key is not None and len(public_key) != PUBLIC_KEY_BYTES:
        raise GovernanceError(
            "public_key", code="bad-public-key", reason=f"must be {PUBLIC_KEY_BYTES} raw bytes"
        )
    if kind is ProposalKind.ADMIT_MEMBER and public_key is not None:
        params.setdefault("key_id", key_id_for(public_key))
        params.setdefault("role", "member")
    policy = current_policy(session)
    message = proposal_message(
        kind=kind, params=params, title=title, description=description,
        proposer_key_id=signer.key_id, created_at=now,
    )  # fmt: skip
    check_proposal_message(message, kind=kind, policy=policy)
    public_key = _check_subject_member(session, kind, params, public_key)
    digest = message_sha256(message)
    proposal_id = f"p-{digest[:16]}"
    vote_start, vote_end = schedule(
        created_at=now, voting_delay_s=policy.voting_delay_s,
        voting_period_s=policy.voting_period_s,
    )  # fmt: skip
    payload = {
        "proposal_id": proposal_id, "kind": str(kind), "proposer": proposer,
        "params": ledger_params(kind, params, public_key=public_key),
        "message_sha256": digest, "vote_start": format_time(vote_start),
        "vote_end": format_time(vote_end), "quorum_bps": policy.quorum_bps,
        "vote_power_cap_bps": policy.vote_power_cap_bps, "timelock_s": policy.timelock_s,
        "late_quorum_extension_s": policy.late_quorum_extension_s,
    }  # fmt: skip
    duplicate = GovernanceError(
        proposal_subject(proposal_id), code="duplicate-proposal", reason="the same message exists"
    )
    if session.get(ProposalRow, proposal_id) is not None:
        raise duplicate
    try:
        with session.begin_nested():
            entry = append_entry(
                session, kind=EntryKind.PROPOSAL_CREATED, payload=payload, signer=signer, moment=now
            )
            row = ProposalRow(
                proposal_id=proposal_id, kind=str(kind), proposer=proposer,
                proposer_key_id=signer.key_id, params=canonical_json(params).decode("utf-8"),
                public_key=public_key, title=title, description=description, message_sha256=digest,
                created_seq=entry.seq, created_at=format_time(now),
                vote_start=format_time(vote_start), vote_end=format_time(vote_end),
                quorum_bps=policy.quorum_bps, vote_power_cap_bps=policy.vote_power_cap_bps,
                late_quorum_extension_s=policy.late_quorum_extension_s,
                timelock_s=policy.timelock_s, for_power=0, against_power=0, abstain_power=0,
            )  # fmt: skip
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # a concurrent twin took the id first
        raise duplicate from exc
    logger.info("proposal %s (%s) by %s at entry %d", proposal_id, kind, proposer, entry.seq)
    return record_of(session, row)


def get_proposal(session: Session, proposal_id: str) -> ProposalRecord:
    """Return a proposal as a value.

    Raises
    ------
    GovernanceError
        ``unknown-proposal``.
    """
    return record_of(session, proposal_row(session, proposal_id))


def list_proposals(session: Session) -> list[ProposalRecord]:
    """Every proposal, newest first."""
    rows = session.execute(select(ProposalRow).order_by(ProposalRow.created_seq.desc())).scalars()
    return [record_of(session, row) for row in rows]


def proposal_state(session: Session, proposal_id: str, *, now: datetime) -> ProposalState:
    """Return the proposal's lifecycle state at ``now``."""
    return get_proposal(session, proposal_id).state(now=now)


def queue_proposal(
    session: Session, *, proposal_id: str, signer: Signer, clock: Clock = SYSTEM_CLOCK
) -> ProposalRecord:
    """Put a succeeded proposal in the timelock (``proposal-queued``); ``eta = now + timelock``.

    ``now`` is the coordinator's ``clock``.

    Raises
    ------
    GovernanceError
        ``not-allowed`` (not a coordinator key), ``not-succeeded`` (judged on the tally of the
        vote entries), ``tally-drift`` (the stored tally is not the ledger's); nothing is
        written.
    """
    now = ledger_now(session, clock)
    require_role(session, signer.key_id, Role.COORDINATOR, action="queue proposals",
                 error=GovernanceError)  # fmt: skip
    row = proposal_row(session, proposal_id)
    tally = require_ledger_tally(session, row)  # decided on the vote entries, not the cache
    state = replace(record_of(session, row), tally=tally).state(now=now)
    if state is not ProposalState.SUCCEEDED:
        raise GovernanceError(
            proposal_subject(proposal_id),
            code="not-succeeded",
            reason=f"it is {state}, not succeeded",
        )
    fix_snapshot(session, row)
    eta = eta_for(queued_at=now, timelock_s=row.timelock_s)
    with session.begin_nested():
        claimed = session.execute(
            update(ProposalRow)
            .where(ProposalRow.proposal_id == proposal_id, ProposalRow.eta.is_(None))
            .values(eta=format_time(eta))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise GovernanceError(
                proposal_subject(proposal_id), code="not-succeeded", reason="queued"
            )
        entry = append_entry(
            session, kind=EntryKind.PROPOSAL_QUEUED,
            payload={"proposal_id": proposal_id, "eta": format_time(eta),
                     "snapshot_seq": row.snapshot_seq, "total_power": row.total_power,
                     "for_power": tally.for_power, "against_power": tally.against_power,
                     "abstain_power": tally.abstain_power},
            signer=signer, moment=now,
        )  # fmt: skip
        session.execute(
            update(ProposalRow)
            .where(ProposalRow.proposal_id == proposal_id)
            .values(queued_seq=entry.seq)
            .execution_options(synchronize_session=False)
        )
    session.refresh(row)
    logger.info("proposal %s queued; executable from %s", proposal_id, row.eta)
    return record_of(session, row)


def cancel_proposal(
    session: Session, *, proposal_id: str, signer: Actor, clock: Clock = SYSTEM_CLOCK
) -> ProposalRecord:
    """Withdraw a proposal, by its proposer, before voting opens (``proposal-canceled``).

    The time is the coordinator's ``clock``.

    Raises
    ------
    GovernanceError
        ``not-proposer`` or ``not-pending``; nothing is written.
    """
    now = ledger_now(session, clock)
    row = proposal_row(session, proposal_id)
    if signer.key_id != row.proposer_key_id:
        raise GovernanceError(
            proposal_subject(proposal_id),
            code="not-proposer",
            reason="only the proposer's key cancels",
        )
    state = record_of(session, row).state(now=now)
    if state is not ProposalState.PENDING:
        raise GovernanceError(
            proposal_subject(proposal_id),
            code="not-pending",
            reason=f"it is {state}; voting has begun",
        )
    with session.begin_nested():
        entry = append_entry(
            session, kind=EntryKind.PROPOSAL_CANCELED, payload={"proposal_id": proposal_id},
            signer=signer, moment=now,
        )  # fmt: skip
        row.canceled_seq = entry.seq
        session.flush()
    logger.info("proposal %s canceled at entry %d", proposal_id, entry.seq)
    return record_of(session, row)
