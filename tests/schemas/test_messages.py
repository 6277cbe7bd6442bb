import json
from typing import Any

import pytest

from consortium.config import REPO_ROOT
from consortium.errors import ContractViolation
from consortium.schemas import UnknownContract, message_kinds, validate_message

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def _located(exc: ContractViolation) -> set[tuple[str | None, str]]:
    return {(p.column, p.code) for p in exc.problems}


def test_every_message_kind_is_versioned() -> None:
    assert message_kinds() == {"proposal": (1,), "query": (1,), "sources": (1,), "vote": (1,)}


@pytest.mark.parametrize("kind", ["query", "proposal", "vote", "sources"])
def test_valid_example_is_accepted(kind: str) -> None:
    validate_message(kind, _example(f"{kind}.valid.json"))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("query", {("/params/horizon_days", "constraint-error")}),
        ("proposal", {("/params/delta", "missing-field")}),
        ("vote", {("/support", "constraint-error"), ("/cast_at", "constraint-error")}),
        ("sources", {("/sources/0/purposes/1", "constraint-error")}),
    ],
)
def test_invalid_example_is_rejected_at_its_json_pointer(
    kind: str, expected: set[tuple[str, str]]
) -> None:
    with pytest.raises(ContractViolation) as info:
        validate_message(kind, _example(f"{kind}.invalid.json"))
    assert _located(info.value) == expected
    assert all(p.row is None for p in info.value.problems)


def test_query_params_shape_follows_its_kind() -> None:
    # Prepare: a lane query carrying warehouse parameters
    payload = _example("query.valid.json")
    payload["params"] = {"warehouse_id": "WH-1", "horizon_days": 3}
    # Execute
    with pytest.raises(ContractViolation) as info:
        validate_message("query", payload)
    # Assert
    assert ("/params/origin", "missing-field") in _located(info.value)
    assert ("/params/warehouse_id", "extra-field") in _located(info.value)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("set-fees", {"lane_query_points": 1, "warehouse_query_points": 2}),
        ("set-revenue-split", {"rule": "equal", "coordinator_share_bps": 500}),
        ("set-privacy-policy", {"epsilon_cap": 4.0, "delta": 1e-5, "min_group_size": 3}),
        ("admit-member", {"member_id": "m7", "key_id": "ed25519:aa11", "role": "member"}),
        ("remove-member", {"member_id": "m7"}),
        ("feature-request", {"area": "eta", "details": "Add port congestion feed."}),
    ],
)
def test_each_proposal_kind_accepts_its_params(kind: str, params: dict[str, Any]) -> None:
    payload = _example("proposal.valid.json") | {"kind": kind, "params": params}
    validate_message("proposal", payload)


def test_fee_proposal_rejects_fractional_points() -> None:
    payload = _example("proposal.valid.json")
    payload["params"]["lane_query_points"] = 2.5
    with pytest.raises(ContractViolation) as info:
        validate_message("proposal", payload)
    assert _located(info.value) == {("/params/lane_query_points", "type-error")}


def test_timestamp_without_offset_is_rejected() -> None:
    payload = _example("query.valid.json") | {"issued_at": "2024-04-30T09:15:00"}
    with pytest.raises(ContractViolation) as info:
        validate_message("query", payload)
    assert {c for c, _ in _located(info.value)} == {"/issued_at"}


def test_unversioned_message_is_rejected() -> None:
    payload = _example("vote.valid.json")
    del payload["schema_version"]
    with pytest.raises(ContractViolation) as info:
        validate_message("vote", payload)
    assert _located(info.value) == {("/schema_version", "missing-field")}


def test_unknown_message_kind_is_a_usage_error() -> None:
    with pytest.raises(UnknownContract):
        validate_message("invoice", {})
