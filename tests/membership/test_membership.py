"""The member roster on a real ledger (SQLite and PostgreSQL): admission, exit, removal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import MembershipError
from consortium.identity.details import (
    MemberDetailsRow,
    check_member_details,
    record_member_details,
)
from consortium.identity.registry import get_key
from consortium.ledger.audit import export_ledger, verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import SignerNotAllowed, append_entry, ledger_size
from consortium.membership import (
    MemberStatus,
    active_members,
    admit_member,
    get_member,
    list_members,
    member_of_key,
    remove_member,
    request_exit,
    require_active,
)
from consortium.points.rounds import append_round_completed

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""Rules with no backend-specific SQL run on SQLite only, to keep the suite fast."""

DETAILS = {"company": "Nordsee Reederei GmbH", "contact": "Jane Doe <jane@example.com>"}


def _kinds(session: Session, start: int) -> list[str]:
    return list(
        session.execute(
            select(EntryRow.kind).where(EntryRow.seq >= start).order_by(EntryRow.seq)
        ).scalars()
    )


def test_admission_registers_the_key_and_activates_the_member(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    key = Signer.generate()
    with factory.begin() as s:
        start = ledger_size(s)
    # Execute
    with factory.begin() as s:
        record = admit_member(
            s, member="meridian-line", public_key=key.public_key, signer=coordinator
        )
    # Assert
    with factory.begin() as s:
        assert require_active(s, "meridian-line") == record
        assert member_of_key(s, key.key_id) == record
        assert [m.member for m in active_members(s)] == ["meridian-line"]
        registered = get_key(s, key.key_id)
        assert registered is not None
        assert registered.role is Role.MEMBER
        assert _kinds(s, start) == ["key-registered", "member-admitted"]
        assert verify_database(s).size == start + 2
    assert (record.status, record.account, record.admitted_by) == (
        "active", "member:meridian-line", "founding",
    )  # fmt: skip
    assert record.admitted_seq == start + 1


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("member", "use_taken_key", "code"),
    [
        ("Meridian Line", False, "bad-member-id"),
        ("x", False, "bad-member-id"),
        ("meridian-line", False, "already-member"),
        ("rotterdam-rail", True, "key-in-use"),
    ],
)
def test_admission_refuses_bad_ids_taken_ids_and_taken_keys(
    factory: sessionmaker[Session], coordinator: Signer, member: str, use_taken_key: bool,
    code: str,
) -> None:  # fmt: skip
    # Prepare
    taken = Signer.generate()
    with factory.begin() as s:
        admit_member(s, member="meridian-line", public_key=taken.public_key, signer=coordinator)
        before = ledger_size(s)
    key = taken if use_taken_key else Signer.generate()
    # Execute
    with pytest.raises(MembershipError) as caught, factory.begin() as s:
        admit_member(s, member=member, public_key=key.public_key, signer=coordinator)
    # Assert
    assert caught.value.code == code
    with factory.begin() as s:
        assert ledger_size(s) == before
        assert len(list_members(s)) == 1


