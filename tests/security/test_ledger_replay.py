"""Issue 14, item 8: ``ledger verify`` replays balances, tallies and policy from the entries.

The attacks, run as someone with SQL access to the coordinator's database: raise a balance
with an ``UPDATE``, rewrite a journal line, raise a proposal's tally, loosen the policy in
force. Every entry, signature and tree head still verifies; the replay of the entries does not
match the stored tables, and verify names the first entry (seq) where they disagree. Runs on
SQLite and PostgreSQL, through the store API and the CLI.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.audit import audit_database
from consortium.cli.main import app
from consortium.errors import StateDrift
from consortium.governance.models import ProposalRow
from consortium.governance.rules import ProposalKind, Support
from consortium.governance.store import cast_vote, create_proposal, get_proposal
from consortium.ledger.signing import Signer
from consortium.points.models import AccountRow, JournalRow
from consortium.points.store import mint
from consortium.policy.store import PolicyVersionRow
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)

Factory = sessionmaker[Session]
runner = CliRunner()
ALPHA, BETA = "member:alpha-line", "member:beta-rail"


def _mint(factory: Factory, coordinator: Signer, account: str, amount: int, round_: int) -> int:
    with factory.begin() as s:
        return mint(s, account=account, amount=amount, reason="contribution",
                    refs={"model": "eta", "round": round_}, signer=coordinator).seq  # fmt: skip


def test_an_updated_balance_is_named_at_the_entry_that_last_moved_it(
    factory: Factory, coordinator: Signer, database_url: str
) -> None:
    # Prepare: alpha last moved at `alpha_seq`; beta moved after it
    _mint(factory, coordinator, ALPHA, 100, round_=1)
    alpha_seq = _mint(factory, coordinator, ALPHA, 20, round_=2)
    _mint(factory, coordinator, BETA, 30, round_=2)
    with factory.begin() as s:
        audit_database(s)  # honest state passes
        s.execute(update(AccountRow).where(AccountRow.account == ALPHA).values(balance=1_000_000))
    # Execute
    with pytest.raises(StateDrift) as caught, factory.begin() as s:
        audit_database(s)
    result = runner.invoke(app, ["ledger", "verify", "--db", database_url])
    # Assert
    assert caught.value.index == alpha_seq
    assert (caught.value.stored, caught.value.replayed) == ("1000000", "120")
    assert result.exit_code != 0
    assert f"entry {alpha_seq}: balance of {ALPHA}: stored 1000000" in result.output


def test_a_rewritten_journal_line_is_named_at_its_entry(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare: the first mint's credit is moved to beta in the journal and the balances
    first = _mint(factory, coordinator, ALPHA, 100, round_=1)
    _mint(factory, coordinator, ALPHA, 20, round_=2)
    with factory.begin() as s:
        s.execute(update(JournalRow).where(JournalRow.seq == first, JournalRow.account == ALPHA)
                  .values(account=BETA))  # fmt: skip
    # Execute / Assert: the journal of that entry disagrees with its signed payload
    with pytest.raises(StateDrift) as caught, factory.begin() as s:
        audit_database(s)
    assert caught.value.index == first


def test_a_raised_tally_is_named_at_the_proposals_last_vote(board: Board) -> None:  # noqa: F811
    # Prepare
    with board.factory.begin() as s:
        pid = create_proposal(
            s, kind=ProposalKind.FEES, title="Fees", signer=board.keys["alpha"],
            params={"lane_query_points": 12, "warehouse_query_points": 30}, clock=board.tick(0),
        ).proposal_id  # fmt: skip
    with board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support=Support.FOR, signer=board.keys["gamma"],
                  clock=board.tick(61))  # fmt: skip
    with board.factory.begin() as s:
        vote_seq = get_proposal(s, pid).created_seq + 1
        audit_database(s)
        s.execute(update(ProposalRow).where(ProposalRow.proposal_id == pid)
                  .values(for_power=900))  # fmt: skip
    # Execute / Assert
    with pytest.raises(StateDrift) as caught, board.factory.begin() as s:
        audit_database(s)
    assert caught.value.index == vote_seq
    assert "tally of proposal" in caught.value.what


def test_a_loosened_policy_in_force_is_named_at_its_policy_entry(board: Board) -> None:  # noqa: F811
    # Prepare: the policy in force (set by the fixture's policy-changed entry) gets a higher ε cap
    with board.factory.begin() as s:
        row = s.execute(select(PolicyVersionRow).order_by(PolicyVersionRow.version.desc())
                        .limit(1)).scalar_one()  # fmt: skip
        seq, parameters = row.seq, json.loads(row.parameters)
        parameters["max_epsilon_per_round"] = 50.0
        row.parameters = json.dumps(parameters)
    # Execute / Assert
    with pytest.raises(StateDrift) as caught, board.factory.begin() as s:
        audit_database(s)
    assert caught.value.index == seq
    assert "policy version" in caught.value.what
