"""Issue 15: a company's join request opens its own admit proposal, and nothing else does.

The ``proposal-created`` entry of an ``admit-member`` proposal may be authorised by a member (its
key, or its request) or by the applicant's own signed join request embedded in it: the key being
admitted, for exactly that member id and key. The attacks, by a coordinator that writes its
database directly (each forged entry signed with the real coordinator key, so only the rule can
tell):

* an admit proposal with no join request at all, signed by the coordinator;
* one embedding a valid join request of another company (another member id);
* one embedding a join request whose body was changed after the company signed it;
* a valid join request reused as the authority for a ``fees`` proposal;
* a join request signed by a key that is already registered (a member's key).

``ledger verify`` (:func:`consortium.audit.audit_database`) names each forged entry, by seq, with
the rule that refuses it; the same forgeries are refused at write time through the store. The
honest entry (the service's path, :func:`~consortium.governance.admission.open_admission`)
passes the same audit.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, insert, update

from consortium.audit import audit_database
from consortium.errors import VerificationError
from consortium.governance.admission import open_admission
from consortium.ledger.admission import JOIN_ACTION
from consortium.ledger.entry import sign_entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import HEAD_ROW_ID, EntryRow, HeadRow
from consortium.ledger.requests import (
    Countersigned,
    RequestRejected,
    SignedRequest,
    sign_request,
)
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, ledger_size, load_entries
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)

Payload = dict[str, object]


def _join(company: Signer, member: str, board: Board) -> SignedRequest:  # noqa: F811
    body = {"member_id": member, "public_key": company.public_key.hex(),
            "supernode_key_sha256": "ab" * 32, "details_commitment": "cd" * 32}  # fmt: skip
    return sign_request(action=JOIN_ACTION, body=body, signer=company, now=board.at(0))


def _honest(board: Board, join: SignedRequest) -> Payload:  # noqa: F811
    """The payload the service writes for ``join`` (built, then rolled back)."""
    session = board.factory()
    try:
        with session.begin():
            opened = open_admission(session, request=join, coordinator=board.coordinator,
                                    clock=board.tick(0))  # fmt: skip
            entry = load_entries(session, start=opened.created_seq, stop=opened.created_seq + 1)
            session.rollback()
    finally:
        session.close()
    return dict(entry[0].payload_object())


def _forge(board: Board, payload: Payload) -> int:  # noqa: F811
    """Write a coordinator-signed entry with SQL alone (no store check), as its operator could."""
    with board.factory.begin() as s:
        seq = ledger_size(s)
        entry = sign_entry(seq=seq, moment=board.at(1), kind=EntryKind.PROPOSAL_CREATED,
                           payload=payload, signer=board.coordinator)  # fmt: skip
        s.execute(insert(EntryRow).values(
            seq=seq, time=entry.time, kind=entry.kind, payload=entry.payload.decode("utf-8"),
            actor=entry.actor, signature=entry.signature, leaf_hash=entry.leaf_hash(),
        ))  # fmt: skip
        s.execute(update(HeadRow).where(HeadRow.id == HEAD_ROW_ID).values(size=seq + 1))
    return seq


def _no_join(board: Board) -> Payload:  # noqa: F811
    payload = _honest(board, _join(Signer.generate(), "mallory-line", board))
    del payload["request"]
    return payload


def _another_members_join(board: Board) -> Payload:  # noqa: F811
    company = Signer.generate()
    payload = _honest(board, _join(company, "mallory-line", board))
    payload["request"] = _join(company, "rhine-road", board).to_json()
    return payload


def _changed_after_signing(board: Board) -> Payload:  # noqa: F811
    payload = _honest(board, _join(Signer.generate(), "mallory-line", board))
    request = dict(payload["request"])  # type: ignore[call-overload]
    request["body"] = {**request["body"], "details_commitment": "ee" * 32}
    payload["request"] = request
    return payload


def _join_for_fees(board: Board) -> Payload:  # noqa: F811
    payload = _honest(board, _join(Signer.generate(), "mallory-line", board))
    payload.update(kind="fees", params={"lane_query_points": 1})
    return payload


def _registered_key(board: Board) -> Payload:  # noqa: F811
    join = _join(board.keys["gamma"], "gamma-two", board)
    company = Signer.generate()  # the honest payload of another company, then gamma's join
    payload = _honest(board, _join(company, "gamma-two", board))
    payload["params"] = {"member_id": "gamma-two", "key_id": board.keys["gamma"].key_id,
                         "role": "member", "public_key": board.keys["gamma"].public_key.hex()}
    payload["request"] = join.to_json()
    return payload


FORGERIES: dict[str, tuple[Callable[[Board], Payload], str]] = {
    "no-join": (_no_join, "a coordinator key may not sign a proposal-created entry"),
    "another-member": (_another_members_join, "is not for the joining member 'rhine-road'"),
    "changed-body": (_changed_after_signing, "not signed by the key it carries"),
    "fees": (_join_for_fees, "authorises only an admit-member proposal, not a fees entry"),
    "registered-key": (_registered_key, "is already registered (an applicant's key is not)"),
}


def _unforge(board: Board, seq: int) -> None:  # noqa: F811
    with board.factory.begin() as s:
        s.execute(delete(EntryRow).where(EntryRow.seq == seq))
        s.execute(update(HeadRow).where(HeadRow.id == HEAD_ROW_ID).values(size=seq))


def test_verify_names_each_admit_proposal_no_valid_join_opened(board: Board) -> None:  # noqa: F811
    # Prepare: an honest applicant opens its own proposal; the audit passes
    with board.factory.begin() as s:
        honest = open_admission(s, request=_join(Signer.generate(), "rhine-road", board),
                                coordinator=board.coordinator, clock=board.tick(0))  # fmt: skip
        audit_database(s)
    named: dict[str, tuple[int | None, str]] = {}
    for name, (build, _) in FORGERIES.items():
        seq = _forge(board, build(board))
        # Execute: the audit of the database holding this one forgery
        with pytest.raises(VerificationError) as caught, board.factory.begin() as s:
            audit_database(s)
        named[name] = (caught.value.index, caught.value.reason)
        _unforge(board, seq)
    # Assert: each forged entry is named, by seq, with the rule that refuses it
    assert honest.proposer == "rhine-road"
    for name, (index, reason) in named.items():
        assert index == honest.created_seq + 1, name
        assert FORGERIES[name][1] in reason, (name, reason)


def test_the_store_refuses_the_same_forgeries_at_write(board: Board) -> None:  # noqa: F811
    # Prepare
    with board.factory.begin() as s:
        size = ledger_size(s)
    codes = {}
    for name in ("another-member", "changed-body", "fees", "registered-key"):
        payload = FORGERIES[name][0](board)
        request = SignedRequest.from_json(payload.pop("request"))
        # Execute
        with pytest.raises(RequestRejected) as refused, board.factory.begin() as s:
            append_entry(s, kind=EntryKind.PROPOSAL_CREATED, payload=payload,
                         signer=Countersigned(board.coordinator, request))  # fmt: skip
        codes[name] = refused.value.code
    # Assert: refused with a stable code; nothing written
    assert codes == {"another-member": "body-mismatch", "changed-body": "bad-signature",
                     "fees": "wrong-action", "registered-key": "key-in-use"}  # fmt: skip
    with board.factory.begin() as s:
        assert ledger_size(s) == size
