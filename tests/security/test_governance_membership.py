"""Issue 14, item 13: proposals cannot remove members below the board's minimum membership.

The attack: a majority passes ``remove-member`` proposals one after another. On the old code
they were made and executed until no active member was left, and then nobody could propose
again. Now a removal that would leave fewer than ``min_members`` (policy, default and floor 3)
is refused when the proposal is made and again when it is executed (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest

from consortium.errors import GovernanceError
from consortium.governance.execution import execute_proposal
from consortium.governance.rules import ProposalKind
from consortium.governance.store import create_proposal
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.membership import active_members, admit_member
from tests.governance.conftest import Board, board  # noqa: F401  (the fixture)


def _remove(board: Board, member: str, *, at: float) -> str:  # noqa: F811
    with board.factory.begin() as s:
        return create_proposal(
            s, kind=ProposalKind.REMOVE_MEMBER,
            params={"member_id": member, "reason": "Outvoted by the majority."},
            title=f"Remove {member}", signer=board.keys["alpha"], clock=board.tick(at),
        ).proposal_id  # fmt: skip


def test_a_removal_below_the_minimum_membership_is_refused_when_proposed(
    board: Board,  # noqa: F811
) -> None:
    # Prepare: alpha, beta and gamma: exactly the default minimum of three
    with board.factory.begin() as s:
        size = ledger_size(s)
    # Execute
    with pytest.raises(GovernanceError) as caught:
        _remove(board, "gamma", at=0)
    # Assert
    assert (caught.value.subject, caught.value.code) == ("params.member_id", "below-min-members")
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert len(active_members(s)) == 3


def test_removals_passed_together_stop_at_the_minimum_when_executed(
    board: Board,  # noqa: F811
) -> None:
    # Prepare: a fourth member; two removals are each fine when made (4 -> 3), both pass
    with board.factory.begin() as s:
        admit_member(s, member="delta", public_key=Signer.generate().public_key,
                     signer=board.coordinator, moment=board.clock.now())  # fmt: skip
    first, second = _remove(board, "gamma", at=0), _remove(board, "beta", at=1)
    eta_first, eta_second = board.pass_and_queue_all([first, second])
    # Execute
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=first, signer=board.coordinator,
                         clock=board.until(eta_first))  # fmt: skip
        size = ledger_size(s)
    with pytest.raises(GovernanceError) as caught, board.factory.begin() as s:
        execute_proposal(s, proposal_id=second, signer=board.coordinator,
                         clock=board.until(eta_second))  # fmt: skip
    # Assert: the second removal wrote nothing; three members remain and may still propose
    assert (caught.value.subject, caught.value.code) == (
        f"proposal {second}", "below-min-members",
    )  # fmt: skip
    with board.factory.begin() as s:
        assert ledger_size(s) == size
        assert sorted(m.member for m in active_members(s)) == ["alpha", "beta", "delta"]
        again = create_proposal(s, kind=ProposalKind.FEATURE_REQUEST,
                                params={"area": "queries", "details": "Weekly lane queries"},
                                title="Still governing", signer=board.keys["beta"],
                                clock=board.until(eta_second))  # fmt: skip
    assert again.proposer == "beta"


def test_the_board_cannot_set_a_minimum_below_three(board: Board) -> None:  # noqa: F811
    # Execute
    with pytest.raises(GovernanceError) as caught, board.factory.begin() as s:
        create_proposal(s, kind=ProposalKind.GOVERNANCE_RULES, params={"min_members": 1},
                        title="Fewer members", signer=board.keys["alpha"],
                        clock=board.tick(0))  # fmt: skip
    # Assert
    assert (caught.value.subject, caught.value.code) == ("params.min_members", "bad-policy-value")
