"""Member details stay off-ledger; erasing them keeps the ledger verifying."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from consortium.identity.details import (
    MemberDetailsRow,
    check_member_details,
    erase_member_details,
    record_member_details,
)
from consortium.identity.registry import register_key
from consortium.ledger.audit import export_ledger, verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import publish_checkpoint

DETAILS = {"company": "Nordsee Reederei GmbH", "contact": "Jane Doe <jane@example.com>"}


def test_erasing_details_keeps_the_ledger_verifying(
    factory: sessionmaker[Session], coordinator: Signer, tmp_path: Path
) -> None:
    # Prepare
    member = Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        commitment = record_member_details(
            s, member=member.key_id, details=DETAILS, signer=coordinator
        )
        publish_checkpoint(s, signer=coordinator)
    with factory.begin() as s:
        assert check_member_details(s, member=member.key_id, commitment=commitment)
        export_ledger(s, tmp_path / "before.jsonl")
    # Execute
    with factory.begin() as s:
        erase_member_details(s, member=member.key_id, signer=coordinator)
        publish_checkpoint(s, signer=coordinator)
    # Assert
    with factory.begin() as s:
        report = verify_database(s)
        assert s.get(MemberDetailsRow, member.key_id) is None
        assert not check_member_details(s, member=member.key_id, commitment=commitment)
        export_ledger(s, tmp_path / "after.jsonl")
    assert report.size == 4
    for name in ("before.jsonl", "after.jsonl"):
        text = (tmp_path / name).read_text()
        assert commitment in text
        assert "Nordsee" not in text
        assert "jane" not in text
