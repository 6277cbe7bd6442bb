"""Lifecycle edges of proposals and votes (SQLite only: the SQL is the same as in test_voting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consortium.errors import GovernanceError, MembershipError
from consortium.governance.rules import ProposalKind, ProposalState
from consortium.governance.store import (
    cancel_proposal,
    cast_vote,
    create_proposal,
    get_proposal,
    list_proposals,
    proposal_state,
    queue_proposal,
)
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.membership import admit_member, remove_member
from consortium.points.store import mint
from tests.governance.conftest import Board

FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only here; the backend-sensitive paths run on both in test_voting/test_execution."""
    return f"sqlite:///{tmp_path / 'consortium.db'}"


def _propose(board: Board, *, by: str = "alpha", at: float = 0, title: str = "Fees") -> str:
    with board.factory.begin() as s:
        record = create_proposal(s, kind=ProposalKind.FEES, params=FEES, title=title,
                                 signer=board.keys[by], clock=board.tick(at))  # fmt: skip
    return record.proposal_id


@pytest.mark.parametrize(
    ("voter", "at", "code"),
    [
        ("alpha", 60, "voting-not-open"),  # at vote_start: still pending (Governor)
        ("alpha", 3661, "voting-closed"),
        ("coordinator", 61, "not-a-member"),
        ("newcomer", 61, "not-a-holder"),
    ],
)
def test_votes_outside_the_window_or_without_power_are_refused(
    board: Board, voter: str, at: int, code: str
) -> None:
    # Prepare: a member admitted (and paid) after the proposal has no power at its snapshot
    pid = _propose(board)
    newcomer = Signer.generate()
    with board.factory.begin() as s:
        if at > 60:  # the coordinator's clock cannot go back to vote_start afterwards
            cast_vote(
                s, proposal_id=pid, support="for", signer=board.keys["gamma"], clock=board.tick(61)
            )
            admit_member(s, member="newcomer", public_key=newcomer.public_key,
                         signer=board.coordinator, moment=board.clock.now())  # fmt: skip
            mint(s, account="member:newcomer", amount=900, reason="contribution",
                 refs={"model": "eta", "round": 2}, signer=board.coordinator,
                 moment=board.clock.now())  # fmt: skip
        size = ledger_size(s)
    others = {"coordinator": board.coordinator, "newcomer": newcomer}
    signer = others.get(voter) or board.keys[voter]
    # Execute
    with pytest.raises(GovernanceError) as caught, board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support="for", signer=signer, clock=board.tick(at))
    # Assert
    assert caught.value.code == code
    with board.factory.begin() as s:
        assert ledger_size(s) == size


def test_a_removed_member_can_no_longer_vote(board: Board) -> None:
    # Prepare
    pid = _propose(board)
    with board.factory.begin() as s:
        remove_member(s, member="beta", signer=board.coordinator, proposal_id="p-1",
                      moment=board.clock.now())  # fmt: skip
    # Execute
    with pytest.raises(MembershipError) as caught, board.factory.begin() as s:
        cast_vote(
            s, proposal_id=pid, support="for", signer=board.keys["beta"], clock=board.tick(61)
        )
    # Assert
    assert caught.value.code == "member-removed"


def test_late_quorum_extends_voting_and_the_lifecycle_runs_to_queued(board: Board) -> None:
    # Prepare: capped total power 900, quorum 40 % = 360 (for + abstain). gamma abstains early
    # (100); beta's "for" (300) reaches the quorum 2 minutes before the end, so the deadline
    # moves to that time + 5 minutes
    pid = _propose(board)
    with board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support="abstain", signer=board.keys["gamma"],
                  clock=board.tick(61))  # fmt: skip
        cast_vote(s, proposal_id=pid, support="for", signer=board.keys["beta"],
                  clock=board.tick(60 + 3600 - 120))  # fmt: skip
    # Execute: the deadline is extended; alpha votes one minute after the original deadline
    with board.factory.begin() as s:
        extended = get_proposal(s, pid)
        with pytest.raises(GovernanceError) as early:
            queue_proposal(s, proposal_id=pid, clock=board.tick(3700), signer=board.coordinator)
        cast_vote(s, proposal_id=pid, support="abstain", signer=board.keys["alpha"],
                  clock=board.tick(60 + 3600 + 60))  # fmt: skip
        states = {t: proposal_state(s, pid, now=board.at(t)) for t in (3600 + 60 + 180, 3841)}
        with pytest.raises(GovernanceError) as by_member:
            queue_proposal(s, proposal_id=pid, clock=board.tick(3900), signer=board.keys["beta"])
        queued = queue_proposal(
            s, proposal_id=pid, clock=board.tick(3900), signer=board.coordinator
        )
    # Assert
    assert extended.deadline == board.at(60 + 3600 - 120 + 300)
    assert states == {3840: ProposalState.ACTIVE, 3841: ProposalState.SUCCEEDED}
    assert (early.value.code, by_member.value.code) == ("not-succeeded", "not-allowed")
    assert queued.eta == board.at(3900 + 600)
    assert queued.state(now=board.at(3901)) is ProposalState.QUEUED
    assert (queued.tally.for_power, queued.tally.abstain_power) == (300, 600)


def test_without_quorum_a_proposal_is_defeated_and_cannot_be_queued(board: Board) -> None:
    # Prepare: only gamma (100 of 900, quorum 360) votes
    pid = _propose(board)
    with board.factory.begin() as s:
        cast_vote(
            s, proposal_id=pid, support="for", signer=board.keys["gamma"], clock=board.tick(61)
        )
    # Execute
    with pytest.raises(GovernanceError) as caught, board.factory.begin() as s:
        queue_proposal(s, proposal_id=pid, clock=board.tick(7200), signer=board.coordinator)
    # Assert
    assert caught.value.code == "not-succeeded"
    with board.factory.begin() as s:
        assert proposal_state(s, pid, now=board.at(7200)) is ProposalState.DEFEATED


def test_the_proposer_may_cancel_only_while_pending(board: Board) -> None:
    # Prepare
    first, second = _propose(board), _propose(board, title="Another fee change", at=1)
    # Execute
    with pytest.raises(GovernanceError) as stranger, board.factory.begin() as s:
        cancel_proposal(s, proposal_id=first, clock=board.tick(10), signer=board.keys["beta"])
    with board.factory.begin() as s:
        canceled = cancel_proposal(s, proposal_id=first, clock=board.tick(10),
                                   signer=board.keys["alpha"])  # fmt: skip
    with pytest.raises(GovernanceError) as closed, board.factory.begin() as s:
        cast_vote(s, proposal_id=first, support="for", signer=board.keys["alpha"],
                  clock=board.tick(62))  # fmt: skip
    with pytest.raises(GovernanceError) as late, board.factory.begin() as s:
        cancel_proposal(s, proposal_id=second, clock=board.tick(100), signer=board.keys["alpha"])
    # Assert
    assert (stranger.value.code, late.value.code, closed.value.code) == (
        "not-proposer", "not-pending", "voting-closed",
    )  # fmt: skip
    assert canceled.state(now=board.at(61)) is ProposalState.CANCELED
    with board.factory.begin() as s:
        assert [p.proposal_id for p in list_proposals(s)] == [second, first]
