"""Execute a passed proposal: change the running consortium in the same transaction.

What each kind does, inside one savepoint with the ``proposal-executed`` entry:

* ``fees``, ``revenue-split``, ``privacy-policy``, ``contribution-rule``, ``governance-rules``,
  ``on-time-tolerance``: :func:`consortium.policy.store.change_policy` (``policy-changed``); the
  next query is priced and answered, and the next round capped, by
  :func:`~consortium.policy.store.current_policy`;
* ``admit-member``: :func:`consortium.membership.admit_member` (``key-registered`` and
  ``member-admitted``);
* ``remove-member``: :func:`consortium.membership.remove_member` (``key-revoked``,
  ``member-details-erased`` where details exist, ``member-removed``); its node is refused from then;
* ``appoint-treasurer``: :func:`consortium.identity.treasurer.appoint_treasurer`
  (``key-registered`` for the new treasurer key, ``key-revoked`` for the one it replaces);
* ``feature-request``: recorded only (the request text stays off-ledger).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError, LedgerError
from consortium.governance.clock import SYSTEM_CLOCK, Clock, ledger_now
from consortium.governance.floor import check_membership_floor
from consortium.governance.models import ProposalRecord, ProposalRow
from consortium.governance.params import ledger_params, policy_changes
from consortium.governance.records import (
    proposal_row,
    proposal_subject,
    record_of,
)
from consortium.governance.rules import POLICY_KINDS, ProposalKind, ProposalState
from consortium.governance.tallies import require_ledger_tally
from consortium.identity.registry import require_role
from consortium.identity.treasurer import appoint_treasurer
from consortium.ledger.canonical import format_time
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.membership import admit_member, remove_member
from consortium.policy.store import change_policy, current_version

logger = logging.getLogger(__name__)


def _apply(
    session: Session, row: ProposalRow, *, signer: Signer, now: datetime
) -> dict[str, object]:
    """Apply the proposal's effect; return what the ``proposal-executed`` entry records."""
    kind = ProposalKind(row.kind)
    params = json.loads(row.params)
    if kind in POLICY_KINDS:
        change_policy(session, changes=policy_changes(kind, params), signer=signer,
                      proposal_id=row.proposal_id, moment=now)  # fmt: skip
        return {"policy_version": current_version(session)}
    if kind is ProposalKind.ADMIT_MEMBER:
        if row.public_key is None:  # pragma: no cover  (create_proposal requires it)
            raise GovernanceError("public_key", code="missing-field", reason="no key to register")
        record = admit_member(
            session, member=params["member_id"], public_key=bytes(row.public_key),
            role=Role(params["role"]), signer=signer, proposal_id=row.proposal_id, moment=now,
        )  # fmt: skip
        return {"member": record.member, "key_id": record.key_id}
    if kind is ProposalKind.REMOVE_MEMBER:
        check_membership_floor(session, member=params["member_id"], proposal_id=row.proposal_id)
        record = remove_member(
            session, member=params["member_id"], signer=signer, proposal_id=row.proposal_id,
            moment=now,
        )  # fmt: skip
        return {"member": record.member, "key_id": record.key_id}
    if kind is ProposalKind.APPOINT_TREASURER:
        try:
            replaced = appoint_treasurer(session, public_key=bytes.fromhex(params["treasurer_key"]),
                                         signer=signer, moment=now)  # fmt: skip
        except LedgerError as exc:
            raise GovernanceError(proposal_subject(row.proposal_id), code="key-in-use",
                                  reason=str(exc)) from exc  # fmt: skip
        return {"key_id": params["key_id"], "replaced": replaced}
    return ledger_params(kind, params, public_key=None)  # feature request: recorded only


def execute_proposal(
    session: Session, *, proposal_id: str, signer: Signer, clock: Clock = SYSTEM_CLOCK
) -> ProposalRecord:
    """Execute a queued proposal whose timelock has passed (``proposal-executed``).

    Parameters
    ----------
    proposal_id
        A queued proposal.
    signer
        The coordinator key (it acts for the board).
    clock
        The coordinator's clock: execution time, at least the proposal's ``eta`` and before it
        expires.

    Returns
    -------
    ProposalRecord
        The executed proposal.

    Raises
    ------
    GovernanceError
        ``not-allowed``, ``unknown-proposal``, ``tally-drift`` (the stored tally is not the sum
        of the vote entries), ``not-queued`` (any other state, ``expired`` included),
        ``timelock`` (before ``eta``), or the effect's own error (a policy value no longer
        valid, ...), ``below-min-members`` (a removal below the board's minimum
        membership).
    MembershipError
        If the member to admit or remove changed since the proposal was made.

    Nothing is written when it raises.

    Examples
    --------
    >>> # with factory.begin() as s:
    >>> #     queue_proposal(s, proposal_id=pid, signer=coordinator)
    >>> # with factory.begin() as s:  # timelock_s later
    >>> #     execute_proposal(s, proposal_id=pid, signer=coordinator)
    """
    now = ledger_now(session, clock)
    require_role(session, signer.key_id, Role.COORDINATOR, action="execute proposals",
                 error=GovernanceError)  # fmt: skip
    row = proposal_row(session, proposal_id)
    tally = require_ledger_tally(session, row)  # decided on the vote entries, not the cache
    record = replace(record_of(session, row), tally=tally)
    state = record.state(now=now)
    if state is not ProposalState.QUEUED:
        hint = "; queue it first" if state is ProposalState.SUCCEEDED else ""
        raise GovernanceError(
            proposal_subject(proposal_id), code="not-queued", reason=f"it is {state}{hint}"
        )
    if record.eta is None or now < record.eta:
        raise GovernanceError(
            proposal_subject(proposal_id), code="timelock",
            reason=f"executable from {row.eta} (timelock {row.timelock_s} s)",
        )  # fmt: skip
    with session.begin_nested():
        claimed = session.execute(  # row lock: a concurrent executor finds it already claimed
            update(ProposalRow)
            .where(ProposalRow.proposal_id == proposal_id, ProposalRow.executed_at.is_(None))
            .values(executed_at=format_time(now))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise GovernanceError(
                proposal_subject(proposal_id), code="not-queued", reason="executed"
            )
        effect = _apply(session, row, signer=signer, now=now)
        entry = append_entry(
            session, kind=EntryKind.PROPOSAL_EXECUTED,
            payload={"proposal_id": proposal_id, "kind": row.kind, **effect},
            signer=signer, moment=now,
        )  # fmt: skip
        session.execute(
            update(ProposalRow)
            .where(ProposalRow.proposal_id == proposal_id)
            .values(executed_seq=entry.seq)
            .execution_options(synchronize_session=False)
        )
    session.refresh(row)
    logger.info("proposal %s (%s) executed at entry %d", proposal_id, row.kind, entry.seq)
    return record_of(session, row)
