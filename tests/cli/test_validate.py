import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.config import REPO_ROOT
from consortium.data import read_declaration

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"
runner = CliRunner()


def test_valid_file_exits_zero_and_names_personal_fields() -> None:
    # Execute
    result = runner.invoke(
        app, ["validate", str(EXAMPLES / "legs.valid.csv"), "--contract", "legs"]
    )
    # Assert
    assert result.exit_code == 0
    assert "4 rows checked against legs v1" in result.stdout
    assert "driver_name, contact_email" in result.stdout


def test_invalid_file_exits_one_and_locates_each_problem() -> None:
    result = runner.invoke(
        app, ["validate", str(EXAMPLES / "stock.invalid.constraints.csv"), "-c", "stock"]
    )
    assert result.exit_code == 1
    assert "stock.invalid.constraints.csv, row 1, column 'on_hand_units':" in result.stderr
    assert "row 3, column 'open_orders'" in result.stderr
    assert "[constraint-error]" in result.stderr


def test_problems_beyond_the_cap_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare
    monkeypatch.setenv("CONSORTIUM_MAX_REPORTED_PROBLEMS", "3")
    lines = ["warehouse_id,date,on_hand_units,capacity_units,inbound_units,outbound_units"]
    lines += [f"W1,2024-01-{d:02d},-1,10,0,0" for d in range(1, 11)]
    (tmp_path / "stock.csv").write_text("\n".join(lines) + "\n")
    # Execute
    result = runner.invoke(app, ["validate", str(tmp_path / "stock.csv"), "-c", "stock"])
    # Assert
    assert result.exit_code == 1
    assert "invalid: 10 problems" in result.stdout
    assert "... and 7 more problems not shown" in result.stderr


def test_dropped_columns_are_reported(tmp_path: Path) -> None:
    frame = pd.read_csv(EXAMPLES / "stock.valid.csv", dtype=str, keep_default_na=False)
    frame["erp_batch"] = "B1"
    frame.to_csv(tmp_path / "stock.csv", index=False)
    result = runner.invoke(app, ["validate", str(tmp_path / "stock.csv"), "-c", "stock"])
    assert result.exit_code == 0
    assert "data minimisation): erp_batch" in result.stdout


def test_prediction_flag_allows_an_empty_label() -> None:
    path = str(EXAMPLES / "legs.prediction.csv")
    assert runner.invoke(app, ["validate", path, "-c", "legs"]).exit_code == 1
    assert runner.invoke(app, ["validate", path, "-c", "legs", "--prediction"]).exit_code == 0


def test_unknown_contract_is_a_usage_error() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLES / "legs.valid.csv"), "-c", "ships"])
    assert result.exit_code == 2
    assert "unknown contract 'ships'" in result.stderr


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.csv"), "-c", "legs"])
    assert result.exit_code == 2


def test_declare_then_load_is_allowed(tmp_path: Path) -> None:
    # Prepare
    shutil.copy(EXAMPLES / "legs.valid.csv", tmp_path / "legs.csv")
    # Execute
    result = runner.invoke(
        app,
        [
            "declare",
            str(tmp_path / "legs.csv"),
            "-c",
            "legs",
            "-p",
            "eta-training",
            "-p",
            "evaluation",
            "--member-id",
            "m1",
        ],
    )
    # Assert
    assert result.exit_code == 0
    declaration = read_declaration(tmp_path / "legs.csv")
    assert declaration is not None
    assert declaration.sources[0].purposes == ("eta-training", "evaluation")


def test_declaring_an_unknown_purpose_exits_one(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "legs.valid.csv", tmp_path / "legs.csv")
    result = runner.invoke(
        app, ["declare", str(tmp_path / "legs.csv"), "-c", "legs", "-p", "ads", "--member-id", "m1"]
    )
    assert result.exit_code == 1
    assert "/sources/0/purposes/0" in result.stderr
