from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.config import REPO_ROOT
from consortium.schemas import check_table, load_contract

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"

# Each invalid example, and exactly what it must report: (data row, column, code).
EXPECTED = {
    "legs.invalid.types.csv": [
        (2, "scheduled_departure", "type-error"),
        (3, "distance_km", "type-error"),
        (4, "scheduled_arrival", "type-error"),
    ],
    "legs.invalid.constraints.csv": [
        (1, "mode", "constraint-error"),
        (2, "origin", "constraint-error"),
        (3, "distance_km", "constraint-error"),
        (4, "carrier", "constraint-error"),
        (5, "actual_arrival", "constraint-error"),
    ],
    "legs.invalid.duplicate.csv": [(3, "leg_id", "primary-key")],
    "legs.invalid.timezone.csv": [(2, "scheduled_arrival", "timezone-missing")],
    "legs.invalid.order.csv": [
        (2, "actual_arrival", "arrival-before-departure"),
        (3, "scheduled_arrival", "arrival-before-departure"),
    ],
    "legs.invalid.missing-column.csv": [(None, "carrier", "missing-column")],
    "stock.invalid.constraints.csv": [
        (1, "on_hand_units", "constraint-error"),
        (2, "capacity_units", "constraint-error"),
        (3, "open_orders", "constraint-error"),
    ],
    "stock.invalid.types.csv": [
        (1, "on_hand_units", "type-error"),
        (2, "date", "type-error"),
        (3, "date", "type-error"),
    ],
    "stock.invalid.duplicate.csv": [
        (3, "warehouse_id,sku_group,date", "primary-key"),
        (4, "warehouse_id,sku_group,date", "primary-key"),
    ],
    "stock.invalid.missing-column.csv": [(None, "capacity_units", "missing-column")],
}


def _text_table(path: Path) -> pa.Table:
    names = path.read_text().splitlines()[0].split(",")
    return pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )


def _contract_of(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("name", ["legs.valid.csv", "stock.valid.csv"])
def test_valid_example_passes_and_yields_a_frame(name: str) -> None:
    # Prepare
    table = _text_table(EXAMPLES / name)
    # Execute
    result = check_table(table, load_contract(_contract_of(name)), source=name)
    # Assert
    assert result.valid
    assert result.frame is not None
    assert len(result.frame) == table.num_rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_example_reports_each_problem_at_its_row_and_column(name: str) -> None:
    # Execute
    result = check_table(
        _text_table(EXAMPLES / name), load_contract(_contract_of(name)), source=name
    )
    # Assert
    assert [(p.row, p.column, p.code) for p in result.problems] == EXPECTED[name]
    assert result.total == len(EXPECTED[name])
    assert result.frame is None
    assert all(p.path == name for p in result.problems)


def test_every_invalid_example_file_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("*.invalid.*.csv")} == set(EXPECTED)


def test_empty_label_is_an_error_only_for_labelled_input() -> None:
    # Prepare
    table = _text_table(EXAMPLES / "legs.prediction.csv")
    legs = load_contract("legs")
    # Execute
    training = check_table(table, legs, source="p.csv", labelled=True)
    prediction = check_table(table, legs, source="p.csv", labelled=False)
    # Assert
    assert [(p.row, p.column, p.code) for p in training.problems] == [
        (1, "actual_arrival", "constraint-error"),
        (2, "actual_arrival", "constraint-error"),
    ]
    assert prediction.valid
    assert prediction.frame is not None
    assert prediction.frame["actual_arrival"].isna().all()


def test_prediction_input_may_omit_the_label_column() -> None:
    table = _text_table(EXAMPLES / "legs.prediction.csv").drop_columns(["actual_arrival"])
    assert check_table(table, load_contract("legs"), source="p.csv", labelled=False).valid


