"""Join requests: a company asks to become a member, from its own machine, with its own keys.

The company makes its member key and SuperNode key on its machine (``consortium members
keygen``) and signs a ``join`` request with the member key (proof of possession,
:func:`~consortium.identity.enrolment.check_self_signed`). The body binds

* ``member_id``: the id it asks for;
* ``public_key``: its member key (hex);
* ``supernode_key_sha256``: SHA-256 of its SuperNode public key (the OpenSSH line travels beside
  the body: it is not a ledger token);
* ``details_commitment``: the salted commitment to its details
  (:func:`~consortium.identity.details.details_commitment`); the details and the salt travel
  beside the body and are stored off-ledger, erasable.

:func:`record_join_request` checks it and writes ``member-details-committed`` and
``join-requested`` (the coordinator's entry, embedding the signed request so anyone can re-check
the proof of possession). In the same transaction the request opens its own ``admit-member``
proposal (:func:`consortium.governance.admission.open_admission`: the applicant is the
proposer); when the board's vote executes it, the member's key is registered on the ledger, and
:func:`supernode_plan` tells the coordinator which SuperNode keys to register with (or remove
from) its SuperLink.

Examples
--------
>>> body = join_body(member="rhine-road", public_key=bytes(32), supernode_key="ecdsa-sha2 AAAA",
...                  details_commitment="ab" * 32)
>>> sorted(body)
['details_commitment', 'member_id', 'public_key', 'supernode_key_sha256']
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from consortium.db import Base
from consortium.errors import MembershipError
from consortium.identity.details import record_committed_details
from consortium.identity.enrolment import check_self_signed
from consortium.identity.registry import get_key
from consortium.ledger import models as _ledger_models  # noqa: F401  (ledger tables first)
from consortium.ledger.admission import JOIN_ACTION
from consortium.ledger.kinds import EntryKind
from consortium.ledger.requests import RequestRejected, SignedRequest
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.membership.models import MemberStatus
from consortium.membership.store import check_member_id, get_member, list_members

__all__ = [
    "JOIN",
    "JoinRequest",
    "JoinRequestRow",
    "SupernodePlan",
    "join_body",
    "join_request_of_key",
    "list_join_requests",
    "record_join_request",
    "supernode_key_sha256",
    "supernode_plan",
    "sync_supernodes",
]

logger = logging.getLogger(__name__)

JOIN = JOIN_ACTION
"""The action of a join request (it also authorises the applicant's own admit proposal)."""
MAX_SUPERNODE_KEY_CHARS = 2048


def supernode_key_sha256(supernode_key: str) -> str:
    """Return the hex SHA-256 of a SuperNode public key line (surrounding space stripped)."""
    return hashlib.sha256(supernode_key.strip().encode("ascii")).hexdigest()


def _is_ec_openssh_key(text: str) -> bool:
    """Whether ``text`` is one OpenSSH public key line of an elliptic-curve key."""
    if not text or len(text) > MAX_SUPERNODE_KEY_CHARS or not text.isascii() or "\n" in text:
        return False
    try:
        key = serialization.load_ssh_public_key(text.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        return False
    return isinstance(key, ec.EllipticCurvePublicKey)


def join_body(
    *, member: str, public_key: bytes, supernode_key: str, details_commitment: str
) -> dict[str, object]:
    """Return the body of a join request (what the company signs)."""
    return {
        "member_id": member,
        "public_key": public_key.hex(),
        "supernode_key_sha256": supernode_key_sha256(supernode_key),
        "details_commitment": details_commitment,
    }


class JoinRequestRow(Base):
    """One company's join request as received (the ``join-requested`` entry records it)."""

    __tablename__ = "membership_join_requests"

    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), primary_key=True)
    member: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))
    supernode_key: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)

    def __repr__(self) -> str:
        return f"JoinRequestRow(seq={self.seq}, member={self.member!r})"


@dataclass(frozen=True)
class JoinRequest:
    """A join request as a value; ``status`` is ``pending``, ``admitted`` or ``removed``."""

    seq: int
    member: str
    key_id: str
    public_key: bytes
    supernode_key: str = field(repr=False)
    status: str


def _record(session: Session, row: JoinRequestRow) -> JoinRequest:
    member = get_member(session, row.member)
    status = "pending"
    if member is not None and member.key_id == row.key_id:
        status = "admitted" if member.status == MemberStatus.ACTIVE else "removed"
    return JoinRequest(
        seq=row.seq, member=row.member, key_id=row.key_id,
        public_key=bytes.fromhex(row.public_key), supernode_key=row.supernode_key, status=status,
    )  # fmt: skip


def _refuse(request: SignedRequest, code: str, reason: str) -> RequestRejected:
    return RequestRejected(request.subject, code=code, reason=reason)


