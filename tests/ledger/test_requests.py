"""Signed requests countersigned by the coordinator (issue 15): the actor signs, the ledger checks.

The attacks:

* the coordinator forges a member's vote: an entry it countersigns over a request that member
  never signed (written with SQL alone, stored tally and vote row made to match): ``verify``
  names that entry; through the store it is refused at write;
* a replayed request (same nonce): refused, nothing written;
* a request that says one thing while the entry says another: refused at write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from consortium.audit import audit_database
from consortium.errors import StateDrift, VerificationError
from consortium.governance.models import ProposalRow, VoteRow
from consortium.governance.rules import ProposalKind, Support
from consortium.governance.store import cast_vote, create_proposal
from consortium.ledger.entry import sign_entry
from consortium.ledger.models import HEAD_ROW_ID, EntryRow, HeadRow, RequestNonceRow
from consortium.ledger.requests import (
    Countersigned,
    RequestRejected,
    SignedRequest,
    check_window,
    sign_request,
)
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size, load_entries
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)

FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


def _propose(board: Board, *, at: float = 0) -> tuple[str, SignedRequest]:  # noqa: F811
    request = sign_request(action="propose", body={"kind": "fees", "params": FEES},
                           signer=board.keys["alpha"], now=board.at(at))  # fmt: skip
    with board.factory.begin() as s:
        record = create_proposal(
            s, kind=ProposalKind.FEES, params=FEES, title="Fees",
            signer=Countersigned(board.coordinator, request), clock=board.tick(at),
        )  # fmt: skip
    return record.proposal_id, request


def _vote_request(board: Board, pid: str, name: str, *, signer: Signer | None = None,  # noqa: F811
                  support: str = "for") -> SignedRequest:  # fmt: skip
    """A vote request in ``name``'s key id, signed by ``signer`` (default: ``name``'s own key)."""
    body = {"proposal_id": pid, "support": support}
    own = sign_request(action="vote", body=body, signer=board.keys[name], now=board.at(61))
    if signer is None:
        return own
    forged = (signer.sign(own.signing_bytes())).hex()
    return SignedRequest.from_json({**own.to_json(), "signature": forged})


def test_a_countersigned_vote_counts_as_the_members_vote(board: Board) -> None:  # noqa: F811
    # Prepare
    pid, _ = _propose(board)
    # Execute
    with board.factory.begin() as s:
        vote = cast_vote(s, proposal_id=pid, support=Support.FOR, clock=board.tick(61),
                         signer=Countersigned(board.coordinator,
                                              _vote_request(board, pid, "beta")))  # fmt: skip
        entry = load_entries(s, start=vote.seq, stop=vote.seq + 1)[0]
        report = audit_database(s)
    # Assert: the coordinator signed the entry, beta authorised it, the replay agrees
    assert entry.actor == board.coordinator.key_id
    assert entry.payload_object()["request"]["actor_key_id"] == board.keys["beta"].key_id  # type: ignore[index]
    assert vote.member == "beta"
    assert vote.voter_key_id == board.keys["beta"].key_id
    assert report.log.size == entry.seq + 1


def test_verify_names_a_vote_the_coordinator_forged_in_a_members_name(
    board: Board,  # noqa: F811
) -> None:
    # Prepare: the coordinator signs "beta's" request with its own key and writes the entry,
    # the vote row and the tally with SQL, so the stored state alone looks consistent
    pid, _ = _propose(board)
    forged = _vote_request(board, pid, "beta", signer=board.coordinator)
    with pytest.raises(RequestRejected) as refused, board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support=Support.FOR, clock=board.tick(61),
                  signer=Countersigned(board.coordinator, forged))  # fmt: skip
    with board.factory.begin() as s:
        row = s.get(ProposalRow, pid)
        assert row is not None
        seq = ledger_size(s)
        entry = sign_entry(
            seq=seq, moment=board.at(62), kind="vote-cast", signer=board.coordinator,
            payload={"proposal_id": pid, "member": "beta", "support": "for", "power": 300,
                     "snapshot_seq": row.created_seq + 1, "request": forged.to_json()},
        )  # fmt: skip
        s.execute(insert(EntryRow).values(
            seq=seq, time=entry.time, kind=entry.kind, payload=entry.payload.decode("utf-8"),
            actor=entry.actor, signature=entry.signature, leaf_hash=entry.leaf_hash(),
        ))  # fmt: skip
        s.execute(update(HeadRow).where(HeadRow.id == HEAD_ROW_ID).values(size=seq + 1))
        s.execute(insert(VoteRow).values(
            proposal_id=pid, member="beta", voter_key_id=board.keys["beta"].key_id,
            support="for", power=300, snapshot_seq=row.created_seq + 1, seq=seq,
            cast_at=entry.time, comment=None,
        ))  # fmt: skip
        s.execute(update(ProposalRow).where(ProposalRow.proposal_id == pid)
                  .values(for_power=300, snapshot_seq=row.created_seq + 1,
                          total_power=900))  # fmt: skip
    # Execute
    with pytest.raises(VerificationError) as caught, board.factory.begin() as s:
        audit_database(s)
    # Assert: refused at write; in the database, named by seq as a signature problem
    assert refused.value.code == "bad-signature"
    assert caught.value.index == seq
    assert not isinstance(caught.value, StateDrift)
    assert "not signed by its actor" in caught.value.reason


def test_a_replayed_request_is_refused_and_writes_nothing(board: Board) -> None:  # noqa: F811
    # Prepare: alpha's proposal, countersigned once
    _, request = _propose(board)
    with board.factory.begin() as s:
        size = ledger_size(s)
    # Execute: the same signed request again, a minute later (a new proposal id)
    with pytest.raises(RequestRejected) as refused, board.factory.begin() as s:
        create_proposal(s, kind=ProposalKind.FEES, params=FEES, title="Fees",
                        signer=Countersigned(board.coordinator, request),
                        clock=board.tick(60))  # fmt: skip
    # Assert
    assert refused.value.code == "replay"
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert s.execute(select(RequestNonceRow.nonce)).scalars().all() == [request.nonce]


def test_a_request_for_another_support_than_the_entry_is_refused(
    board: Board,  # noqa: F811
) -> None:
    # Prepare
    pid, _ = _propose(board)
    against = _vote_request(board, pid, "beta", support="against")
    # Execute
    with pytest.raises(RequestRejected) as refused, board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support=Support.FOR, clock=board.tick(61),
                  signer=Countersigned(board.coordinator, against))  # fmt: skip
    # Assert
    assert refused.value.code == "body-mismatch"
    with board.factory.begin() as s:
        assert s.execute(select(VoteRow)).first() is None


@pytest.mark.parametrize(
    ("offset", "code"),
    [(timedelta(minutes=-6), "expired"), (timedelta(minutes=3), "issued-in-future")],
)
def test_a_request_outside_the_window_is_refused(offset: timedelta, code: str) -> None:
    # Prepare
    now = datetime(2026, 3, 1, tzinfo=UTC)
    request = sign_request(action="vote", body={}, signer=Signer.generate(), now=now + offset)
    # Execute
    with pytest.raises(RequestRejected) as refused:
        check_window(request, now=now)
    # Assert
    assert refused.value.code == code
    check_window(request, now=now + offset)


@pytest.mark.parametrize(
    ("field", "value"),
    [("nonce", "short"), ("actor_key_id", "x" * 64), ("signature", "00"), ("extra", 1)],
)
def test_a_malformed_request_is_refused_naming_the_field(field: str, value: object) -> None:
    # Prepare
    good = sign_request(action="vote", body={}, signer=Signer.generate(),
                        now=datetime(2026, 3, 1, tzinfo=UTC)).to_json()  # fmt: skip
    # Execute
    with pytest.raises(RequestRejected) as refused:
        SignedRequest.from_json({**good, field: value})
    # Assert
    assert refused.value.code == "malformed"
    assert refused.value.reason.startswith(field)