def test_all_problems_are_counted_but_only_the_cap_is_listed() -> None:
    # Prepare: 120 rows, each with a negative stock and an unknown date
    n = 120
    table = pa.table(
        {
            "warehouse_id": [f"W{i}" for i in range(n)],
            "date": ["2024-13-01"] * n,
            "on_hand_units": ["-1"] * n,
            "capacity_units": ["10"] * n,
            "inbound_units": ["0"] * n,
            "outbound_units": ["0"] * n,
        }
    )
    # Execute
    result = check_table(table, load_contract("stock"), source="s.csv", max_problems=50)
    # Assert
    assert result.total == 2 * n
    assert len(result.problems) == 50
    assert [(p.row, p.column) for p in result.problems[:4]] == [
        (1, "date"),
        (1, "on_hand_units"),
        (2, "date"),
        (2, "on_hand_units"),
    ]


def test_same_instant_in_two_offsets_is_a_duplicate_key_only_when_ids_repeat() -> None:
    # Prepare: overflow (on hand above capacity) is allowed; equal keys are not
    table = pa.table(
        {
            "warehouse_id": ["W1", "W1", "W1"],
            "date": ["2024-03-01", "2024-03-01", "2024-03-02"],
            "sku_group": ["", "", ""],
            "on_hand_units": ["900", "5", "12000"],
            "capacity_units": ["1000", "1000", "1000"],
            "inbound_units": ["0", "0", "0"],
            "outbound_units": ["0", "0", "0"],
        }
    )
    # Execute
    result = check_table(table, load_contract("stock"), source="s.csv")
    # Assert
    assert [(p.row, p.code) for p in result.problems] == [(2, "primary-key")]


def _valid_legs() -> pa.Table:
    return _text_table(EXAMPLES / "legs.valid.csv")


# Corruptions that break exactly one cell, each with the code it must produce.
CORRUPTIONS = {
    "mode": ("ship", "constraint-error"),
    "origin": ("rotterdam", "constraint-error"),
    "destination": ("", "constraint-error"),
    "scheduled_departure": ("2024-03-01 8h", "type-error"),
    "actual_arrival": ("2099-03-01T08:00:00", "timezone-missing"),
    "distance_km": ("-0.5", "constraint-error"),
    "wind_speed": ("calm", "type-error"),
    "carrier": ("", "constraint-error"),
}


@settings(max_examples=40, deadline=None)
@given(row=st.integers(min_value=0, max_value=3), column=st.sampled_from(sorted(CORRUPTIONS)))
def test_any_single_corrupted_cell_is_reported_exactly_there(row: int, column: str) -> None:
    # Prepare
    table = _valid_legs()
    value, code = CORRUPTIONS[column]
    cells = table.column(column).to_pylist()
    cells[row] = value
    corrupted = table.set_column(
        table.column_names.index(column), column, pa.array(cells, pa.string())
    )
    # Execute
    result = check_table(corrupted, load_contract("legs"), source="x.csv")
    # Assert
    assert [(p.row, p.column, p.code) for p in result.problems] == [(row + 1, column, code)]


def test_typed_columns_are_accepted_without_text_round_trip() -> None:
    # Prepare: a Parquet-like table with native types
    table = pa.table(
        {
            "warehouse_id": pa.array(["W1", "W2"]),
            "date": pa.array(np.array(["2024-03-01", "2024-03-02"], dtype="datetime64[D]")),
            "on_hand_units": pa.array([5, 7], pa.int32()),
            "capacity_units": pa.array([10.0, 12.0]),
            "inbound_units": pa.array([0, 1]),
            "outbound_units": pa.array([1, 0]),
            "lead_time_days": pa.array([1, None], pa.int64()),
        }
    )
    # Execute
    result = check_table(table, load_contract("stock"), source="s.parquet")
    # Assert
    assert result.valid
    assert result.frame is not None
    assert result.frame["capacity_units"].tolist() == [10, 12]
    assert str(result.frame["capacity_units"].dtype) == "int64"


def test_fractional_value_in_a_float_column_is_not_an_integer() -> None:
    table = pa.table(
        {
            "warehouse_id": ["W1"],
            "date": ["2024-03-01"],
            "on_hand_units": pa.array([5.5]),
            "capacity_units": ["10"],
            "inbound_units": ["0"],
            "outbound_units": ["0"],
        }
    )
    result = check_table(table, load_contract("stock"), source="s.parquet")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (1, "on_hand_units", "type-error")
    ]
