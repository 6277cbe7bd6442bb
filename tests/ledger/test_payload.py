"""Personal data never reaches the ledger: contract fields marked personal and free text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from consortium.config import REPO_ROOT
from consortium.ledger.payload import PayloadPolicy, PayloadRejected, load_personal_fields
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, default_policy, ledger_size

CONTRACT_PERSONAL = sorted(load_personal_fields(REPO_ROOT / "data_schemas"))


def test_repository_contracts_declare_personal_fields() -> None:
    if not CONTRACT_PERSONAL:
        pytest.skip("no data contract in data_schemas/ marks a field x-personal yet")
    assert all(isinstance(name, str) and name for name in CONTRACT_PERSONAL)


@pytest.mark.parametrize("field", CONTRACT_PERSONAL or ["<none>"])
def test_contract_personal_field_never_reaches_the_ledger(
    field: str, factory: sessionmaker[Session], coordinator: Signer
) -> None:
    if field == "<none>":
        pytest.skip("no data contract marks a field x-personal yet")
    # Execute: top level and nested, with an innocuous token value
    for payload in ({field: "x1"}, {"round": 1, "detail": {field: "x1"}}):
        with pytest.raises(PayloadRejected, match="personal"), factory.begin() as s:
            append_entry(s, kind="round-closed", payload=payload, signer=coordinator)
    # Assert: nothing was written
    with factory.begin() as s:
        assert ledger_size(s) == 1


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True), nested=st.booleans())
def test_any_field_a_contract_marks_personal_is_refused(
    tmp_path: Path, name: str, nested: bool
) -> None:
    # Prepare: a contract (Table Schema) that marks `name` personal
    schemas = tmp_path / "schemas"
    schemas.mkdir(exist_ok=True)
    fields = [
        {"name": "id", "type": "string"},
        {"name": name, "type": "string", "x-personal": True},
    ]
    contract = {"name": "t", "fields": fields}
    (schemas / "t.v1.json").write_text(json.dumps(contract))
    policy = PayloadPolicy.from_contracts(schemas)
    payload = {"outer": [{name: 1}]} if nested else {name: 1}
    # Execute / Assert
    with pytest.raises(PayloadRejected):
        policy.check("round-closed", payload)


@pytest.mark.parametrize(
    "value",
    ["ACME Logistics GmbH", "jane@example.com", "Hauptstraße 1", "a" * 200, float("nan")],
    ids=["company-name", "email", "address", "too-long", "nan"],
)
def test_free_text_values_are_refused_under_any_key(value: object) -> None:
    with pytest.raises(PayloadRejected):
        default_policy().check("round-closed", {"memo": value})


def test_ids_hashes_numbers_and_enums_are_accepted() -> None:
    default_policy().check(
        "round-closed",
        {"round": 3, "model_hash": "ab" * 32, "epsilon": 0.75, "status": "closed",
         "members": ["m-01", "m-02"], "at": "2026-03-01T12:00:00.000000Z", "ok": True},
    )  # fmt: skip


def test_kind_allowlist_rejects_unexpected_keys() -> None:
    policy = default_policy().with_kind("round-closed", {"round"})
    with pytest.raises(PayloadRejected, match="not allowed") as err:
        policy.check("round-closed", {"round": 1, "extra": 2})
    assert err.value.path == "extra"
