"""Issue 14, item 11: the coordinator cannot move points between members with ``settle``.

The attack: the coordinator (the query service's key) calls ``settle`` with a member's account
as the payer and another member as the only part. Before the fix this moved the points; now
only a registered cargo owner's account pays, and a refused settlement writes nothing.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import PointsError
from consortium.identity.registry import register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.points.models import JournalRow
from consortium.points.store import balances, deposit, mint, settle

Factory = sessionmaker[Session]
ALPHA, BETA = "member:alpha-line", "member:beta-rail"


def _register(factory: Factory, coordinator: Signer, role: Role) -> Signer:
    signer = Signer.generate()
    with factory.begin() as s:
        register_key(s, public_key=signer.public_key, role=role, signer=coordinator)
    return signer


def _state(factory: Factory) -> tuple[int, dict[str, int], int]:
    with factory.begin() as s:
        lines = int(s.execute(select(func.count()).select_from(JournalRow)).scalar_one())
        return ledger_size(s), balances(s), lines


def _mint(factory: Factory, coordinator: Signer, account: str, amount: int) -> None:
    with factory.begin() as s:
        mint(s, account=account, amount=amount, reason="contribution",
             refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip


def test_coordinator_cannot_settle_from_a_member_account(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare: two members hold contribution points
    _mint(factory, coordinator, ALPHA, 500)
    _mint(factory, coordinator, BETA, 10)
    before = _state(factory)
    # Execute: the coordinator "settles a query" paid by ALPHA, all of it to BETA
    with pytest.raises(PointsError) as refused, factory.begin() as s:
        settle(s, payer=ALPHA, parts={BETA: 400}, refs={"query_id": "q-forged"},
               signer=coordinator)  # fmt: skip
    # Assert: refused, and nothing moved or was written
    assert refused.value.code == "not-a-cargo-account"
    assert _state(factory) == before
    assert before[1] == {ALPHA: 500, BETA: 10}


def test_coordinator_cannot_settle_from_the_treasury_or_an_unregistered_cargo_account(
    factory: Factory, coordinator: Signer
) -> None:
    # Prepare: a cargo account whose key was never registered as a cargo owner (a member key)
    member_key = _register(factory, coordinator, Role.MEMBER)
    before = _state(factory)
    # Execute / Assert
    with pytest.raises(PointsError) as treasury, factory.begin() as s:
        settle(s, payer="treasury", parts={ALPHA: 1}, refs={}, signer=coordinator)
    with pytest.raises(PointsError) as imposter, factory.begin() as s:
        settle(s, payer="cargo:" + member_key.key_id, parts={ALPHA: 1}, refs={},
               signer=coordinator)  # fmt: skip
    assert treasury.value.code == "not-a-cargo-account"
    assert imposter.value.code == "unknown-cargo-owner"
    assert _state(factory) == before


def test_a_cargo_owner_still_pays(factory: Factory, coordinator: Signer) -> None:
    # Prepare
    treasurer = _register(factory, coordinator, Role.TREASURER)
    owner = _register(factory, coordinator, Role.CARGO_OWNER)
    payer = "cargo:" + owner.key_id
    with factory.begin() as s:
        deposit(s, account=payer, amount=30, external_ref="INV-1", signer=treasurer)
    # Execute
    with factory.begin() as s:
        settle(s, payer=payer, parts={ALPHA: 8, "treasury": 2}, refs={"query_id": "q-1"},
               signer=coordinator)  # fmt: skip
    # Assert
    assert _state(factory)[1] == {ALPHA: 8, payer: 20, "treasury": 2}
