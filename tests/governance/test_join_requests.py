"""A company joins from its own keys: signed join request, admit proposal, SuperNode key plan."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consortium.governance.execution import execute_proposal
from consortium.governance.rules import ProposalKind
from consortium.governance.store import create_proposal
from consortium.identity.details import MemberDetailsRow, details_commitment
from consortium.ledger.requests import RequestRejected, sign_request
from consortium.ledger.signing import Signer
from consortium.membership import remove_member, request_exit
from consortium.membership.joins import (
    JOIN,
    join_body,
    join_request_of_key,
    list_join_requests,
    record_join_request,
    sync_supernodes,
)
from tests.governance.conftest import Board

SUPERNODE_KEY = (
    ec.generate_private_key(ec.SECP384R1())
    .public_key()
    .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    .decode("ascii")
)
DETAILS = {"company": "Rhine Road Haulage GmbH", "contact": "ops@rhine-road.example"}


class KeyList:
    """The SuperLink's registered SuperNode keys (the network edge H4's registry talks to)."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[int, str]] = {}

    def node_ids(self) -> dict[str, int]:
        return {m: n for m, (n, _) in self.keys.items()}

    def register(self, member: str, public_key: str) -> int:
        self.keys[member] = (len(self.keys) + 1, public_key)
        return len(self.keys)

    def unregister(self, member: str) -> int:
        return self.keys.pop(member)[0]


def _join(board: Board, key: Signer, member: str = "rhine-road", **changes: object):  # type: ignore[no-untyped-def]
    salt = secrets.token_bytes(32)
    body = join_body(member=member, public_key=key.public_key, supernode_key=SUPERNODE_KEY,
                     details_commitment=details_commitment(salt=salt, details=DETAILS))  # fmt: skip
    request = sign_request(action=JOIN, body={**body, **changes}, signer=key,
                           now=board.clock.now())  # fmt: skip
    with board.factory.begin() as s:
        return record_join_request(
            s, request=request, supernode_key=SUPERNODE_KEY, details=DETAILS, salt=salt,
            coordinator=board.coordinator, now=board.clock.now(),
        ), request  # fmt: skip


def test_join_request_admitted_by_the_board_then_removed(board: Board) -> None:
    # Prepare: the company's join request, recorded; the SuperLink's key list (network edge)
    superlink = KeyList()
    key = Signer.generate()
    joined, request = _join(board, key)
    assert joined.status == "pending"
    # a replay of the same request is refused
    with board.factory.begin() as s, pytest.raises(RequestRejected) as replay:
        record_join_request(s, request=request, supernode_key=SUPERNODE_KEY, details=DETAILS,
                            salt=bytes(32), coordinator=board.coordinator,
                            now=board.clock.now())  # fmt: skip
    assert replay.value.code == "already-requested"
    # Execute: the board admits it by an admit-member proposal naming the request's key
    with board.factory.begin() as s:
        pid = create_proposal(
            s, kind=ProposalKind.ADMIT_MEMBER, title="Admit rhine-road",
            params={"member_id": joined.member, "key_id": joined.key_id, "role": "member"},
            public_key=joined.public_key, signer=board.keys["alpha"], clock=board.tick(0),
        ).proposal_id  # fmt: skip
    eta = board.pass_and_queue(pid)
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
        plan = sync_supernodes(s, superlink)
        admitted = join_request_of_key(s, key.key_id)
        assert s.get(MemberDetailsRow, "rhine-road") is not None
    # Assert: admitted; its SuperNode key is to be registered, and unregistered once it leaves
    assert admitted is not None
    assert admitted.status == "admitted"
    assert plan.register == (("rhine-road", SUPERNODE_KEY),)
    assert plan.unregister == ()
    assert superlink.node_ids() == {"rhine-road": 1}
    with board.factory.begin() as s:
        request_exit(s, member="rhine-road", signer=key, moment=board.clock.now())
        remove_member(s, member="rhine-road", signer=board.coordinator, moment=board.clock.now())
        plan = sync_supernodes(s, superlink)
        assert [r.status for r in list_join_requests(s)] == ["removed"]
        assert s.get(MemberDetailsRow, "rhine-road") is None  # erased with the member
    assert plan.register == ()
    assert plan.unregister == ("rhine-road",)
    assert superlink.node_ids() == {}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"public_key": Signer.generate().public_key.hex()}, "malformed"),  # not its key
        ({"supernode_key_sha256": "00" * 32}, "malformed"),  # another SuperNode key
        ({"details_commitment": "00" * 32}, "malformed"),  # details do not open it
        ({"member_id": "alpha"}, "member-id-taken"),
    ],
)
def test_join_request_refusals_write_nothing(
    board: Board, changes: dict[str, object], code: str
) -> None:
    with pytest.raises(RequestRejected) as refused:
        _join(board, Signer.generate(), **changes)
    assert refused.value.code == code
    with board.factory.begin() as s:
        assert list_join_requests(s) == []
