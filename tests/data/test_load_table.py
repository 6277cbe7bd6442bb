import shutil
from pathlib import Path

import pandas as pd
import pytest

from consortium.config import REPO_ROOT, Settings
from consortium.data import load_table, write_declaration
from consortium.errors import ConfigError, ContractViolation

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"


def test_valid_legs_load_typed_in_utc(member_dir: Path) -> None:
    # Execute
    table = load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert
    frame = table.frame
    assert table.n_rows == 4
    assert table.purpose == "eta-training"
    assert str(frame["scheduled_departure"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["distance_km"].dtype) == "float64"
    # 08:00 at +01:00 is 07:00 UTC
    assert frame.loc[0, "scheduled_departure"] == pd.Timestamp("2024-03-01T07:00:00Z")
    assert list(frame.columns) == [
        c for c in table.contract.field_names if c not in table.contract.personal_fields
    ]


def test_stock_loads_dates_and_nullable_integers(member_dir: Path) -> None:
    table = load_table(member_dir / "stock.csv", contract="stock", purpose="stock-training")
    dtypes = table.frame.dtypes.astype(str).to_dict()
    assert dtypes["date"] == "datetime64[ns]"
    assert dtypes["on_hand_units"] == "int64"
    assert dtypes["open_orders"] == "Int64"
    assert table.frame["on_hand_units"].iloc[3] > table.frame["capacity_units"].iloc[3]


def test_personal_fields_are_removed_and_reported(member_dir: Path) -> None:
    table = load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    assert table.personal_columns_removed == ("driver_name", "contact_email")
    assert not {"driver_name", "contact_email"} & set(table.frame.columns)


def test_columns_outside_the_contract_are_dropped_and_reported(member_dir: Path) -> None:
    # Prepare
    frame = pd.read_csv(member_dir / "legs.csv", dtype=str, keep_default_na=False)
    frame.insert(2, "customer_ref", "ACME-7")
    frame["invoice_eur"] = "120.5"
    frame.to_csv(member_dir / "legs.csv", index=False)
    # Execute
    table = load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert
    assert table.dropped_columns == ("customer_ref", "invoice_eur")
    assert not {"customer_ref", "invoice_eur"} & set(table.frame.columns)


def test_invalid_file_raises_with_every_problem_and_no_frame(member_dir: Path) -> None:
    # Prepare
    shutil.copy(EXAMPLES / "legs.invalid.constraints.csv", member_dir / "legs.csv")
    # Execute
    with pytest.raises(ContractViolation) as info:
        load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert
    assert info.value.total == 5
    assert [p.row for p in info.value.problems] == [1, 2, 3, 4, 5]
    assert (info.value.row, info.value.column, info.value.code) == (1, "mode", "constraint-error")


def test_problem_cap_comes_from_settings(member_dir: Path) -> None:
    # Prepare: 30 rows with a negative stock each
    lines = ["warehouse_id,date,on_hand_units,capacity_units,inbound_units,outbound_units"]
    lines += [f"W1,2024-01-{d:02d},-1,10,0,0" for d in range(1, 31)]
    (member_dir / "stock.csv").write_text("\n".join(lines) + "\n")
    # Execute
    with pytest.raises(ContractViolation) as info:
        load_table(
            member_dir / "stock.csv",
            contract="stock",
            purpose="stock-training",
            settings=Settings(max_reported_problems=7),
        )
    # Assert
    assert (len(info.value.problems), info.value.total) == (7, 30)
    assert "... and 23 more problems not shown" in info.value.diagnostics()


def test_csv_and_parquet_load_to_equal_frames(member_dir: Path) -> None:
    # Prepare: the same rows as Parquet with native types (instants kept in UTC)
    typed = load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training").frame
    typed.to_parquet(member_dir / "legs.parquet", index=False)
    write_declaration(
        member_dir, member_id="m1", path="legs.parquet", contract="legs", purposes=["eta-training"]
    )
    # Execute
    from_parquet = load_table(member_dir / "legs.parquet", contract="legs", purpose="eta-training")
    from_csv = load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert
    pd.testing.assert_frame_equal(from_csv.frame, from_parquet.frame)


def test_parquet_of_text_columns_loads_like_the_csv(member_dir: Path) -> None:
    pd.read_csv(member_dir / "stock.csv", dtype=str, keep_default_na=False).to_parquet(
        member_dir / "stock.parquet", index=False
    )
    write_declaration(
        member_dir,
        member_id="m1",
        path="stock.parquet",
        contract="stock",
        purposes=["stock-training"],
    )
    a = load_table(member_dir / "stock.csv", contract="stock", purpose="stock-training")
    b = load_table(member_dir / "stock.parquet", contract="stock", purpose="stock-training")
    pd.testing.assert_frame_equal(a.frame, b.frame)


def test_parquet_timestamps_without_zone_are_rejected(member_dir: Path) -> None:
    # Prepare
    frame = pd.read_csv(member_dir / "legs.csv", dtype=str, keep_default_na=False)
    frame["scheduled_arrival"] = pd.to_datetime(
        frame["scheduled_arrival"], utc=True
    ).dt.tz_localize(None)
    frame.to_parquet(member_dir / "legs.parquet", index=False)
    write_declaration(
        member_dir, member_id="m1", path="legs.parquet", contract="legs", purposes=["eta-training"]
    )
    # Execute
    with pytest.raises(ContractViolation) as info:
        load_table(member_dir / "legs.parquet", contract="legs", purpose="eta-training")
    # Assert
    assert [(p.row, p.column, p.code) for p in info.value.problems] == [
        (None, "scheduled_arrival", "timezone-missing")
    ]


def test_rows_with_wrong_cell_count_are_located(member_dir: Path) -> None:
    # Prepare
    text = (member_dir / "stock.csv").read_text()
    text += "W9,2024-03-05,,1,2\nW9,2024-03-07,,-1,20,3,4,,,\n"
    (member_dir / "stock.csv").write_text(text)
    # Execute
    with pytest.raises(ContractViolation) as info:
        load_table(member_dir / "stock.csv", contract="stock", purpose="stock-training")
    # Assert
    assert [(p.row, p.column, p.code) for p in info.value.problems] == [
        (5, "inbound_units", "missing-cell"),
        (6, "on_hand_units", "constraint-error"),
    ]


@pytest.mark.parametrize(
    ("name", "content"), [("legs.csv", None), ("legs.xlsx", "x"), ("legs.csv", "")]
)
def test_missing_or_unreadable_file_is_a_usage_error(
    member_dir: Path, name: str, content: str | None
) -> None:
    # Prepare
    target = member_dir / "other" / name
    target.parent.mkdir()
    if content is not None:
        target.write_text(content)
    write_declaration(
        target.parent, member_id="m1", path=name, contract="legs", purposes=["eta-training"]
    )
    # Execute / Assert
    with pytest.raises(ConfigError) as info:
        load_table(target, contract="legs", purpose="eta-training")
    assert (info.value.name, info.value.exit_code) == ("path", 2)
