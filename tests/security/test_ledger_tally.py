"""Issue 14, item 9: a tally raised off the ledger cannot queue or execute a proposal.

The attack: someone with write access to the coordinator's database raises a proposal's stored
tally with a SQL ``UPDATE``, so a proposal the signed votes did not pass looks succeeded.
Queueing and execution now recompute the tally from the ``vote-cast`` entries and refuse when
the stored tally disagrees. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from consortium.errors import GovernanceError
from consortium.governance.execution import execute_proposal
from consortium.governance.models import ProposalRow
from consortium.governance.rules import ProposalKind, Support
from consortium.governance.store import (
    cast_vote,
    create_proposal,
    get_proposal,
    queue_proposal,
)
from consortium.ledger.store import ledger_size
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)

FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


def _propose(board: Board) -> str:  # noqa: F811
    with board.factory.begin() as s:
        record = create_proposal(s, kind=ProposalKind.FEES, params=FEES, title="Fees",
                                 signer=board.keys["alpha"], clock=board.tick(0))  # fmt: skip
    return record.proposal_id


def _raise_tally(board: Board, proposal_id: str, **columns: int) -> None:  # noqa: F811
    with board.factory.begin() as s:
        s.execute(update(ProposalRow).where(ProposalRow.proposal_id == proposal_id)
                  .values(**columns))  # fmt: skip


def test_an_updated_tally_does_not_queue_a_defeated_proposal(board: Board) -> None:  # noqa: F811
    # Prepare: only gamma (100 of 1000) votes for: no quorum, so the ledger's votes defeat it
    pid = _propose(board)
    with board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support=Support.FOR, signer=board.keys["gamma"],
                  clock=board.tick(61))  # fmt: skip
    _raise_tally(board, pid, for_power=900)
    with board.factory.begin() as s:
        size = ledger_size(s)
    # Execute: the coordinator tries to queue it after the deadline
    with pytest.raises(GovernanceError) as refused, board.factory.begin() as s:
        queue_proposal(s, proposal_id=pid, clock=board.tick(7200), signer=board.coordinator)
    # Assert: refused, nothing written, and the proposal is not queued
    assert refused.value.code == "tally-drift"
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert get_proposal(s, pid).queued_seq is None


def test_an_updated_tally_does_not_execute_a_queued_proposal(board: Board) -> None:  # noqa: F811
    # Prepare: a proposal passed by the votes and queued; then its stored tally is rewritten
    pid = _propose(board)
    eta = board.pass_and_queue(pid)
    _raise_tally(board, pid, against_power=10_000)
    # Execute / Assert: execution recomputes the tally from the vote entries and refuses
    with pytest.raises(GovernanceError) as refused, board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
    assert refused.value.code == "tally-drift"
    # Restoring the stored tally to the ledger's lets it run
    _raise_tally(board, pid, against_power=0)
    with board.factory.begin() as s:
        assert execute_proposal(s, proposal_id=pid, clock=board.until(eta),
                                signer=board.coordinator).executed_seq is not None  # fmt: skip
