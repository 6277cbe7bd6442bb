"""Signed query messages: contract, freshness, issuer registry and signature, read-only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.config import REPO_ROOT
from consortium.errors import ConfigError, QueryRejected
from consortium.forecasts.messages import (
    MAX_AGE,
    check_query,
    new_query,
    query_bytes,
    sign_query,
)
from consortium.identity.registry import register_key, revoke_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from tests.store_fixtures import T0

LANE = {
    "origin": "ITMIL", "destination": "FRPAR", "mode": "road",
    "departure_from": "2026-03-02T00:00:00Z", "departure_to": "2026-03-09T00:00:00Z",
}  # fmt: skip


@pytest.fixture
def owner(factory: sessionmaker[Session], coordinator: Signer) -> Signer:
    owner = Signer.generate()
    with factory.begin() as session:
        register_key(session, public_key=owner.public_key, role=Role.CARGO_OWNER,
                     signer=coordinator)  # fmt: skip
    return owner


def _lane_query(owner: Signer, **changes: object) -> dict[str, object]:
    query = new_query(kind="lane", params=LANE, issuer=owner, max_price_points=50, now=T0,
                      query_id="q-lane-1")  # fmt: skip
    query.update(changes)
    return query


def test_a_signed_query_from_a_registered_cargo_owner_passes(
    factory: sessionmaker[Session], owner: Signer
) -> None:
    # Prepare
    query = _lane_query(owner)
    # Execute
    with factory.begin() as session:
        checked = check_query(session, query=query, signature=sign_query(query, signer=owner),
                              now=T0 + timedelta(seconds=5))  # fmt: skip
    # Assert
    assert checked.query_id == "q-lane-1"
    assert checked.kind == "lane"
    assert checked.issuer_key_id == owner.key_id
    assert checked.params["origin"] == "ITMIL"
    assert len(checked.digest) == 64
    assert query_bytes(query).startswith(b'{"issued_at":"2026-03-01T12:00:00Z"')


def test_the_repository_example_of_an_invalid_query_is_malformed(
    factory: sessionmaker[Session], owner: Signer
) -> None:
    # Prepare
    query = json.loads((REPO_ROOT / "data_schemas/examples/query.invalid.json").read_text())
    # Execute
    with factory.begin() as session, pytest.raises(QueryRejected) as caught:
        check_query(session, query=query, signature=bytes(64), now=T0)
    # Assert
    assert caught.value.code == "malformed"
    assert caught.value.subject == "query q-2024-0002"
    assert "/params/horizon_days" in caught.value.reason


def _refusal(
    factory: sessionmaker[Session], query: object, signature: bytes, *, now: datetime = T0
) -> QueryRejected:
    with factory.begin() as session:
        size = ledger_size(session)
        with pytest.raises(QueryRejected) as caught:
            check_query(session, query=query, signature=signature, now=now)  # type: ignore[arg-type]
        assert ledger_size(session) == size
    return caught.value


def test_each_refusal_has_its_own_code(
    factory: sessionmaker[Session], coordinator: Signer, owner: Signer
) -> None:
    # Prepare
    stranger, member, revoked = Signer.generate(), Signer.generate(), Signer.generate()
    with factory.begin() as session:
        register_key(session, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        register_key(session, public_key=revoked.public_key, role=Role.CARGO_OWNER,
                     signer=coordinator)  # fmt: skip
        revoke_key(session, key_id=revoked.key_id, signer=coordinator)
    good = _lane_query(owner)
    tampered = {**good, "max_price_points": 5000}
    extra = {**good, "comment": "please hurry"}
    cases = {
        "malformed": (extra, sign_query(extra, signer=owner), T0),
        "expired": (good, sign_query(good, signer=owner), T0 + MAX_AGE + timedelta(seconds=1)),
        "issued-in-future": (good, sign_query(good, signer=owner), T0 - timedelta(minutes=10)),
        "unknown-issuer": (
            _lane_query(stranger),
            sign_query(_lane_query(stranger), signer=stranger),
            T0,
        ),
        "not-a-cargo-owner": (
            _lane_query(member),
            sign_query(_lane_query(member), signer=member),
            T0,
        ),
        "revoked-issuer": (
            _lane_query(revoked),
            sign_query(_lane_query(revoked), signer=revoked),
            T0,
        ),
        "bad-signature": (tampered, sign_query(good, signer=owner), T0),
        "bad-signature-other-key": (good, sign_query(good, signer=stranger), T0),
    }
    for expected, (query, signature, now) in cases.items():
        # Execute
        refusal = _refusal(factory, query, signature, now=now)
        # Assert
        assert refusal.code == expected.removesuffix("-other-key"), expected
        assert refusal.subject == "query q-lane-1"


def test_a_non_object_message_is_malformed(factory: sessionmaker[Session]) -> None:
    refusal = _refusal(factory, ["not", "an", "object"], bytes(64))
    assert refusal.code == "malformed"
    assert refusal.subject == "query <no id>"


def test_a_naive_arrival_time_is_a_config_error(
    factory: sessionmaker[Session], owner: Signer
) -> None:
    query = _lane_query(owner)
    with factory.begin() as session, pytest.raises(ConfigError) as caught:
        check_query(session, query=query, signature=sign_query(query, signer=owner),
                    now=T0.replace(tzinfo=None))  # fmt: skip
    assert caught.value.name == "now"
