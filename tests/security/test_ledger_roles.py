"""Issue 14, item 8: each entry kind is written only by its role, at write time and in verify.

The attacks, run as a member with its own registered key:

* append a ``points-minted`` entry of 1,000,000 points to itself, and a ``key-registered``
  entry for a new coordinator key, through the ledger store: refused at write, nothing written;
* insert the same forged entries straight into the database (entry, journal line, balance:
  everything ``points supply`` looks at agrees): ``consortium ledger verify`` fails, naming
  the forged entry's seq, replayed from the roles the ledger itself registered.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.audit import audit_database
from consortium.cli.main import app
from consortium.errors import StateDrift, VerificationError
from consortium.governance.models import ProposalRow, VoteRow
from consortium.governance.rules import ProposalKind, Support
from consortium.governance.store import cast_vote, create_proposal
from consortium.identity.registry import register_key
from consortium.ledger.entry import sign_entry
from consortium.ledger.keyring import Role, registration_payload
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import HEAD_ROW_ID, EntryRow, HeadRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import (
    KeyProblem,
    SignerNotAllowed,
    append_entry,
    ledger_size,
    load_entries,
)
from consortium.points.models import AccountRow, JournalRow
from consortium.points.store import balances, mint, supply
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)

Factory = sessionmaker[Session]
runner = CliRunner()
MINTED = {"account": "member:mallory-line", "amount": 1_000_000, "reason": "contribution",
          "refs": {"model": "eta", "round": 99}}  # fmt: skip


@pytest.fixture
def member(factory: Factory, coordinator: Signer) -> Signer:
    key = Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=key.public_key, role=Role.MEMBER, signer=coordinator)
        mint(s, account="member:alpha-line", amount=50, reason="contribution",
             refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
    return key


def _forge(factory: Factory, *, kind: str, payload: dict[str, object], signer: Signer,
           moment: datetime | None = None) -> int:  # fmt: skip
    """Write a signed entry with SQL alone (no store check), as a database writer could."""
    with factory.begin() as s:
        seq = ledger_size(s)
        entry = sign_entry(seq=seq, moment=moment or datetime.now(UTC), kind=kind,
                           payload=payload, signer=signer)  # fmt: skip
        s.execute(insert(EntryRow).values(
            seq=seq, time=entry.time, kind=kind, payload=entry.payload.decode("utf-8"),
            actor=entry.actor, signature=entry.signature, leaf_hash=entry.leaf_hash(),
        ))  # fmt: skip
        s.execute(update(HeadRow).where(HeadRow.id == HEAD_ROW_ID).values(size=seq + 1))
    return seq


def test_a_member_key_cannot_append_a_mint_or_a_coordinator_key(
    factory: Factory, member: Signer
) -> None:
    # Prepare
    new_coordinator = Signer.generate()
    with factory.begin() as s:
        size = ledger_size(s)
    # Execute
    with pytest.raises(SignerNotAllowed) as mint_refused, factory.begin() as s:
        append_entry(s, kind=EntryKind.POINTS_MINTED, payload=MINTED, signer=member)
    with pytest.raises(SignerNotAllowed) as key_refused, factory.begin() as s:
        append_entry(
            s, kind=EntryKind.KEY_REGISTERED, signer=member,
            payload=registration_payload(public_key=new_coordinator.public_key,
                                         role=Role.COORDINATOR),
        )  # fmt: skip
    # Assert: both refused for the signer's role, and nothing was written
    assert mint_refused.value.problem is KeyProblem.WRONG_ROLE
    assert key_refused.value.problem is KeyProblem.WRONG_ROLE
    with factory.begin() as s:
        assert ledger_size(s) == size
        assert "member:mallory-line" not in balances(s)


def test_verify_names_a_mint_forged_in_the_database_under_a_member_key(
    factory: Factory, member: Signer, database_url: str
) -> None:
    # Prepare: the forged entry, its journal lines and the balance, all consistent
    seq = _forge(factory, kind=EntryKind.POINTS_MINTED, payload=MINTED, signer=member)
    with factory.begin() as s:
        s.execute(insert(AccountRow).values(account="member:mallory-line", kind="member",
                                            balance=1_000_000))  # fmt: skip
        s.execute(insert(JournalRow), [
            {"seq": seq, "account": "mint", "delta": -1_000_000},
            {"seq": seq, "account": "member:mallory-line", "delta": 1_000_000},
        ])  # fmt: skip
        assert supply(s).minted == 1_000_050  # the books alone cannot tell
    # Execute
    with pytest.raises(VerificationError) as caught, factory.begin() as s:
        audit_database(s)
    result = runner.invoke(app, ["ledger", "verify", "--db", database_url])
    # Assert: the forged entry is named, by seq, for its signer's role
    assert caught.value.index == seq
    assert "member key may not sign a points-minted entry" in caught.value.reason
    assert result.exit_code != 0
    assert f"entry {seq}: a member key may not sign a points-minted entry" in result.output


def test_verify_names_a_coordinator_key_registered_by_a_member(
    factory: Factory, member: Signer, database_url: str
) -> None:
    # Prepare
    rogue = Signer.generate()
    payload = registration_payload(public_key=rogue.public_key, role=Role.COORDINATOR)
    seq = _forge(factory, kind=EntryKind.KEY_REGISTERED, payload=payload, signer=member)
    # Execute
    result = runner.invoke(app, ["ledger", "verify", "--db", database_url])
    # Assert
    assert result.exit_code != 0
    assert f"entry {seq}: a member key may not sign a key-registered entry" in result.output


def test_verify_names_a_vote_a_member_signed_in_another_members_name(
    board: Board,  # noqa: F811
) -> None:
    # Prepare: gamma votes honestly, then forges beta's vote with its own (member) key, with
    # the vote row and the tally made to match, so the stored state alone looks consistent
    with board.factory.begin() as s:
        pid = create_proposal(
            s, kind=ProposalKind.FEES, title="Fees", signer=board.keys["alpha"],
            params={"lane_query_points": 12, "warehouse_query_points": 30}, clock=board.tick(0),
        ).proposal_id  # fmt: skip
    with board.factory.begin() as s:
        honest = cast_vote(s, proposal_id=pid, support=Support.FOR, signer=board.keys["gamma"],
                           clock=board.tick(61))  # fmt: skip
        payload = load_entries(s, start=honest.seq, stop=honest.seq + 1)[0].payload_object()
    payload.update(member="beta", power=300)
    seq = _forge(board.factory, kind=EntryKind.VOTE_CAST, payload=payload,
                 signer=board.keys["gamma"], moment=board.at(62))  # fmt: skip
    with board.factory.begin() as s:
        s.execute(insert(VoteRow).values(
            proposal_id=pid, member="beta", voter_key_id=board.keys["gamma"].key_id,
            support="for", power=300, snapshot_seq=honest.snapshot_seq, seq=seq,
            cast_at=honest.cast_at.isoformat(), comment=None,
        ))  # fmt: skip
        s.execute(update(ProposalRow).where(ProposalRow.proposal_id == pid)
                  .values(for_power=ProposalRow.for_power + 300))  # fmt: skip
    # Execute
    with pytest.raises(VerificationError) as caught, board.factory.begin() as s:
        audit_database(s)
    # Assert: a signer problem at the forged vote, not a drift of the stored state
    assert caught.value.index == seq
    assert not isinstance(caught.value, StateDrift)
    assert "for member 'beta' is signed by key" in caught.value.reason
