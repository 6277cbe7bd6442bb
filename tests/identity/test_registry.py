"""The key registry changes only through ledger entries, and the log alone rebuilds it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import LedgerError
from consortium.identity.registry import get_key, list_keys, register_key, revoke_key
from consortium.ledger.keyring import Keyring, Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import SignerNotAllowed, load_entries


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
