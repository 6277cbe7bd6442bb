"""`--db`: no command creates a database it was only asked to read, and none prints a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.cli.main import app

runner = CliRunner()

READ_COMMANDS = [
    ["ledger", "verify"],
    ["points", "balance"],
    ["points", "history", "--account", "treasury"],
    ["points", "supply"],
    ["policy", "show"],
    ["proposals", "list"],
    ["members", "list"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_mistyped_sqlite_path_is_refused_and_not_created(
    command: list[str], tmp_path: Path
) -> None:
    # Prepare
    typo = tmp_path / "typo" / "coordinator.db"
    # Execute
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{typo}"])
    # Assert
    assert result.exit_code == 2, result.output
    assert f"no such database file: {typo}" in result.output
    assert "Traceback" not in result.output
    assert not typo.exists()
    assert not typo.parent.exists()


def test_ledger_export_of_a_missing_database_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    result = runner.invoke(
        app, ["ledger", "export", "--out", str(out), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 2
    assert not out.exists()
    assert not (tmp_path / "x.db").exists()


def test_a_file_that_is_not_a_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # Prepare
    notes = tmp_path / "notes.db"
    notes.write_text("these are not the tables you are looking for\n" * 200)
    # Execute
    result = runner.invoke(app, ["ledger", "verify", "--db", f"sqlite:///{notes}"])
    # Assert
    assert result.exit_code == 1
    assert "cannot open the coordinator database" in result.output
    assert "file is not a database" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_an_existing_database_without_the_kit_tables_is_named_not_changed(tmp_path: Path) -> None:
    # Prepare: an empty SQLite database (someone else's file)
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x INTEGER)").connection.close()
    # Execute
    result = runner.invoke(app, ["points", "supply", "--db", f"sqlite:///{other}"])
    # Assert
    assert result.exit_code == 1
    assert "no such table" in result.output
    tables = sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("t",)]  # a read-only command created none of the kit's tables
