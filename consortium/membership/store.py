"""The member roster: admission, exit and removal, each a ledger entry in the caller's transaction.

A member is admitted with one Ed25519 key (registered in :mod:`consortium.identity.registry`);
the founding members are admitted by the coordinator directly, later ones by executing a passed
``admit-member`` proposal (:mod:`consortium.governance.execution`). A member leaves either by a
passed ``remove-member`` proposal or on its own request (right to be forgotten): it signs a
``member-exit-requested`` entry with its key, then the coordinator removes it. Removal revokes its
key (so the ledger refuses anything it signs later), erases its off-ledger details
(:func:`consortium.identity.details.erase_member_details`) and marks it removed, so
:func:`require_active` refuses its node. Every earlier entry still verifies: the ledger keeps
only ids and salted commitments.

To retrain the models without a removed member, resume each model from the checkpoint of the
round in :attr:`MemberRecord.joined_round` (the last round completed before it joined; ``0``
means from scratch).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import MembershipError, VerificationError
from consortium.identity.details import MemberDetailsRow, erase_member_details
from consortium.identity.registry import get_key, register_key, require_role, revoke_key
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.requests import KIND_ACTIONS, Actor
from consortium.ledger.signing import Signer, key_id_for
from consortium.ledger.store import append_entry
from consortium.membership.models import MemberRecord, MemberRow, MemberStatus
from consortium.points.rounds import latest_rounds

logger = logging.getLogger(__name__)

MEMBER_ROLES = (Role.MEMBER, Role.BOARD)
MEMBER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
FOUNDING = "founding"
EXIT = "exit"
EXIT_ACTION = KIND_ACTIONS[EntryKind.MEMBER_EXIT_REQUESTED]
"""The action of a member's signed exit request (body :func:`exit_body`)."""


def exit_body(member: str) -> dict[str, object]:
    """Return the body of a member's exit request (what its key signs).

    Examples
    --------
    >>> exit_body("meridian-line")
    {'member': 'meridian-line'}
    """
    return {"member": member}


def check_member_id(member: str) -> str:
    """Return ``member`` if it is a valid member id (``[a-z0-9][a-z0-9-]{1,63}``).

    Raises
    ------
    MembershipError
        ``bad-member-id``.

    Examples
    --------
    >>> check_member_id("meridian-line")
    'meridian-line'
    """
    if not isinstance(member, str) or not MEMBER_ID_RE.match(member):
        raise MembershipError(
            repr(member)[:72], code="bad-member-id",
            reason="a member id is 2-64 characters of a-z, 0-9 and '-', not starting with '-'",
        )  # fmt: skip
    return member


def admit_member(
    session: Session,
    *,
    member: str,
    public_key: bytes,
    role: Role = Role.MEMBER,
    signer: Signer,
    proposal_id: str | None = None,
    moment: datetime | None = None,
) -> MemberRecord:
    """Admit a member: register its key and add it to the roster (``member-admitted``).

    Parameters
    ----------
    member
        The new member id; ids are never reused, even after a removal.
    public_key
        Its raw 32-byte Ed25519 public key (registered with ``role``).
    role
        ``Role.MEMBER`` or ``Role.BOARD``.
    signer
        An active coordinator key.
    proposal_id
        The passed ``admit-member`` proposal being executed; ``None`` for a founding member.
    moment
        Entry time (tz-aware); default now.

    Returns
    -------
    MemberRecord
        The active member, with :attr:`~MemberRecord.joined_round` set.

    Raises
    ------
    MembershipError
        ``bad-member-id``, ``bad-role``, ``bad-public-key``, ``already-member``,
        ``member-id-used`` (a removed member's id), ``key-in-use`` or ``not-allowed``; nothing is
        written.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator, key = Signer.generate(), Signer.generate()
    >>> with make_session_factory(engine).begin() as session:
    ...     _ = bootstrap_coordinator(session, coordinator=coordinator)
    ...     admit_member(session, member="meridian-line", public_key=key.public_key,
    ...                  signer=coordinator).status
    'active'
    """
    check_member_id(member)
    if role not in MEMBER_ROLES:
        raise MembershipError(member, code="bad-role", reason=f"role {role!s} is not member/board")
    try:
        key_id = key_id_for(public_key)
    except VerificationError as exc:
        raise MembershipError(member, code="bad-public-key", reason=exc.reason) from exc
    require_role(session, signer.key_id, Role.COORDINATOR, action="admit members",
                 error=MembershipError)  # fmt: skip
    existing = session.get(MemberRow, member)
    if existing is not None:
        code = "already-member" if existing.status == MemberStatus.ACTIVE else "member-id-used"
        raise MembershipError(member, code=code, reason=f"member id is {existing.status}")
    if get_key(session, key_id) is not None:
        raise MembershipError(
            member, code="key-in-use", reason=f"key {key_id[:16]}... is already registered"
        )
    admitted_by = FOUNDING if proposal_id is None else f"proposal:{proposal_id}"
    with session.begin_nested():
        joined = latest_rounds(session)
        register_key(session, public_key=public_key, role=role, signer=signer, moment=moment)
        entry = append_entry(
            session, kind=EntryKind.MEMBER_ADMITTED,
            payload={"member": member, "key_id": key_id, "role": str(role),
                     "admitted_by": admitted_by},
            signer=signer, moment=moment,
        )  # fmt: skip
        row = MemberRow(
            member=member, key_id=key_id, role=str(role), status=MemberStatus.ACTIVE.value,
            admitted_seq=entry.seq, admitted_by=admitted_by,
            joined_round=json.dumps(joined, sort_keys=True),
        )  # fmt: skip
        session.add(row)
        session.flush()
    logger.info("admitted member %s at entry %d (%s)", member, entry.seq, admitted_by)
    return MemberRecord.of(row)