@SQLITE_ONLY
def test_only_a_coordinator_admits_and_board_or_member_roles_only(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    member_key = Signer.generate()
    with factory.begin() as s:
        admit_member(s, member="meridian-line", public_key=member_key.public_key,
                     role=Role.BOARD, signer=coordinator)  # fmt: skip
    # Execute
    with pytest.raises(MembershipError) as by_member, factory.begin() as s:
        admit_member(s, member="rotterdam-rail", public_key=Signer.generate().public_key,
                     signer=member_key)  # fmt: skip
    with pytest.raises(MembershipError) as cargo, factory.begin() as s:
        admit_member(s, member="rotterdam-rail", public_key=Signer.generate().public_key,
                     role=Role.CARGO_OWNER, signer=coordinator)  # fmt: skip
    # Assert
    assert by_member.value.code == "not-allowed"
    assert cargo.value.code == "bad-role"
    with factory.begin() as s:
        record = get_member(s, "meridian-line")
        assert record is not None
        assert record.role == "board"


def test_exit_revokes_keys_erases_details_and_refuses_the_member(
    factory: sessionmaker[Session], coordinator: Signer, tmp_path: Path
) -> None:
    # Prepare: a member with details filed under its id and under its key id
    key = Signer.generate()
    with factory.begin() as s:
        admit_member(s, member="meridian-line", public_key=key.public_key, signer=coordinator)
        by_id = record_member_details(s, member="meridian-line", details=DETAILS,
                                      signer=coordinator)  # fmt: skip
        record_member_details(s, member=key.key_id, details=DETAILS, signer=coordinator)
        append_round_completed(s, payload={"model": "eta", "round": 1}, signer=coordinator)
        start = ledger_size(s)
    # Execute
    with factory.begin() as s:
        request_exit(s, member="meridian-line", signer=key)
    with factory.begin() as s:
        removed = remove_member(s, member="meridian-line", signer=coordinator)
    # Assert
    with factory.begin() as s:
        assert _kinds(s, start) == [
            "member-exit-requested", "key-revoked", "member-details-erased",
            "member-details-erased", "member-removed",
        ]  # fmt: skip
        with pytest.raises(MembershipError) as refused:
            require_active(s, "meridian-line")
        assert refused.value.code == "member-removed"
        assert s.get(MemberDetailsRow, "meridian-line") is None
        assert s.get(MemberDetailsRow, key.key_id) is None
        assert not check_member_details(s, member="meridian-line", commitment=by_id)
        revoked = get_key(s, key.key_id)
        assert revoked is not None
        assert revoked.revoked_seq is not None
        assert active_members(s) == []
        assert verify_database(s).size == start + 5
        export_ledger(s, tmp_path / "after.jsonl")
    with pytest.raises(SignerNotAllowed), factory.begin() as s:
        append_entry(s, kind="vote-cast", payload={"proposal_id": "p-1"}, signer=key)
    assert (removed.status, removed.removed_by) == (MemberStatus.REMOVED, "exit")
    assert removed.removed_seq == start + 4
    text = (tmp_path / "after.jsonl").read_text()
    assert "Nordsee" not in text
    assert "jane" not in text


def test_removal_needs_an_exit_request_or_a_proposal(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    key, other = Signer.generate(), Signer.generate()
    with factory.begin() as s:
        admit_member(s, member="meridian-line", public_key=key.public_key, signer=coordinator)
        admit_member(s, member="rotterdam-rail", public_key=other.public_key, signer=coordinator)
        before = ledger_size(s)
    # Execute
    with pytest.raises(MembershipError) as no_mandate, factory.begin() as s:
        remove_member(s, member="meridian-line", signer=coordinator)
    with pytest.raises(MembershipError) as wrong_key, factory.begin() as s:
        request_exit(s, member="meridian-line", signer=other)
    with pytest.raises(MembershipError) as unknown, factory.begin() as s:
        remove_member(s, member="nobody-here", signer=coordinator, proposal_id="p-1")
    with factory.begin() as s:
        by_board = remove_member(s, member="meridian-line", signer=coordinator,
                                 proposal_id="p-0123456789abcdef")  # fmt: skip
    with pytest.raises(MembershipError) as twice, factory.begin() as s:
        remove_member(s, member="meridian-line", signer=coordinator, proposal_id="p-2")
    # Assert
    assert [e.value.code for e in (no_mandate, wrong_key, unknown, twice)] == [
        "no-mandate", "wrong-key", "unknown-member", "member-removed",
    ]  # fmt: skip
    assert by_board.removed_by == "proposal:p-0123456789abcdef"
    assert by_board.removed_seq == before + 1  # key-revoked, then member-removed (no details)
    with factory.begin() as s:
        assert require_active(s, "rotterdam-rail").active


@SQLITE_ONLY
def test_a_removed_members_id_is_never_reused(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    key = Signer.generate()
    with factory.begin() as s:
        admit_member(s, member="meridian-line", public_key=key.public_key, signer=coordinator)
        remove_member(s, member="meridian-line", signer=coordinator, proposal_id="p-1")
    # Execute
    with pytest.raises(MembershipError) as caught, factory.begin() as s:
        admit_member(s, member="meridian-line", public_key=Signer.generate().public_key,
                     signer=coordinator)  # fmt: skip
    # Assert
    assert caught.value.code == "member-id-used"


@SQLITE_ONLY
def test_joined_round_names_the_checkpoint_to_retrain_from(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare: three eta rounds and one stock round before the member joins, one after
    with factory.begin() as s:
        for model, number in [("eta", 1), ("eta", 2), ("stock", 1), ("eta", 3)]:
            append_round_completed(s, payload={"model": model, "round": number},
                                   signer=coordinator)  # fmt: skip
    # Execute
    with factory.begin() as s:
        record = admit_member(s, member="late-joiner", public_key=Signer.generate().public_key,
                              signer=coordinator)  # fmt: skip
        append_round_completed(s, payload={"model": "eta", "round": 4}, signer=coordinator)
    # Assert
    with factory.begin() as s:
        again = get_member(s, "late-joiner")
    assert dict(record.joined_round) == {"eta": 3, "stock": 1}
    assert again == record
