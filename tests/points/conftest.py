"""Fixtures of the points tests: treasurer and cargo-owner keys registered on a real ledger."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.identity.registry import register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.points import models as _models  # noqa: F401  (tables exist before `engine`)
from consortium.policy import store as _policy  # noqa: F401


def registered(
    factory: sessionmaker[Session], coordinator: Signer, role: Role, count: int = 1
) -> list[Signer]:
    """Generate ``count`` keys and register them with ``role``, signed by the coordinator."""
    signers = [Signer.generate() for _ in range(count)]
    with factory.begin() as s:
        for signer in signers:
            register_key(s, public_key=signer.public_key, role=role, signer=coordinator)
    return signers


@pytest.fixture
def treasurer(factory: sessionmaker[Session], coordinator: Signer) -> Signer:
    return registered(factory, coordinator, Role.TREASURER)[0]


@pytest.fixture
def cargo_owner(factory: sessionmaker[Session], coordinator: Signer) -> Signer:
    return registered(factory, coordinator, Role.CARGO_OWNER)[0]
