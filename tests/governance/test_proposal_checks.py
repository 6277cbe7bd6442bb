"""Proposal params are checked at creation, and execution is timelocked and atomic (SQLite)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from consortium.errors import GovernanceError, MembershipError
from consortium.governance.execution import execute_proposal
from consortium.governance.rules import GRACE_PERIOD_S, ProposalKind, ProposalState, Support
from consortium.governance.store import (
    cast_vote,
    create_proposal,
    get_proposal,
    list_proposals,
    queue_proposal,
)
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.membership import get_member, remove_member
from consortium.policy.store import current_policy
from tests.governance.conftest import Board

NEW_KEY = Signer.generate()
FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only here; the backend-sensitive paths run on both in test_voting/test_execution."""
    return f"sqlite:///{tmp_path / 'consortium.db'}"


@pytest.mark.parametrize(
    ("kind", "params", "subject", "code"),
    [
        ("fees", {"lane_query_points": 12}, "params.warehouse_query_points", "missing-field"),
        ("fees", {"lane_query_points": 1.5, "warehouse_query_points": 3},
         "params.lane_query_points", "type-error"),
        ("fees", {"lane_query_points": 0, "warehouse_query_points": 3}, "params.lane_query_points",
         "bad-policy-value"),
        ("revenue-split", {"rule": "by-mood", "coordinator_share_bps": 100}, "params.rule",
         "constraint-error"),
        ("privacy-policy", {"epsilon_cap": 8.0}, "params.delta", "missing-field"),
        ("privacy-policy", {"epsilon_cap": 1.0, "delta": 0.01}, "params.delta", "constraint-error"),
        ("contribution-rule", {"contribution_rule": "by-size"}, "params.contribution_rule",
         "bad-policy-value"),
        ("contribution-rule", {"fees": {"lane": 1}}, "params.fees", "extra-field"),
        ("governance-rules", {}, "params", "missing-field"),
        ("governance-rules", {"quorum_bps": 12000}, "params.quorum_bps", "bad-policy-value"),
        ("on-time-tolerance", {"on_time_tolerance_minutes": {"air": 0}},
         "params.on_time_tolerance_minutes.air", "bad-policy-value"),
        ("on-time-tolerance", {"on_time_tolerance_minutes": {"air": 45.5}},
         "params.on_time_tolerance_minutes.air", "bad-policy-type"),
        ("on-time-tolerance", {"on_time_tolerance_minutes": {"ship": 60}},
         "params.on_time_tolerance_minutes.ship", "unknown-policy-key"),
        ("on-time-tolerance", {"air": 30}, "params.air", "extra-field"),
        ("admit-member", {"member_id": "beta", "key_id": NEW_KEY.key_id, "role": "member"},
         "params.member_id", "already-member"),
        ("admit-member", {"member_id": "Delta.Co", "key_id": NEW_KEY.key_id, "role": "member"},
         "params.member_id", "bad-member-id"),
        ("admit-member", {"member_id": "delta", "key_id": "ab" * 32, "role": "member"},
         "params.key_id", "key-mismatch"),
        ("admit-member", {"member_id": "delta", "key_id": NEW_KEY.key_id, "role": "member",
                          "display_name": "Delta Freight"}, "params.display_name",
         "off-ledger-details"),
        ("admit-member", {"member_id": "delta", "key_id": NEW_KEY.key_id, "role": "cargo-owner"},
         "params.role", "bad-role"),
        ("remove-member", {"member_id": "nobody-here"}, "params.member_id", "unknown-member"),
        ("feature-request", {"area": "eta"}, "params.details", "missing-field"),
        ("feature-request", {"area": "weather", "details": "x"}, "params.area",
         "constraint-error"),
        ("treasury-raid", {}, "kind", "bad-kind"),
    ],
)  # fmt: skip
def test_bad_params_are_refused_naming_the_field(
    board: Board, kind: str, params: dict[str, Any], subject: str, code: str
) -> None:
    # Prepare
    with board.factory.begin() as s:
        size = ledger_size(s)
    # Execute
    with pytest.raises(GovernanceError) as caught, board.factory.begin() as s:
        create_proposal(s, kind=kind, params=params, title="A proposal", signer=board.keys["beta"],
                        clock=board.tick(0), public_key=NEW_KEY.public_key)  # fmt: skip
    # Assert
    assert (caught.value.subject, caught.value.code) == (subject, code)
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert list_proposals(s) == []


def test_only_active_members_propose_and_titles_are_checked(board: Board) -> None:
    # Prepare
    with board.factory.begin() as s:
        remove_member(s, member="gamma", signer=board.coordinator, proposal_id="p-1")
    # Execute
    with pytest.raises(GovernanceError) as coordinator, board.factory.begin() as s:
        create_proposal(s, kind="fees", params=FEES, title="Fees", signer=board.coordinator,
                        clock=board.tick(0))  # fmt: skip
    with pytest.raises(MembershipError) as removed, board.factory.begin() as s:
        create_proposal(s, kind="fees", params=FEES, title="Fees", signer=board.keys["gamma"],
                        clock=board.tick(0))  # fmt: skip
    with pytest.raises(GovernanceError) as short, board.factory.begin() as s:
        create_proposal(s, kind="fees", params=FEES, title="F", signer=board.keys["beta"],
                        clock=board.tick(0))  # fmt: skip
    with pytest.raises(GovernanceError) as short_v2, board.factory.begin() as s:
        create_proposal(s, kind="governance-rules", params={"quorum_bps": 100}, title="Q",
                        signer=board.keys["beta"], clock=board.tick(0))  # fmt: skip
    with pytest.raises(GovernanceError) as bad_key, board.factory.begin() as s:
        create_proposal(s, kind="admit-member", params={"member_id": "delta"}, title="Delta",
                        signer=board.keys["beta"], clock=board.tick(0),
                        public_key=b"short")  # fmt: skip
    # Assert
    assert (bad_key.value.subject, bad_key.value.code) == ("public_key", "bad-public-key")
    assert coordinator.value.code == "not-a-member"
    assert removed.value.code == "member-removed"
    assert (short.value.subject, short.value.code) == ("title", "constraint-error")
    assert (short_v2.value.subject, short_v2.value.code) == ("title", "constraint-error")


