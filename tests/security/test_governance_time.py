"""Issue 14, item 12: governance time comes from the coordinator's clock only.

The attacks, run for real against SQLite and PostgreSQL and through the CLI:

* (in ``test_governance_cli.py``) a member backdates its vote (``consortium vote --now``) to
  turn a queued proposal into a defeated one;
* a vote reaches a proposal that is already queued (a clock rewound into the voting period);
* a proposal dated in the past gets a snapshot from before its own creation (power counted on
  old balances);
* an entry is written with a time older than the entry before it.

On the old code the CLI accepted ``--now`` for propose, vote, queue and execute, and the store
took any ``now`` the caller passed: each of these went through.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import EntryOutOfOrder, GovernanceError
from consortium.governance.clock import ManualClock
from consortium.governance.models import ProposalRow
from consortium.governance.rules import ProposalKind, ProposalState, Support
from consortium.governance.store import cast_vote, create_proposal, get_proposal
from consortium.ledger.audit import verify_database
from consortium.ledger.canonical import format_time
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, ledger_size, load_entries
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)

FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


def _queued(board: Board) -> str:  # noqa: F811
    """A fee proposal that alpha and beta pass; queued after its deadline."""
    with board.factory.begin() as s:
        pid = create_proposal(s, kind=ProposalKind.FEES, params=FEES, title="Fees",
                              signer=board.keys["alpha"],
                              clock=board.tick(0)).proposal_id  # fmt: skip
    board.pass_and_queue(pid)
    return pid


def test_a_vote_on_a_queued_proposal_is_refused_even_with_a_rewound_clock(
    board: Board,  # noqa: F811
) -> None:
    # Prepare: passed and queued (for 800 of 900: alpha 500 + beta 300)
    pid = _queued(board)
    with board.factory.begin() as s:
        size, before = ledger_size(s), get_proposal(s, pid)
    # Execute: gamma votes against with a clock set back into the voting period
    rewound = ManualClock(board.at(120))
    with pytest.raises(GovernanceError) as caught, board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support=Support.AGAINST, signer=board.keys["gamma"],
                  clock=rewound)  # fmt: skip
    # Assert
    assert caught.value.code == "voting-closed"
    assert "queued" in caught.value.reason
    with board.factory.begin() as s:
        after = get_proposal(s, pid)
        assert ledger_size(s) == size
    assert after.tally == before.tally
    assert after.state(now=board.at(7300)) is ProposalState.QUEUED


def test_a_proposal_cannot_be_dated_before_the_last_entry(board: Board) -> None:  # noqa: F811
    # Prepare: a year-old clock, as a backdating caller would bring
    old = ManualClock(datetime.now(UTC) - timedelta(days=365))
    with board.factory.begin() as s:
        size = ledger_size(s)
    # Execute
    with pytest.raises(EntryOutOfOrder) as caught, board.factory.begin() as s:
        create_proposal(s, kind=ProposalKind.FEES, params=FEES, title="Backdated fees",
                        signer=board.keys["gamma"], clock=old)  # fmt: skip
    # Assert: nothing written, and the entry named
    assert caught.value.seq == size
    with board.factory.begin() as s:
        assert ledger_size(s) == size


def test_a_snapshot_is_never_before_the_proposal_even_if_its_times_were_forged(
    board: Board,  # noqa: F811
) -> None:
    # Prepare: a proposal whose stored vote_start is moved to 2020 (what a backdated `--now`
    # wrote on the old code): the snapshot would be entry 1, before any point was minted
    with board.factory.begin() as s:
        record = create_proposal(s, kind=ProposalKind.FEES, params=FEES, title="Fees",
                                 signer=board.keys["gamma"], clock=board.tick(0))  # fmt: skip
        s.execute(
            update(ProposalRow).where(ProposalRow.proposal_id == record.proposal_id)
            .values(vote_start=format_time(datetime(2020, 1, 1, tzinfo=UTC)))
        )  # fmt: skip
    # Execute
    with board.factory.begin() as s:
        forged = get_proposal(s, record.proposal_id)
    # Assert
    assert forged.snapshot_seq > record.created_seq
    assert forged.total_power == 900  # alpha capped at 500, beta 300, gamma 100


def test_an_entry_older_than_the_one_before_it_is_refused(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare: one entry now
    with factory.begin() as s:
        append_entry(s, kind="round-closed", payload={"round": 1, "model_hash": "aa" * 32},
                     signer=coordinator)  # fmt: skip
        last = load_entries(s)[-1]
        size = ledger_size(s)
    # Execute: the next one dated a second earlier
    with pytest.raises(EntryOutOfOrder) as caught, factory.begin() as s:
        append_entry(s, kind="round-closed", payload={"round": 2, "model_hash": "bb" * 32},
                     signer=coordinator, moment=last.timestamp - timedelta(seconds=1))  # fmt: skip
    # Assert: refused, nothing written, the same time is still accepted
    assert (caught.value.seq, caught.value.previous) == (size, last.time)
    with factory.begin() as s:
        assert ledger_size(s) == size
        same = append_entry(s, kind="round-closed", payload={"round": 2, "model_hash": "bb" * 32},
                            signer=coordinator, moment=last.timestamp)  # fmt: skip
        verify_database(s)
    assert same.seq == size
