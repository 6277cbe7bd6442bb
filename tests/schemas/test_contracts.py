import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from consortium.config import REPO_ROOT, Settings
from consortium.errors import ConfigError
from consortium.schemas import UnknownContract, available_contracts, check_table, load_contract


def _schemas_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(REPO_ROOT / "data_schemas", folder, ignore=shutil.ignore_patterns("examples"))
    return folder


def test_legs_contract_exposes_key_label_and_personal_fields() -> None:
    # Execute
    legs = load_contract("legs")
    # Assert
    assert (legs.name, legs.version) == ("legs", 1)
    assert legs.primary_key == ("leg_id",)
    assert legs.label_fields == ("actual_arrival",)
    assert legs.personal_fields == ("driver_name", "contact_email")
    assert "actual_arrival" in legs.required
    assert "actual_departure" not in legs.required
    assert {r.code for r in legs.rules} == {"arrival-before-departure"}


def test_stock_contract_key_includes_optional_sku_group() -> None:
    stock = load_contract("stock")
    assert stock.primary_key == ("warehouse_id", "sku_group", "date")
    assert "sku_group" not in stock.required
    assert stock.personal_fields == ("manager_name",)


def test_markers_are_kept_by_frictionless_as_custom_properties() -> None:
    legs = load_contract("legs")
    assert legs.schema.get_field("driver_name").custom == {"x-personal": True}
    assert legs.schema.get_field("actual_arrival").custom == {"x-label": True}
    assert legs.schema.custom["x-version"] == 1


@pytest.mark.parametrize("name", ["ships", "../legs", "query", ""])
def test_unknown_contract_is_a_usage_error(name: str) -> None:
    with pytest.raises(UnknownContract) as info:
        load_contract(name)
    assert info.value.code == "unknown-contract"
    assert info.value.exit_code == 2
    assert info.value.known == ("legs", "stock")


def test_newest_version_is_chosen_and_older_stays_loadable(tmp_path: Path) -> None:
    # Prepare: a breaking v2 of stock beside v1
    folder = _schemas_copy(tmp_path)
    v2 = json.loads((folder / "stock.v1.json").read_text())
    v2["fields"].append({"name": "zone", "type": "string", "constraints": {"required": True}})
    (folder / "stock.v2.json").write_text(json.dumps(v2))
    settings = Settings(schemas_dir=folder)
    # Execute
    newest = load_contract("stock", settings=settings)
    pinned = load_contract("stock", version=1, settings=settings)
    # Assert
    assert available_contracts(settings=settings)["stock"] == (1, 2)
    assert (newest.version, "zone" in newest.field_names) == (2, True)
    assert (pinned.version, "zone" in pinned.field_names) == (1, False)


def test_contract_using_a_constraint_the_validator_lacks_fails_to_load(tmp_path: Path) -> None:
    # Prepare
    folder = _schemas_copy(tmp_path)
    legs = json.loads((folder / "legs.v1.json").read_text())
    legs["fields"][0]["type"] = "geopoint"
    (folder / "legs.v1.json").write_text(json.dumps(legs))
    # Execute / Assert
    with pytest.raises(ConfigError) as info:
        load_contract("legs", settings=Settings(schemas_dir=folder))
    assert info.value.name == "schemas_dir"


def test_boolean_field_reads_its_declared_true_and_false_values(tmp_path: Path) -> None:
    # Prepare: a v2 stock contract with a boolean column
    folder = _schemas_copy(tmp_path)
    v2 = json.loads((folder / "stock.v1.json").read_text())
    v2["fields"].append(
        {"name": "bonded", "type": "boolean", "trueValues": ["yes"], "falseValues": ["no"]}
    )
    (folder / "stock.v2.json").write_text(json.dumps(v2))
    stock = load_contract("stock", settings=Settings(schemas_dir=folder))
    base = {
        "warehouse_id": "W1",
        "on_hand_units": "1",
        "capacity_units": "2",
        "inbound_units": "0",
        "outbound_units": "0",
    }
    table = pa.table(
        {k: [v] * 3 for k, v in base.items()}
        | {"date": ["2024-01-01", "2024-01-02", "2024-01-03"], "bonded": ["yes", "no", "true"]}
    )
    # Execute
    result = check_table(table, stock, source="s.csv")
    # Assert
    assert [(p.row, p.column, p.code) for p in result.problems] == [(3, "bonded", "type-error")]
    assert check_table(table.slice(0, 2), stock, source="s.csv").frame["bonded"].tolist() == [
        True,
        False,
    ]
