"""The coordinator service's SQLite commits reach the disk before they return (signed receipts)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from consortium.db import make_engine
from consortium.service.setup import init_coordinator
from consortium.service.state import ServiceSettings, load_state

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def test_service_commits_are_fsynced_and_other_engines_keep_normal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'coordinator.db'}"
    init_coordinator(database_url=url, key_dir=tmp_path / "keys")
    # Execute
    state = load_state(ServiceSettings(database_url=url, key_dir=tmp_path / "keys"))
    with state.transaction() as session:
        service = session.execute(text("PRAGMA synchronous")).scalar_one()
        journal = session.execute(text("PRAGMA journal_mode")).scalar_one()
    with make_engine(url).connect() as connection:
        plain = connection.execute(text("PRAGMA synchronous")).scalar_one()
    # Assert
    assert (service, journal, plain) == (FULL, "wal", NORMAL)
