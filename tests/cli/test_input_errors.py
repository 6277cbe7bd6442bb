"""Bad input on the command line is named for what it is: a missing file, a semicolon CSV."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.config import REPO_ROOT

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"
runner = CliRunner()


def test_training_on_a_missing_file_says_no_such_file_not_undeclared(tmp_path: Path) -> None:
    # Prepare: a declared folder, and a typo in the file name
    shutil.copy(EXAMPLES / "legs.valid.csv", tmp_path / "legs.csv")
    declared = runner.invoke(app, ["declare", str(tmp_path / "legs.csv"), "--contract", "legs",
                                   "--purpose", "eta-training", "--member-id", "m1"])  # fmt: skip
    missing = tmp_path / "legz.csv"
    # Execute
    result = runner.invoke(app, ["train", "--model", "eta", "--data", str(missing),
                                 "--epsilon", "1", "--out", str(tmp_path / "model")])  # fmt: skip
    # Assert
    assert declared.exit_code == 0, declared.output
    assert result.exit_code == 2, result.output
    assert f"no such file: {missing}" in result.output
    assert "not declared" not in result.output
    assert not (tmp_path / "model").exists()


def test_declaring_a_file_that_does_not_exist_fails_and_writes_no_manifest(
    tmp_path: Path,
) -> None:
    # Execute
    result = runner.invoke(app, ["declare", str(tmp_path / "nope.csv"), "--contract", "legs",
                                 "--purpose", "eta-training", "--member-id", "m1"])  # fmt: skip
    # Assert
    assert result.exit_code == 2
    assert f"no such file: {tmp_path / 'nope.csv'}" in result.output
    assert not (tmp_path / "sources.json").exists()


def test_a_semicolon_separated_csv_is_named_as_such(tmp_path: Path) -> None:
    # Prepare: the valid example, saved the way a spreadsheet in a comma-decimal locale does
    frame = pd.read_csv(EXAMPLES / "legs.valid.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "legs.csv"
    frame.to_csv(path, sep=";", index=False)
    # Execute
    result = runner.invoke(app, ["validate", str(path), "--contract", "legs"])
    # Assert
    assert result.exit_code == 1
    assert "legs.csv: line 1 (the header)" in result.output
    assert "looks semicolon-separated" in result.output
    assert "save it as comma-separated" in result.output
    assert "[wrong-delimiter]" in result.output
    assert result.output.count("[") == 1  # one problem, not one per cell