def request_exit(
    session: Session, *, member: str, signer: Actor, moment: datetime | None = None
) -> MemberRecord:
    """Record a member's own request to leave (``member-exit-requested``, signed by its key).

    The coordinator then carries it out with :func:`remove_member`.

    Raises
    ------
    MembershipError
        ``unknown-member``, ``member-removed``, ``wrong-key`` (``signer`` is not the member's
        key) or ``exit-already-requested``; nothing is written.
    """
    row = _active_row(session, member)
    if signer.key_id != row.key_id:
        raise MembershipError(
            member, code="wrong-key", reason="an exit must be signed by the member's own key"
        )
    if row.exit_requested_seq is not None:
        raise MembershipError(
            member, code="exit-already-requested",
            reason=f"exit already requested at entry {row.exit_requested_seq}",
        )  # fmt: skip
    with session.begin_nested():
        entry = append_entry(
            session, kind=EntryKind.MEMBER_EXIT_REQUESTED, payload={"member": member},
            signer=signer, moment=moment,
        )  # fmt: skip
        row.exit_requested_seq = entry.seq
        session.flush()
    logger.info("member %s asked to leave at entry %d", member, entry.seq)
    return MemberRecord.of(row)


def remove_member(
    session: Session,
    *,
    member: str,
    signer: Signer,
    proposal_id: str | None = None,
    moment: datetime | None = None,
) -> MemberRecord:
    """Remove a member: revoke its key, erase its details, mark it removed (``member-removed``).

    Parameters
    ----------
    member
        The member to remove.
    signer
        An active coordinator key.
    proposal_id
        The passed ``remove-member`` proposal being executed; ``None`` carries out the member's
        own exit request (:func:`request_exit`), which must exist.
    moment
        Entry time (tz-aware); default now.

    Returns
    -------
    MemberRecord
        The removed member (its ``removed_seq`` is the ``member-removed`` entry).

    Raises
    ------
    MembershipError
        ``unknown-member``, ``member-removed``, ``not-allowed`` or ``no-mandate`` (neither a
        proposal nor an exit request); nothing is written.
    """
    row = _active_row(session, member)
    require_role(session, signer.key_id, Role.COORDINATOR, action="remove members",
                 error=MembershipError)  # fmt: skip
    if proposal_id is None and row.exit_requested_seq is None:
        raise MembershipError(
            member, code="no-mandate",
            reason="removal needs a passed remove-member proposal or the member's exit request",
        )  # fmt: skip
    removed_by = EXIT if proposal_id is None else f"proposal:{proposal_id}"
    with session.begin_nested():
        key = get_key(session, row.key_id)
        if key is not None and key.revoked_seq is None:
            revoke_key(session, key_id=row.key_id, signer=signer, moment=moment)
        erased = 0
        for subject in (member, row.key_id):  # details are filed by member id or by key id
            if session.get(MemberDetailsRow, subject) is not None:
                erase_member_details(session, member=subject, signer=signer, moment=moment)
                erased += 1
        entry = append_entry(
            session, kind=EntryKind.MEMBER_REMOVED,
            payload={"member": member, "key_id": row.key_id, "removed_by": removed_by,
                     "details_erased": erased},
            signer=signer, moment=moment,
        )  # fmt: skip
        row.status = MemberStatus.REMOVED.value
        row.removed_seq = entry.seq
        row.removed_by = removed_by
        session.flush()
    logger.info("removed member %s at entry %d (%s)", member, entry.seq, removed_by)
    return MemberRecord.of(row)


def _active_row(session: Session, member: str) -> MemberRow:
    row = session.get(MemberRow, member)
    if row is None:
        raise MembershipError(member, code="unknown-member", reason="not a member")
    if row.status != MemberStatus.ACTIVE:
        raise MembershipError(
            member, code="member-removed", reason=f"removed at entry {row.removed_seq}"
        )
    return row


def get_member(session: Session, member: str) -> MemberRecord | None:
    """Return the member's record (active or removed), or ``None``."""
    row = session.get(MemberRow, member)
    return None if row is None else MemberRecord.of(row)


def require_active(session: Session, member: str) -> MemberRecord:
    """Return an active member's record; the federation calls it to refuse other nodes.

    Raises
    ------
    MembershipError
        ``unknown-member`` or ``member-removed``.
    """
    return MemberRecord.of(_active_row(session, member))


def list_members(session: Session, *, status: MemberStatus | None = None) -> list[MemberRecord]:
    """Every member in admission order, optionally of one status."""
    query = select(MemberRow).order_by(MemberRow.admitted_seq)
    if status is not None:
        query = query.where(MemberRow.status == status.value)
    return [MemberRecord.of(row) for row in session.execute(query).scalars()]


def active_members(session: Session) -> list[MemberRecord]:
    """Active members in admission order."""
    return list_members(session, status=MemberStatus.ACTIVE)


def member_of_key(session: Session, key_id: str) -> MemberRecord | None:
    """Return the member (active or removed) whose key is ``key_id``, or ``None``."""
    row = session.execute(select(MemberRow).where(MemberRow.key_id == key_id)).scalar_one_or_none()
    return None if row is None else MemberRecord.of(row)