def record_join_request(
    session: Session,
    *,
    request: SignedRequest,
    supernode_key: str,
    details: Mapping[str, str],
    salt: bytes,
    coordinator: Signer,
    now: datetime,
) -> JoinRequest:
    """Check a company's signed join request and record it (``join-requested``).

    Parameters
    ----------
    request
        The ``join`` request, signed with the company's new member key.
    supernode_key
        Its SuperNode public key (OpenSSH line); must hash to ``supernode_key_sha256``.
    details, salt
        Its details and the salt; they must open ``details_commitment``. Stored off-ledger.
    coordinator
        The coordinator key (the service's): it signs the entries.
    now
        The coordinator's clock.

    Raises
    ------
    RequestRejected
        As :func:`~consortium.identity.enrolment.check_self_signed`; ``malformed`` (a field of
        the body, the SuperNode key or the details do not match); ``member-id-taken``,
        ``key-in-use`` or ``already-requested`` (a join request for this member id or this key
        exists: one per id and per key, so one applicant cannot flood the board with admit
        proposals; a replay included). Nothing is written then.
    """
    public_key = check_self_signed(request, action=JOIN, now=now)
    body = request.body
    member = body.get("member_id")
    try:
        check_member_id(str(member))
    except MembershipError as exc:
        raise _refuse(request, "malformed", f"body.member_id: {exc.reason}") from exc
    member = str(member)
    text = supernode_key.strip()
    if not _is_ec_openssh_key(text):
        raise _refuse(request, "malformed", "the SuperNode key must be one OpenSSH EC key line")
    if body.get("supernode_key_sha256") != supernode_key_sha256(text):
        raise _refuse(request, "malformed", "the SuperNode key is not the one the request signs")
    if set(body) != {"member_id", "public_key", "supernode_key_sha256", "details_commitment"}:
        raise _refuse(request, "malformed", f"body has fields {sorted(body)}")
    if session.execute(
        select(JoinRequestRow.seq).where(
            (JoinRequestRow.member == member)
            | (JoinRequestRow.key_id == request.actor_key_id)
            | (JoinRequestRow.nonce == request.nonce)
        )
    ).first():
        raise _refuse(request, "already-requested", "a join request for this id or key exists")
    if get_member(session, member) is not None:
        raise _refuse(request, "member-id-taken", f"member id {member} is taken")
    if get_key(session, request.actor_key_id) is not None:
        raise _refuse(request, "key-in-use", "this key is already registered")
    commitment = str(body.get("details_commitment"))
    with session.begin_nested():
        try:
            record_committed_details(
                session, member=member, details=details, salt=salt, commitment=commitment,
                signer=coordinator, moment=now,
            )  # fmt: skip
        except ValueError as exc:
            raise _refuse(request, "malformed", f"details: {exc}") from exc
        entry = append_entry(
            session, kind=EntryKind.JOIN_REQUESTED,
            payload={"member": member, "key_id": request.actor_key_id,
                     "commitment": commitment, "join_request": request.to_json()},
            signer=coordinator, moment=now,
        )  # fmt: skip
        row = JoinRequestRow(
            seq=entry.seq, member=member, key_id=request.actor_key_id,
            public_key=public_key.hex(), supernode_key=text, nonce=request.nonce,
        )  # fmt: skip
        session.add(row)
        session.flush()
    logger.info("join request of %s recorded at entry %d", member, entry.seq)
    return _record(session, row)


def list_join_requests(session: Session, *, status: str | None = None) -> list[JoinRequest]:
    """Every join request in arrival order, optionally only those of one ``status``."""
    rows = session.execute(select(JoinRequestRow).order_by(JoinRequestRow.seq)).scalars()
    records = [_record(session, row) for row in rows]
    return [r for r in records if status is None or r.status == status]


def join_request_of_key(session: Session, key_id: str) -> JoinRequest | None:
    """Return the join request made with ``key_id``, or ``None``."""
    row = session.execute(
        select(JoinRequestRow).where(JoinRequestRow.key_id == key_id)
    ).scalar_one_or_none()
    return None if row is None else _record(session, row)


@dataclass(frozen=True)
class SupernodePlan:
    """What the SuperLink's key list must change to follow the roster."""

    register: tuple[tuple[str, str], ...] = ()
    """``(member, SuperNode public key line)`` of active members not registered yet."""
    unregister: tuple[str, ...] = ()
    """Members registered at the SuperLink that are no longer active."""


def supernode_plan(session: Session, *, registered: Mapping[str, int]) -> SupernodePlan:
    """Compare the roster with the SuperNode keys registered (member -> node id).

    Every active member that joined with a SuperNode key must be registered, and nobody else.
    Applying the plan (H4's ``consortium.deployment.registration``) is idempotent, so the
    coordinator runs it after every change of membership and on start.
    """
    active = {m.member: m.key_id for m in list_members(session, status=MemberStatus.ACTIVE)}
    keys = {
        row.member: row.supernode_key
        for row in session.execute(select(JoinRequestRow)).scalars()
        if active.get(row.member) == row.key_id
    }
    return SupernodePlan(
        register=tuple((m, keys[m]) for m in sorted(keys) if m not in registered),
        unregister=tuple(m for m in sorted(registered) if m not in active),
    )


class SupernodeRegistry(Protocol):
    """The SuperLink's list of SuperNode keys (``consortium.deployment.registration``)."""

    def node_ids(self) -> dict[str, int]:
        """Return member -> node id of every registered key."""
        ...

    def register(self, member: str, public_key: str) -> int:
        """Register a member's SuperNode public key; return its node id."""
        ...

    def unregister(self, member: str) -> int:
        """Unregister a member's key; return the node id it had."""
        ...


def sync_supernodes(session: Session, registry: SupernodeRegistry) -> SupernodePlan:
    """Make the SuperLink's keys follow the roster: apply :func:`supernode_plan`; return it.

    Run by the coordinator after an admission or removal executes (and on start): idempotent.
    """
    plan = supernode_plan(session, registered=registry.node_ids())
    for member, public_key in plan.register:
        node = registry.register(member, public_key)
        logger.info("registered the SuperNode key of %s as node %d", member, node)
    for member in plan.unregister:
        node = registry.unregister(member)
        logger.info("unregistered node %d of %s", node, member)
    return plan
