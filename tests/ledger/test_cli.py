"""`consortium ledger verify/export`: exit codes, named failures, standalone verification."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, publish_checkpoint

runner = CliRunner()


def _fill(factory: sessionmaker[Session], coordinator: Signer, n: int = 6) -> None:
    with factory.begin() as s:
        for r in range(n):
            append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)
        publish_checkpoint(s, signer=coordinator)


def test_verify_database_succeeds_on_honest_ledger(
    factory: sessionmaker[Session], coordinator: Signer, database_url: str
) -> None:
    _fill(factory, coordinator)
    result = runner.invoke(app, ["ledger", "verify", "--db", database_url])
    assert result.exit_code == 0, result.output
    assert "ok: 7 entries" in result.output


def test_verify_names_the_first_tampered_entry_and_exits_non_zero(
    factory: sessionmaker[Session], coordinator: Signer, database_url: str
) -> None:
    # Prepare
    _fill(factory, coordinator)
    with factory.begin() as s:
        s.execute(update(EntryRow).where(EntryRow.seq.in_([4, 5])).values(payload='{"round":0}'))
    # Execute
    result = runner.invoke(app, ["ledger", "verify", "--db", database_url])
    # Assert
    assert result.exit_code != 0
    assert "entry 4: signature" in result.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_export_verifies_standalone_in_a_fresh_process(
    factory: sessionmaker[Session], coordinator: Signer, database_url: str, tmp_path: Path
) -> None:
    # Prepare
    _fill(factory, coordinator)
    out = tmp_path / "ledger.jsonl"
    exported = runner.invoke(app, ["ledger", "export", "--out", str(out), "--db", database_url])
    assert exported.exit_code == 0, exported.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ledger.jsonl").write_bytes(out.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSORTIUM_")}
    command = [sys.executable, "-c", "from consortium.cli.main import app; app()",
               "ledger", "verify", "--export", "ledger.jsonl"]  # fmt: skip
    # Execute: a new interpreter, another directory, no database, only the file
    done = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    # Assert
    assert done.returncode == 0, done.stderr
    assert "ok: 7 entries" in done.stdout
    assert not (elsewhere / ".consortium").exists()
    # and a one-byte change to the file is caught
    data = (elsewhere / "ledger.jsonl").read_text().replace('{\\"round\\":3}', '{\\"round\\":8}')
    (elsewhere / "ledger.jsonl").write_text(data)
    bad = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert bad.returncode != 0
    assert "entry 4" in bad.stderr


def test_verify_rejects_both_sources_at_once(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ledger", "verify", "--db", "sqlite://", "--export", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
