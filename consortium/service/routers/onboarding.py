"""Onboarding: joins, a member's exit, a cargo owner's registration, the treasurer's deposits.

Each is a request signed on the actor's machine. A newcomer's key is not registered yet, so its
join or registration request proves possession of the key it carries
(:mod:`consortium.identity.enrolment`) and the coordinator writes the entry with its own key (a
join request also opens its own admit proposal, :mod:`consortium.governance.admission`); a
member's exit request and a deposit are requests of registered keys, countersigned like a vote.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from consortium.errors import MembershipError
from consortium.governance.admission import open_admission
from consortium.identity.enrolment import REGISTER_CARGO_OWNER, register_cargo_owner
from consortium.ledger.requests import RequestRejected, SignedRequest
from consortium.membership.joins import JOIN, JoinRequest, list_join_requests, record_join_request
from consortium.membership.models import MemberRecord
from consortium.membership.store import EXIT_ACTION, member_of_key, request_exit
from consortium.points.accounts import cargo_account
from consortium.points.books import balance
from consortium.points.payments import deposit
from consortium.service.deps import KnownSize, State, countersign, signed_request
from consortium.service.receipts import receipt
from consortium.wire.envelope import API_PREFIX
from consortium.wire.onboarding import (
    CargoOwnerIn,
    CargoOwnerWritten,
    DepositIn,
    DepositWritten,
    ExitIn,
    ExitWritten,
    JoinIn,
    JoinOut,
    JoinsOut,
    JoinWritten,
    MemberOut,
)

router = APIRouter(prefix=f"{API_PREFIX}/onboarding", tags=["onboarding"])

DEPOSIT = "deposit"
Join = Annotated[SignedRequest, Depends(signed_request(JOIN))]
Register = Annotated[SignedRequest, Depends(signed_request(REGISTER_CARGO_OWNER))]
Deposit = Annotated[SignedRequest, Depends(signed_request(DEPOSIT))]
Exit = Annotated[SignedRequest, Depends(signed_request(EXIT_ACTION))]


def _join_out(join: JoinRequest) -> JoinOut:
    return JoinOut(seq=join.seq, member=join.member, key_id=join.key_id,
                   public_key=join.public_key.hex(), status=join.status)  # fmt: skip


@router.post("/joins", response_model=JoinWritten)
def join(state: State, request: Join, data: JoinIn, known_size: KnownSize = None) -> JoinWritten:
    """Record a company's signed join request and open its ``admit-member`` proposal.

    One transaction writes ``member-details-committed``, ``join-requested`` and the
    ``proposal-created`` entry that embeds the request (the applicant is the proposer); the
    receipt is that entry's, so the company can witness its own request. A second join for the
    same member id or key is refused (``already-requested``, 409).
    """
    try:
        salt = bytes.fromhex(data.salt)
    except ValueError as exc:
        raise RequestRejected(request.subject, code="malformed", reason="salt is not hex") from exc
    with state.transaction() as session:
        joined = record_join_request(
            session, request=request, supernode_key=data.supernode_key, details=data.details,
            salt=salt, coordinator=state.coordinator, now=state.clock.now(),
        )  # fmt: skip
        opened = open_admission(session, request=request, coordinator=state.coordinator,
                                clock=state.clock)  # fmt: skip
        return JoinWritten(join=_join_out(joined), receipt=receipt(
            session, state, opened.created_seq, known_size=known_size))  # fmt: skip


@router.get("/joins", response_model=JoinsOut)
def joins(state: State, status: str | None = None) -> JoinsOut:
    """List join requests (``status``: ``pending``, ``admitted`` or ``removed``)."""
    with state.transaction() as session:
        return JoinsOut(joins=[_join_out(j) for j in list_join_requests(session, status=status)])


@router.post("/cargo-owners", response_model=CargoOwnerWritten)
def register(
    state: State, request: Register, data: CargoOwnerIn, known_size: KnownSize = None
) -> CargoOwnerWritten:
    """Register a cargo owner's key from its self-signed request (``key-registered``)."""
    with state.transaction() as session:
        record = register_cargo_owner(session, request=request, coordinator=state.coordinator,
                                      now=state.clock.now())  # fmt: skip
        return CargoOwnerWritten(
            key_id=record.key_id, account=cargo_account(record.key_id),
            receipt=receipt(session, state, record.registered_seq, known_size=known_size),
        )  # fmt: skip


@router.post("/deposits", response_model=DepositWritten)
def credit(
    state: State, request: Deposit, data: DepositIn, known_size: KnownSize = None
) -> DepositWritten:
    """Credit a cargo owner against an off-ledger payment: the treasurer's signed request."""
    account, amount = request.body.get("account"), request.body.get("amount")
    external_ref = request.body.get("external_ref")
    if not isinstance(account, str) or not isinstance(external_ref, str):
        raise RequestRejected(request.subject, code="malformed",
                              reason="body needs account and external_ref (text)")  # fmt: skip
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise RequestRejected(request.subject, code="malformed", reason="amount is not an int")
    with state.transaction() as session:
        actor = countersign(session, state, request)
        entry = deposit(session, account=account, amount=amount, external_ref=external_ref,
                        signer=actor, moment=state.clock.now())  # fmt: skip
        return DepositWritten(account=account, amount=amount, balance=balance(session, account),
                              receipt=receipt(session, state, entry.seq,
                                              known_size=known_size))  # fmt: skip


def _member_out(record: MemberRecord) -> MemberOut:
    return MemberOut(member=record.member, key_id=record.key_id, role=str(record.role),
                     status=str(record.status),
                     exit_requested_seq=record.exit_requested_seq)  # fmt: skip


@router.get("/members/{key_id}", response_model=MemberOut)
def member_of(state: State, key_id: str) -> MemberOut:
    """Return the member (active or removed) whose key is ``key_id``."""
    with state.transaction() as session:
        record = member_of_key(session, key_id)
        if record is None:
            raise MembershipError(key_id[:16], code="unknown-member",
                                  reason="no member has this key")  # fmt: skip
        return _member_out(record)


@router.post("/exits", response_model=ExitWritten)
def leave(state: State, request: Exit, data: ExitIn, known_size: KnownSize = None) -> ExitWritten:
    """Record a member's own exit request (``member-exit-requested``, countersigned).

    The coordinator then carries it out (``consortium members remove``).
    """
    member = request.body.get("member")
    if not isinstance(member, str):
        raise RequestRejected(request.subject, code="malformed", reason="body needs member (text)")
    with state.transaction() as session:
        actor = countersign(session, state, request)
        record = request_exit(session, member=member, signer=actor, moment=state.clock.now())
        seq = int(record.exit_requested_seq or 0)  # request_exit has just set it
        return ExitWritten(member=_member_out(record),
                           receipt=receipt(session, state, seq, known_size=known_size))