def _queued(board: Board, kind: ProposalKind, params: dict[str, Any], *, at: float = 0,
            public_key: bytes | None = None) -> tuple[str, Any]:  # fmt: skip
    start = board.elapsed() + at  # the coordinator's clock only moves forwards
    with board.factory.begin() as s:
        pid = create_proposal(s, kind=kind, params=params, title=f"Proposal at {at}",
                              signer=board.keys["alpha"], clock=board.tick(start),
                              public_key=public_key).proposal_id  # fmt: skip
    return pid, board.pass_and_queue(pid, created=start)


def test_execution_waits_for_the_timelock_and_happens_once(board: Board) -> None:
    # Prepare
    pid, eta = _queued(board, ProposalKind.FEES, FEES)
    # Execute
    with pytest.raises(GovernanceError) as early, board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta - timedelta(seconds=1)),
                         signer=board.coordinator)  # fmt: skip
    with pytest.raises(GovernanceError) as by_member, board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.keys["alpha"])
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
        size = ledger_size(s)
    with pytest.raises(GovernanceError) as again, board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
    # Assert
    assert [e.value.code for e in (early, by_member, again)] == [
        "timelock", "not-allowed", "not-queued",
    ]  # fmt: skip
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert current_policy(s).fees["lane"] == 12


def test_unqueued_and_expired_proposals_are_not_executed(board: Board) -> None:
    # Prepare: one passes but is never queued; one is queued and left past the grace period
    with board.factory.begin() as s:
        idle = create_proposal(s, kind="fees", params=FEES, title="Idle",
                               signer=board.keys["alpha"],
                               clock=board.tick(0)).proposal_id  # fmt: skip
        late = create_proposal(s, kind="fees", params=FEES, title="Late",
                               signer=board.keys["alpha"],
                               clock=board.tick(1)).proposal_id  # fmt: skip
    with board.factory.begin() as s:
        for pid in (idle, late):
            for name in ("alpha", "beta"):
                cast_vote(s, proposal_id=pid, support=Support.FOR, signer=board.keys[name],
                          clock=board.tick(62))  # fmt: skip
    with board.factory.begin() as s:
        queued = queue_proposal(s, proposal_id=late, clock=board.tick(7200),
                                signer=board.coordinator)  # fmt: skip
    assert queued.eta is not None
    eta = queued.eta
    # Execute
    with pytest.raises(GovernanceError) as unqueued, board.factory.begin() as s:
        execute_proposal(s, proposal_id=idle, clock=board.tick(7200), signer=board.coordinator)
    expired_at = eta + timedelta(seconds=GRACE_PERIOD_S)
    with pytest.raises(GovernanceError) as expired, board.factory.begin() as s:
        execute_proposal(s, proposal_id=late, clock=board.until(expired_at),
                         signer=board.coordinator)  # fmt: skip
    # Assert
    assert unqueued.value.code == "not-queued"
    assert "queue it first" in unqueued.value.reason
    assert expired.value.code == "not-queued"
    with board.factory.begin() as s:
        assert get_proposal(s, late).state(now=expired_at) is ProposalState.EXPIRED


def test_a_failing_effect_leaves_nothing_written_and_the_proposal_queued(board: Board) -> None:
    # Prepare: two proposals admit the same member id; the first one executed wins
    key_a, key_b = Signer.generate(), Signer.generate()
    with board.factory.begin() as s:
        first, second = (
            create_proposal(s, kind=ProposalKind.ADMIT_MEMBER, params={"member_id": "delta"},
                            title=f"Admit delta ({n})", signer=board.keys["alpha"],
                            clock=board.tick(n), public_key=key.public_key).proposal_id
            for n, key in ((0, key_a), (1, key_b))
        )  # fmt: skip
    eta_first, eta_second = board.pass_and_queue_all([first, second])
    with board.factory.begin() as s:
        execute_proposal(
            s, proposal_id=first, clock=board.until(eta_first), signer=board.coordinator
        )
        size = ledger_size(s)
    # Execute
    with board.factory.begin() as s:
        with pytest.raises(MembershipError) as caught:
            execute_proposal(
                s, proposal_id=second, clock=board.until(eta_second), signer=board.coordinator
            )
        # the caller's transaction goes on and commits: the savepoint left nothing behind
    # Assert
    assert caught.value.code == "already-member"
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert get_proposal(s, second).state(now=eta_second) is ProposalState.QUEUED
        delta = get_member(s, "delta")
        assert delta is not None
        assert delta.key_id == key_a.key_id
