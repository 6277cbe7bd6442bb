"""Executing passed proposals changes the running consortium (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from consortium.errors import MembershipError
from consortium.governance.execution import execute_proposal
from consortium.governance.rules import ProposalKind, ProposalState
from consortium.governance.store import cast_vote, create_proposal, get_proposal
from consortium.identity.details import MemberDetailsRow, record_member_details
from consortium.identity.registry import get_key
from consortium.ledger.audit import verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.membership import get_member, member_of_key, require_active
from consortium.policy.store import current_policy
from tests.governance.conftest import Board

POLICY_PROPOSALS = [
    (ProposalKind.FEES, {"lane_query_points": 12, "warehouse_query_points": 30}),
    (ProposalKind.REVENUE_SPLIT, {"rule": "equal", "coordinator_share_bps": 500}),
    (ProposalKind.PRIVACY_POLICY, {"epsilon_cap": 1.5, "delta": 1e-6, "min_group_size": 30}),
    (ProposalKind.CONTRIBUTION_RULE, {"points_per_example": 2, "contribution_cap_per_round": 900}),
    (ProposalKind.GOVERNANCE_RULES, {"vote_power_cap_bps": 2000, "timelock_s": 1200}),
]


def _create(board: Board, kind: ProposalKind, params: dict[str, object], *, at: float = 0,
            public_key: bytes | None = None) -> str:  # fmt: skip
    with board.factory.begin() as s:
        record = create_proposal(s, kind=kind, params=params, title=f"Change {kind}",
                                 signer=board.keys["alpha"], clock=board.tick(at),
                                 public_key=public_key)  # fmt: skip
    return record.proposal_id


def _executed_entries(board: Board) -> list[dict[str, object]]:
    with board.factory.begin() as s:
        rows = s.execute(
            select(EntryRow.payload)
            .where(EntryRow.kind == "proposal-executed")
            .order_by(EntryRow.seq)
        ).scalars()
        return [json.loads(p) for p in rows]


def test_policy_proposals_change_fees_split_privacy_rule_and_governance(board: Board) -> None:
    # Prepare: five proposals pass and are queued
    ids = [_create(board, kind, params) for kind, params in POLICY_PROPOSALS]
    etas = board.pass_and_queue_all(ids)
    # Execute
    with board.factory.begin() as s:
        executed = [
            execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
            for pid, eta in zip(ids, etas, strict=True)
        ]
    # Assert: current_policy, which the next query and round read, shows every change
    with board.factory.begin() as s:
        policy = current_policy(s)
        changes = (
            s.execute(
                select(EntryRow.payload)
                .where(EntryRow.kind == "policy-changed")
                .order_by(EntryRow.seq)
            )
            .scalars()
            .all()
        )
        verify_database(s)
    assert dict(policy.fees) == {"lane": 12, "warehouse": 30}
    assert (policy.split_rule, policy.treasury_share_bps) == ("equal", 500)
    assert (policy.max_epsilon_per_round, policy.max_delta, policy.min_group_size) == (
        1.5, 1e-6, 30,
    )  # fmt: skip
    assert (policy.points_per_example, policy.contribution_cap_per_round) == (2, 900)
    assert (policy.vote_power_cap_bps, policy.timelock_s) == (2000, 1200)
    assert all(r.state(now=board.at(10**6)) is ProposalState.EXECUTED for r in executed)
    assert [json.loads(c).get("proposal_id") for c in changes][-5:] == ids
    assert [e["proposal_id"] for e in _executed_entries(board)] == ids


def test_new_governance_rules_apply_to_proposals_made_afterwards(board: Board) -> None:
    # Prepare: the cap drops from 50 % to 20 % by proposal
    pid = _create(board, ProposalKind.GOVERNANCE_RULES, {"vote_power_cap_bps": 2000})
    eta = board.pass_and_queue(pid)
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
    # Execute
    later = _create(board, ProposalKind.FEES,
                    {"lane_query_points": 11, "warehouse_query_points": 25}, at=20000)  # fmt: skip
    with board.factory.begin() as s:
        vote = cast_vote(s, proposal_id=later, support="for", signer=board.keys["alpha"],
                         clock=board.tick(20061))  # fmt: skip
    # Assert: alpha (600 of 1000) now votes with 200
    assert vote.power == 200


def test_admit_and_remove_proposals_change_the_roster_and_the_registry(board: Board) -> None:
    # Prepare: gamma has details on file; proposals admit delta and remove gamma
    delta = Signer.generate()
    with board.factory.begin() as s:
        record_member_details(s, member="gamma", details={"company": "Gamma Air Cargo"},
                              signer=board.coordinator)  # fmt: skip
    admit = _create(board, ProposalKind.ADMIT_MEMBER, {"member_id": "delta"},
                    public_key=delta.public_key)  # fmt: skip
    admit_eta = board.pass_and_queue(admit)
    gamma_key = board.keys["gamma"].key_id
    # Execute: delta joins first (three members is the board's minimum), then gamma is removed
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=admit, clock=board.until(admit_eta),
                         signer=board.coordinator)  # fmt: skip
    start = board.elapsed() + 1
    remove = _create(board, ProposalKind.REMOVE_MEMBER,
                     {"member_id": "gamma", "reason": "Left the market."}, at=start)  # fmt: skip
    remove_eta = board.pass_and_queue(remove, created=start)
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=remove, clock=board.until(remove_eta),
                         signer=board.coordinator)  # fmt: skip
    # Assert
    with board.factory.begin() as s:
        admitted = require_active(s, "delta")
        registered = get_key(s, delta.key_id)
        assert member_of_key(s, delta.key_id) == admitted
        with pytest.raises(MembershipError) as refused:
            require_active(s, "gamma")
        revoked = get_key(s, gamma_key)
        removed = get_member(s, "gamma")
        assert s.get(MemberDetailsRow, "gamma") is None
        report = verify_database(s)
    assert admitted.admitted_by == f"proposal:{admit}"
    assert registered is not None
    assert registered.role is Role.MEMBER
    assert refused.value.code == "member-removed"
    assert revoked is not None
    assert revoked.revoked_seq is not None
    assert removed is not None
    assert removed.removed_by == f"proposal:{remove}"
    assert report.size > 0
    effects = _executed_entries(board)
    assert [(e["kind"], e["member"]) for e in effects] == [
        ("admit-member", "delta"), ("remove-member", "gamma"),
    ]  # fmt: skip


def test_a_feature_request_is_recorded_with_its_text_off_ledger(board: Board) -> None:
    # Prepare
    details = "Please add rail yard dwell times to the ETA features."
    pid = _create(board, ProposalKind.FEATURE_REQUEST, {"area": "eta", "details": details})
    eta = board.pass_and_queue(pid)
    # Execute
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
    # Assert
    with board.factory.begin() as s:
        payloads = s.execute(select(EntryRow.payload)).scalars().all()
        record = get_proposal(s, pid)
    assert not any("dwell" in p for p in payloads)
    assert record.params["details"] == details
    assert record.state(now=eta) is ProposalState.EXECUTED
    (effect,) = _executed_entries(board)
    assert effect["area"] == "eta"
    assert isinstance(effect["details_sha256"], str)
    assert len(effect["details_sha256"]) == 64
