"""frictionless's own validate() is the reference for every Table-Schema-level problem."""

import shutil
from pathlib import Path

import pytest
from frictionless import Resource, Schema, validate

from consortium.config import REPO_ROOT
from consortium.data import validate_file
from consortium.schemas import codes, load_contract

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"
CASES = sorted(p.name for p in EXAMPLES.glob("*.csv"))


def _frictionless(
    path: Path, contract: str, workdir: Path
) -> set[tuple[int | None, str | None, str]]:
    """(data row, column, code) that frictionless reports, restricted to Table Schema codes."""
    shutil.copy(path, workdir / path.name)
    schema = Schema.from_descriptor(load_contract(contract).schema.to_descriptor())
    schema.fields_match = "subset"  # match columns by name, as the loader does
    resource = Resource(path=path.name, basepath=str(workdir), schema=schema)
    report = validate(resource, limit_errors=1000)
    key = ",".join(schema.primary_key)
    found = set()
    for row, column, code in report.flatten(["rowNumber", "fieldName", "type"]):
        if code in codes.TABLE_SCHEMA_CODES:
            found.add((row - 1, column if code != codes.PRIMARY_KEY else key, code))
    return found


@pytest.mark.parametrize("name", CASES)
def test_fast_validator_agrees_with_frictionless(name: str, tmp_path: Path) -> None:
    # Prepare
    contract = name.split(".")[0]
    labelled = "prediction" not in name
    # Execute
    ours = validate_file(EXAMPLES / name, contract=contract, labelled=labelled)
    reference = _frictionless(EXAMPLES / name, contract, tmp_path)
    # Assert
    mine = {(p.row, p.column, p.code) for p in ours.problems if p.code in codes.TABLE_SCHEMA_CODES}
    # Deliberate difference: frictionless turns a key cell with a type error into None and may
    # then call the row a duplicate; the fast path leaves rows with unknown keys out of the check.
    key = load_contract(contract).primary_key
    unknown_key_rows = {p.row for p in ours.problems if p.code == "type-error" and p.column in key}
    reference = {
        r for r in reference if not (r[2] == codes.PRIMARY_KEY and r[0] in unknown_key_rows)
    }
    if labelled:
        assert mine == reference
    else:  # frictionless knows no prediction mode: only the relaxed label may differ
        assert mine == {r for r in reference if r[1] not in load_contract("legs").label_fields}


def test_reference_validator_really_sees_the_errors(tmp_path: Path) -> None:
    found = _frictionless(EXAMPLES / "legs.invalid.constraints.csv", "legs", tmp_path)
    assert {(row, column) for row, column, _ in found} == {
        (1, "mode"),
        (2, "origin"),
        (3, "distance_km"),
        (4, "carrier"),
        (5, "actual_arrival"),
    }
