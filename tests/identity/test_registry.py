"""The key registry changes only through ledger entries, and the log alone rebuilds it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import GovernanceError, LedgerError, PointsError
from consortium.identity.registry import (
    get_key,
    list_keys,
    register_key,
    require_role,
    revoke_key,
)
from consortium.ledger.keyring import Keyring, Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import KeyProblem, SignerNotAllowed, load_entries


def test_registry_changes_are_ledger_entries_and_replay_matches(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    member, board = Signer.generate(), Signer.generate()
    # Execute
    with factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        register_key(s, public_key=board.public_key, role=Role.BOARD, signer=coordinator)
        revoke_key(s, key_id=member.key_id, signer=coordinator)
    # Assert
    with factory.begin() as s:
        entries = load_entries(s)
        record = get_key(s, member.key_id)
        active = {k.key_id for k in list_keys(s)}
    assert [e.kind for e in entries] == ["key-registered"] * 3 + ["key-revoked"]
    assert record is not None
    assert record.revoked_seq == 3
    assert active == {coordinator.key_id, board.key_id}
    ring = Keyring()
    for e in entries:
        ring.apply(e)
    assert ring.keys[board.key_id].role is Role.BOARD
    assert ring.keys[member.key_id].revoked_seq == 3


def test_only_a_coordinator_key_changes_the_registry(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    member = Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
    with pytest.raises(SignerNotAllowed, match="cannot change"), factory.begin() as s:
        register_key(s, public_key=Signer.generate().public_key, role=Role.BOARD, signer=member)
    with pytest.raises(LedgerError, match="already registered"), factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.BOARD, signer=coordinator)


def test_require_role_answers_every_store_with_its_error_and_one_code(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare: a member key, a revoked treasurer key and an unregistered key
    member, revoked, stranger = Signer.generate(), Signer.generate(), Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        register_key(s, public_key=revoked.public_key, role=Role.TREASURER, signer=coordinator)
        revoke_key(s, key_id=revoked.key_id, signer=coordinator)
    cases = {
        KeyProblem.WRONG_ROLE: member,
        KeyProblem.REVOKED: revoked,
        KeyProblem.NOT_REGISTERED: stranger,
    }
    with factory.begin() as s:
        # Execute
        allowed = require_role(s, member.key_id, (Role.MEMBER, Role.BOARD), action="vote")
        refusals = {}
        for problem, signer in cases.items():
            with pytest.raises(SignerNotAllowed) as plain:
                require_role(s, signer.key_id, Role.TREASURER, action="deposit points")
            with pytest.raises(PointsError) as as_points:
                require_role(s, signer.key_id, Role.TREASURER, action="deposit points",
                             error=PointsError)  # fmt: skip
            with pytest.raises(GovernanceError) as mapped:
                require_role(s, signer.key_id, Role.TREASURER, action="deposit points",
                             error=GovernanceError, subject="proposal p-1",
                             codes={problem: "custom"})  # fmt: skip
            refusals[problem] = (plain.value.problem, as_points.value.code,
                                 as_points.value.subject, mapped.value.code,
                                 mapped.value.subject)  # fmt: skip
    # Assert
    assert (allowed.key_id, allowed.role) == (member.key_id, Role.MEMBER)
    for problem, signer in cases.items():
        assert refusals[problem] == (problem, "not-allowed", f"key {signer.key_id[:16]}...",
                                     "custom", "proposal p-1")  # fmt: skip
