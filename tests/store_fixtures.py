"""Fixtures of the ledger and identity tests: real keys, real databases on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity import details as _details  # noqa: F401  (registers its table)
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.signing import Signer
from tests.postgres import database_url, postgres_server, postgres_url  # noqa: F401

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    """A fixed, tz-aware test time."""
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def coordinator() -> Signer:
    return Signer.generate()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:  # noqa: F811
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine, coordinator: Signer) -> sessionmaker[Session]:
    """A session factory over a ledger whose entry 0 registers ``coordinator``."""
    factory = make_session_factory(engine)
    with factory.begin() as session:
        bootstrap_coordinator(session, coordinator=coordinator)
    return factory
