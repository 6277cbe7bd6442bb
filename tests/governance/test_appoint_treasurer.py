"""The board appoints, then replaces, the treasurer by proposal (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from consortium.audit import audit_database
from consortium.errors import GovernanceError, PointsError
from consortium.governance.execution import execute_proposal
from consortium.governance.rules import ProposalKind
from consortium.governance.store import create_proposal
from consortium.identity.enrolment import (
    REGISTER_CARGO_OWNER,
    enrolment_body,
    register_cargo_owner,
)
from consortium.identity.treasurer import current_treasurers
from consortium.ledger.requests import sign_request
from consortium.ledger.signing import Signer
from consortium.points.books import balance
from consortium.points.payments import deposit
from tests.governance.conftest import Board


def _appoint(board: Board, key: Signer, *, at: float) -> list[str]:
    with board.factory.begin() as s:
        pid = create_proposal(
            s, kind=ProposalKind.APPOINT_TREASURER, title="Appoint the treasurer",
            params={"treasurer_key": key.public_key.hex(), "key_id": key.key_id},
            signer=board.keys["alpha"], clock=board.tick(at),
        ).proposal_id  # fmt: skip
    eta = board.pass_and_queue(pid, created=at)
    with board.factory.begin() as s:
        execute_proposal(s, proposal_id=pid, clock=board.until(eta), signer=board.coordinator)
        return current_treasurers(s)


def test_board_appoints_and_replaces_the_treasurer(board: Board) -> None:
    # Prepare: a cargo owner registers with its self-signed request
    owner, first, second = Signer.generate(), Signer.generate(), Signer.generate()
    request = sign_request(action=REGISTER_CARGO_OWNER, body=enrolment_body(owner),
                           signer=owner, now=board.clock.now())  # fmt: skip
    with board.factory.begin() as s:
        register_cargo_owner(s, request=request, coordinator=board.coordinator,
                             now=board.clock.now())  # fmt: skip
    account = f"cargo:{owner.key_id}"
    # Execute: appoint the first treasurer, who credits the owner; then replace it
    assert _appoint(board, first, at=0) == [first.key_id]
    with board.factory.begin() as s:
        deposit(s, account=account, amount=500, external_ref="INV-1", signer=first,
                moment=board.clock.now())  # fmt: skip
    assert _appoint(board, second, at=20_000) == [second.key_id]
    # Assert: the replaced key is refused, the new one credits, the ledger verifies
    with board.factory.begin() as s, pytest.raises(PointsError) as refused:
        deposit(s, account=account, amount=1, external_ref="INV-2", signer=first)
    assert refused.value.code == "not-allowed"
    with board.factory.begin() as s:
        deposit(s, account=account, amount=250, external_ref="INV-3", signer=second,
                moment=board.clock.now())  # fmt: skip
        assert balance(s, account) == 750
        audit_database(s)


def test_appoint_treasurer_params_are_checked(board: Board) -> None:
    key = Signer.generate()
    with board.factory.begin() as s, pytest.raises(GovernanceError) as bad:
        create_proposal(
            s, kind=ProposalKind.APPOINT_TREASURER, title="Appoint the treasurer",
            params={"treasurer_key": key.public_key.hex(), "key_id": Signer.generate().key_id},
            signer=board.keys["alpha"], clock=board.tick(0),
        )  # fmt: skip
    assert (bad.value.subject, bad.value.code) == ("params.key_id", "key-mismatch")
