"""Proposals and signed votes on a real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.models import VoteRow
from consortium.governance.rules import ProposalKind, ProposalState, Support
from consortium.governance.store import (
    cast_vote,
    create_proposal,
    get_proposal,
    votes,
    voting_power,
)
from consortium.ledger.audit import verify_database
from consortium.ledger.models import EntryRow
from consortium.ledger.store import ledger_size
from consortium.points.store import balance, mint
from tests.governance.conftest import Board

FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


def _propose(board: Board, *, by: str = "alpha", at: float = 0, **kw: object) -> str:
    values: dict[str, object] = {"kind": ProposalKind.FEES, "params": FEES,
                                 "title": "Raise the lane fee"}  # fmt: skip
    values.update(kw)
    with board.factory.begin() as s:
        record = create_proposal(s, signer=board.keys[by], clock=board.tick(at), **values)  # type: ignore[arg-type]
    return record.proposal_id


def _entry(s: Session, seq: int) -> tuple[str, dict[str, object], str]:
    row = s.get(EntryRow, seq)
    assert row is not None
    return row.kind, json.loads(row.payload), row.actor


def test_a_proposal_is_signed_by_its_proposer_and_keeps_text_off_ledger(board: Board) -> None:
    # Execute
    pid = _propose(board, description="Lane answers now use the rail feed; costs went up.")
    # Assert
    with board.factory.begin() as s:
        record = get_proposal(s, pid)
        kind, payload, actor = _entry(s, record.created_seq)
        verify_database(s)
    assert (kind, actor) == ("proposal-created", board.keys["alpha"].key_id)
    assert payload["params"] == FEES
    assert payload["proposer"] == "alpha"
    assert payload["vote_start"] == "{}.000000Z".format(board.at(60).strftime("%Y-%m-%dT%H:%M:%S"))
    assert "rail feed" not in json.dumps(payload)
    assert record.description.startswith("Lane answers")
    assert (record.timeline.quorum_bps, record.vote_power_cap_bps) == (4000, 5000)
    assert record.state(now=board.at(60)) is ProposalState.PENDING


def test_votes_count_capped_power_at_the_snapshot_and_are_signed_by_the_voter(
    board: Board,
) -> None:
    # Prepare
    pid = _propose(board)
    # Execute
    with board.factory.begin() as s:
        alpha = cast_vote(s, proposal_id=pid, support="for", signer=board.keys["alpha"],
                          clock=board.tick(61))  # fmt: skip
        gamma = cast_vote(s, proposal_id=pid, support=Support.AGAINST, signer=board.keys["gamma"],
                          clock=board.tick(62), comment="Too soon.")  # fmt: skip
    # Assert
    with board.factory.begin() as s:
        record = get_proposal(s, pid)
        kind, payload, actor = _entry(s, alpha.seq)
        _, gamma_payload, _ = _entry(s, gamma.seq)
        powers = {m: voting_power(s, pid, m) for m in ("alpha", "beta", "gamma")}
        stored = s.execute(select(VoteRow.comment).where(VoteRow.seq == gamma.seq)).scalar_one()
    assert powers == {"alpha": 500, "beta": 300, "gamma": 100}  # alpha capped at 50 %
    assert (alpha.power, gamma.power) == (500, 100)
    assert (kind, actor) == ("vote-cast", board.keys["alpha"].key_id)
    assert payload == {"proposal_id": pid, "member": "alpha", "support": "for", "power": 500,
                       "snapshot_seq": record.snapshot_seq}  # fmt: skip
    assert "Too soon" not in json.dumps(gamma_payload)
    assert "comment_sha256" in gamma_payload
    assert stored == "Too soon."
    assert record.snapshot_fixed
    assert record.total_power == 900
    assert (record.tally.for_power, record.tally.against_power) == (500, 100)


def test_points_moved_after_voting_opens_do_not_count(board: Board) -> None:
    # Prepare: voting opens, alpha votes (the snapshot is recorded), then gamma earns a lot
    pid = _propose(board)
    with board.factory.begin() as s:
        cast_vote(
            s, proposal_id=pid, support="for", signer=board.keys["alpha"], clock=board.tick(61)
        )
        snapshot = get_proposal(s, pid).snapshot_seq
        mint(s, account="member:gamma", amount=5000, reason="contribution",
             refs={"model": "eta", "round": 2}, signer=board.coordinator,
             moment=board.clock.now())  # fmt: skip
    # Execute
    with board.factory.begin() as s:
        vote = cast_vote(s, proposal_id=pid, support="against", signer=board.keys["gamma"],
                         clock=board.tick(70))  # fmt: skip
        now_balance = balance(s, "member:gamma")
    # Assert
    assert now_balance == 5100
    assert vote.power == 100
    assert vote.snapshot_seq == snapshot


def test_the_snapshot_is_the_first_entry_after_vote_start_even_before_any_vote(
    board: Board,
) -> None:
    # Prepare: an entry dated after vote_start (a mint at +100 s), then one more mint
    pid = _propose(board)
    with board.factory.begin() as s:
        late = mint(s, account="member:gamma", amount=700, reason="contribution",
                    refs={"model": "eta", "round": 2}, signer=board.coordinator,
                    moment=board.at(100))  # fmt: skip
        mint(s, account="member:beta", amount=700, reason="contribution",
             refs={"model": "eta", "round": 2}, signer=board.coordinator,
             moment=board.at(101))  # fmt: skip
    # Execute
    with board.factory.begin() as s:
        before_vote = get_proposal(s, pid)
        power = voting_power(s, pid, "gamma")
        vote = cast_vote(s, proposal_id=pid, support="for", signer=board.keys["beta"],
                         clock=board.tick(200))  # fmt: skip
    # Assert
    assert not before_vote.snapshot_fixed
    assert before_vote.snapshot_seq == late.seq
    assert power == 100
    assert (vote.snapshot_seq, vote.power) == (late.seq, 300)


def test_a_member_votes_once_per_proposal(board: Board) -> None:
    # Prepare
    pid = _propose(board)
    with board.factory.begin() as s:
        cast_vote(
            s, proposal_id=pid, support="for", signer=board.keys["beta"], clock=board.tick(61)
        )
        size = ledger_size(s)
    # Execute
    with pytest.raises(GovernanceError) as again, board.factory.begin() as s:
        cast_vote(s, proposal_id=pid, support="against", signer=board.keys["beta"],
                  clock=board.tick(62))  # fmt: skip
    with board.factory.begin() as s:  # the database backstop, should the check be bypassed
        first = s.execute(select(VoteRow).where(VoteRow.member == "beta")).scalar_one()
        s.add(VoteRow(proposal_id=pid, member="beta", voter_key_id=first.voter_key_id,
                      support="against", power=1, snapshot_seq=first.snapshot_seq,
                      seq=first.seq - 1, cast_at=first.cast_at))  # fmt: skip
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
    # Assert
    assert (again.value.code, again.value.subject) == ("double-vote", "beta")
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        record = get_proposal(s, pid)
        assert [v.support for v in votes(s, pid)] == [Support.FOR]
    assert (record.tally.for_power, record.tally.against_power) == (300, 0)


def test_concurrent_votes_are_all_counted_and_a_concurrent_double_vote_is_refused(
    board: Board,
) -> None:
    # Prepare: four voters start together, beta twice
    pid = _propose(board)
    voters = ["alpha", "beta", "gamma", "beta"]
    barrier = threading.Barrier(len(voters))
    outcomes: list[str] = []

    def vote(name: str) -> None:
        barrier.wait()
        try:
            with board.factory.begin() as s:
                cast_vote(s, proposal_id=pid, support="for", signer=board.keys[name],
                          clock=board.tick(61))  # fmt: skip
            outcomes.append("ok")
        except GovernanceError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=vote, args=(name,)) for name in voters]
    # Execute
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Assert
    assert sorted(outcomes) == ["double-vote", "ok", "ok", "ok"]
    with board.factory.begin() as s:
        record = get_proposal(s, pid)
        cast = votes(s, pid)
        verify_database(s)
    assert record.tally.for_power == 900 == sum(v.power for v in cast)
    assert sorted(v.member for v in cast) == ["alpha", "beta", "gamma"]
    assert record.timeline.quorum_reached_at == board.at(61)
