"""`consortium synth` writes the consortium and prints what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from consortium.cli.main import app


def test_synth_command_writes_members_and_prints_a_table(tmp_path: Path) -> None:
    # Prepare
    out = tmp_path / "consortium"

    # Execute
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--seed", "5", "--scale", "0.02"])

    # Assert
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "consortium.json").read_text())
    assert summary["seed"] == 5
    assert summary["scale"] == 0.02
    for member in summary["members"]:
        assert (out / member["file"]).is_file()
        assert member["member_id"] in result.output
        assert member["file"] in result.output
    assert "1,200" in result.output  # the trucking firm's legs at scale 0.02


def test_synth_command_writes_parquet_on_request(tmp_path: Path) -> None:
    # Execute
    result = CliRunner().invoke(
        app, ["synth", "--out", str(tmp_path), "--scale", "0.02", "--format", "parquet"]
    )

    # Assert
    assert result.exit_code == 0, result.output
    assert (tmp_path / "members" / "rhine-road" / "legs.parquet").is_file()
    assert (tmp_path / "members" / "warsaw-dc" / "stock.parquet").is_file()


def test_synth_command_reports_a_bad_scale_with_exit_code_two(tmp_path: Path) -> None:
    # Execute
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "x"), "--scale", "0"])

    # Assert
    assert result.exit_code == 2
    assert "scale" in result.output
    assert not (tmp_path / "x").exists()
