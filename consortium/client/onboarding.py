"""Joining and leaving, registering a cargo owner, crediting it: signed here, sent over HTTP.

Every call signs on the actor's machine with the actor's own key and checks the receipt the
service returns (the entry's coordinator signature and its inclusion in a head signed by the
pinned key). Nothing here holds the coordinator's key or its database URL.

Examples
--------
>>> remote = RemoteCoordinator("https://coordinator.example:8443", pin="ab" * 8)  # doctest: +SKIP
>>> sent = send_join(remote, signer=member_key, member="rhine-road",
...                  supernode_key=Path("keys/supernode.key.pub").read_text(),
...                  details={"company": "Rhine Road Haulage"})  # doctest: +SKIP
>>> admit_proposal_id(sent)  # the request opened its admit proposal  # doctest: +SKIP
'p-...'
>>> propose_admission(remote, signer=board_key, join=sent.join)  # re-open  # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from consortium.client.remote import RemoteCoordinator
from consortium.governance.rules import ProposalKind
from consortium.identity.details import SALT_BYTES, details_commitment
from consortium.identity.enrolment import REGISTER_CARGO_OWNER, enrolment_body
from consortium.ledger.entry import Entry
from consortium.ledger.requests import sign_request
from consortium.ledger.signing import Signer, key_id_for
from consortium.membership.joins import JOIN, join_body
from consortium.membership.store import EXIT_ACTION, exit_body
from consortium.points.accounts import cargo_account
from consortium.wire.governance import ProposalWritten
from consortium.wire.onboarding import (
    CargoOwnerWritten,
    DepositWritten,
    ExitWritten,
    JoinOut,
    JoinsOut,
    JoinWritten,
    MemberOut,
)

__all__ = [
    "admit_proposal_id",
    "deposit_points",
    "join_consortium",
    "join_requests",
    "leave_consortium",
    "member_of_key",
    "propose_admission",
    "propose_treasurer",
    "register_cargo_owner",
    "send_join",
]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def send_join(
    remote: RemoteCoordinator,
    *,
    signer: Signer,
    member: str,
    supernode_key: str,
    details: Mapping[str, str],
    now: datetime | None = None,
) -> JoinWritten:
    """Send the company's signed join request: it is recorded and opens its admit proposal.

    Returns the join as recorded (``pending``) and the checked receipt of the
    ``proposal-created`` entry that embeds the request (:func:`admit_proposal_id`).

    Parameters
    ----------
    signer
        The company's new member key (made on its machine; it proves possession by signing).
    member
        The member id it asks for.
    supernode_key
        Its SuperNode public key (the OpenSSH line of ``supernode.key.pub``).
    details
        Its company details; only their salted commitment reaches the ledger.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    body = join_body(member=member, public_key=signer.public_key, supernode_key=supernode_key,
                     details_commitment=details_commitment(salt=salt, details=details))  # fmt: skip
    request = sign_request(action=JOIN, body=body, signer=signer, now=_now(now))
    return remote.post("/onboarding/joins", JoinWritten, {
        "request": request.to_json(), "supernode_key": supernode_key.strip(),
        "details": dict(details), "salt": salt.hex(),
    })  # fmt: skip


def admit_proposal_id(sent: JoinWritten) -> str:
    """Return the id of the admit proposal a join request opened (from its receipt's entry)."""
    payload = Entry.from_json(sent.receipt.entry.model_dump()).payload_object()
    return str(payload["proposal_id"])


def join_consortium(
    remote: RemoteCoordinator,
    *,
    signer: Signer,
    member: str,
    supernode_key: str,
    details: Mapping[str, str],
    now: datetime | None = None,
) -> JoinOut:
    """Send the company's signed join request (:func:`send_join`); return it as recorded."""
    return send_join(remote, signer=signer, member=member, supernode_key=supernode_key,
                     details=details, now=now).join  # fmt: skip


def join_requests(remote: RemoteCoordinator, *, status: str | None = None) -> list[JoinOut]:
    """List the join requests (``pending``, ``admitted`` or ``removed``)."""
    params = {} if status is None else {"status": status}
    return remote.get("/onboarding/joins", JoinsOut, params=params).joins


def member_of_key(remote: RemoteCoordinator, key_id: str) -> MemberOut:
    """Return the member (active or removed) whose key is ``key_id``.

    Raises
    ------
    ServiceRefused
        ``unknown-member`` (404): no member has this key.
    """
    return remote.get(f"/onboarding/members/{key_id}", MemberOut)


def leave_consortium(
    remote: RemoteCoordinator,
    *,
    signer: Signer,
    member: str | None = None,
    now: datetime | None = None,
) -> MemberOut:
    """Ask to leave: the member's own key signs ``request-exit`` here; return it as recorded.

    ``member`` defaults to the member whose key ``signer`` is. The coordinator then removes it
    (keys revoked, details erased; ``consortium members remove``).

    Raises
    ------
    ServiceRefused
        ``unknown-member``, ``member-removed``, ``wrong-key`` (not that member's key) or
        ``exit-already-requested`` (409); nothing is written.
    """
    name = member if member is not None else member_of_key(remote, signer.key_id).member
    request = sign_request(action=EXIT_ACTION, body=exit_body(name), signer=signer,
                           now=_now(now))  # fmt: skip
    return remote.post("/onboarding/exits", ExitWritten, {"request": request.to_json()}).member


def propose_admission(
    remote: RemoteCoordinator, *, signer: Signer, join: JoinOut, now: datetime | None = None
) -> ProposalWritten:
    """Re-open the ``admit-member`` proposal for a pending join (a member signs it).

    A join request opens its own proposal; this is for one the board defeated or let expire
    (the join request cannot open a second: its nonce is spent).
    """
    return remote.propose(
        signer=signer, kind=ProposalKind.ADMIT_MEMBER,
        params={"member_id": join.member, "key_id": join.key_id, "role": "member"},
        public_key=bytes.fromhex(join.public_key), title=f"Admit {join.member}", now=now,
    )  # fmt: skip


def propose_treasurer(
    remote: RemoteCoordinator,
    *,
    signer: Signer,
    treasurer_key: bytes,
    now: datetime | None = None,
) -> ProposalWritten:
    """Open the ``appoint-treasurer`` proposal for ``treasurer_key`` (replaces the current one)."""
    return remote.propose(
        signer=signer, kind=ProposalKind.APPOINT_TREASURER,
        params={"treasurer_key": treasurer_key.hex(), "key_id": key_id_for(treasurer_key)},
        title="Appoint the treasurer", now=now,
    )  # fmt: skip


def register_cargo_owner(
    remote: RemoteCoordinator, *, signer: Signer, now: datetime | None = None
) -> CargoOwnerWritten:
    """Register the cargo owner's key (self-signed: proof of possession); return its account."""
    request = sign_request(action=REGISTER_CARGO_OWNER, body=enrolment_body(signer),
                           signer=signer, now=_now(now))  # fmt: skip
    return remote.post("/onboarding/cargo-owners", CargoOwnerWritten,
                       {"request": request.to_json()})  # fmt: skip


def deposit_points(
    remote: RemoteCoordinator,
    *,
    treasurer: Signer,
    owner_key_id: str,
    amount: int,
    external_ref: str,
    now: datetime | None = None,
) -> DepositWritten:
    """Credit a cargo owner against an off-ledger payment: the treasurer signs the deposit."""
    body = {"account": cargo_account(owner_key_id), "amount": amount,
            "external_ref": external_ref}  # fmt: skip
    request = sign_request(action="deposit", body=body, signer=treasurer, now=_now(now))
    return remote.post("/onboarding/deposits", DepositWritten, {"request": request.to_json()})
